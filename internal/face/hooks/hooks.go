// Package hooks is the face that takes our suppliers' webhooks at
// POST /hooks/supplier/{name} (shared/spec/50-webhooks.md, "In"): a
// supplier that speaks the prepaid wire format reports transaction_status
// and price_update there. It checks who is calling, translates the message
// into domain calls and answers in the references' shape.
package hooks

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"kios/internal/catalog"
	"kios/internal/fault"
	"kios/internal/httpx"
	"kios/internal/supplier"
	"kios/internal/supplier/prepaid"
	"kios/internal/webhook"
)

// maxBody bounds a webhook's body: a price_update carries up to 500 rows.
const maxBody = 1 << 20

// settleWait bounds how long a transaction_status waits for a worker that
// is asking the supplier about the same order.
const settleWait = 5 * time.Second

// Configs finds a configured supplier by name.
type Configs interface {
	Get(ctx context.Context, name string) (prepaid.Config, error)
}

// References turns a supplier's reference into ours.
type References interface {
	Ours(ctx context.Context, supplier, theirs string) (string, bool, error)
}

// Orders takes a supplier's report about one of our orders.
type Orders interface {
	Supplied(ctx context.Context, supplierName, reference string, res supplier.Result) error
}

// Costs takes a supplier's new costs for its SKUs, by the supplier's SKU
// code: our costs change, the prices that follow them move, and our members
// are told (catalog.Store.ApplyCosts).
type Costs interface {
	ApplyCosts(ctx context.Context, supplier string, costs map[string]int64) (catalog.CostResult, error)
}

// Deps are what the handler needs.
type Deps struct {
	Configs    Configs
	References References
	Orders     Orders
	Costs      Costs
	// Trusted lists reverse proxies whose X-Forwarded-For is believed.
	Trusted []netip.Prefix
	Now     func() time.Time
	Logger  *slog.Logger
}

// answer is the body of every answer: the references' status and message.
type answer struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

func write(w http.ResponseWriter, status int, message string) {
	httpx.WriteJSON(w, status, answer{Status: status, Message: message})
}

// The fixed answers.
const (
	msgInvalidSignature = "Invalid signature"
	msgTransaction      = "Webhook berhasil diproses"
	msgPrices           = "Harga berhasil diperbarui"
	msgNotFound         = "Transaksi tidak ditemukan: "
	msgMalformed        = "Body permintaan bukan JSON yang valid"
	msgFailure          = "Terjadi kesalahan pada server, silakan coba lagi"
)

// message is a supplier's webhook, both kinds in one shape.
type message struct {
	Type             string     `json:"webhook_type"`
	Reference        string     `json:"reference"`
	PartnerReference string     `json:"partner_reference"`
	Status           string     `json:"status"`
	SN               string     `json:"sn"`
	Note             string     `json:"note"`
	Data             []priceRow `json:"data"`
}

type priceRow struct {
	ProductCode string `json:"product_code"`
	PriceOld    int64  `json:"price_old"`
	PriceNew    int64  `json:"price_new"`
}

// Supplier answers POST /hooks/supplier/{name}. A message is accepted only
// from the supplier's configured source addresses (when it has some) and
// with its configured signature (when it has a signing secret); a supplier
// with neither configured is never believed. Anything else, and an unknown
// supplier name, is refused with 400 "Invalid signature" before the body is
// looked at, and nothing changes.
func Supplier(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		name := r.PathValue("name")
		cfg, err := d.Configs.Get(ctx, name)
		if fault.CodeOf(err) == fault.NotFound {
			write(w, http.StatusBadRequest, msgInvalidSignature)
			return
		}
		if err != nil {
			d.Logger.ErrorContext(ctx, "supplier webhook: reading the supplier", "supplier", name, "err", err)
			write(w, http.StatusInternalServerError, msgFailure)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			write(w, http.StatusBadRequest, msgMalformed)
			return
		}
		if !trusted(cfg, httpx.ClientIP(r, d.Trusted), r.Header, body, d.Now()) {
			d.Logger.WarnContext(ctx, "supplier webhook refused", "supplier", name, "ip", httpx.ClientIP(r, d.Trusted).String())
			write(w, http.StatusBadRequest, msgInvalidSignature)
			return
		}
		var m message
		if err := json.Unmarshal(body, &m); err != nil {
			write(w, http.StatusBadRequest, msgMalformed)
			return
		}
		switch m.Type {
		case webhook.KindTransactionStatus:
			transactionStatus(w, r, d, cfg.Name, m)
		case webhook.KindPriceUpdate:
			priceUpdate(w, r, d, cfg.Name, m)
		case webhook.KindTest:
			write(w, http.StatusOK, msgTransaction)
		default:
			write(w, http.StatusBadRequest, "Kolom webhook_type tidak valid")
		}
	})
}

// trusted reports whether a message comes from the supplier: from one of
// its addresses when it has a list, signed with its secret when it has one,
// and at least one of the two configured.
func trusted(cfg prepaid.Config, ip netip.Addr, h http.Header, body []byte, now time.Time) bool {
	if len(cfg.WebhookIPs) == 0 && cfg.SignatureSecret == "" {
		return false
	}
	if !cfg.AllowsWebhookFrom(ip) {
		return false
	}
	if cfg.SignatureSecret != "" {
		return webhook.Verify(cfg.SignatureSecret, webhook.HeadersFrom(h), body, now, 0) == nil
	}
	return true
}

// transactionStatus settles our order from the supplier's report. Our
// reference is the partner_reference a kios upstream sends back, or else
// the one recorded for the supplier's reference.
func transactionStatus(w http.ResponseWriter, r *http.Request, d Deps, name string, m message) {
	ctx := r.Context()
	shown := m.Reference
	if shown == "" {
		shown = m.PartnerReference
	}
	res, ok := prepaid.Outcome(m.Status, m.SN)
	if !ok {
		write(w, http.StatusBadRequest, "Kolom status tidak valid")
		return
	}
	res.Message = prepaid.Text(strings.TrimSpace(name + ": " + m.Note))
	ours := m.PartnerReference
	if !storable(ours) || !storable(m.Reference) {
		// No reference of ours or theirs holds a NUL: neither database
		// stores one in text.
		write(w, http.StatusBadRequest, msgNotFound+shown)
		return
	}
	if ours == "" && m.Reference != "" {
		var found bool
		var err error
		ours, found, err = d.References.Ours(ctx, name, m.Reference)
		if err != nil {
			d.Logger.ErrorContext(ctx, "supplier webhook: reading references", "supplier", name, "err", err)
			write(w, http.StatusInternalServerError, msgFailure)
			return
		}
		if !found {
			write(w, http.StatusBadRequest, msgNotFound+shown)
			return
		}
	}
	if ours == "" {
		write(w, http.StatusBadRequest, msgNotFound+shown)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, settleWait)
	defer cancel()
	err := d.Orders.Supplied(sctx, name, ours, res)
	switch {
	case fault.CodeOf(err) == fault.NotFound:
		write(w, http.StatusBadRequest, msgNotFound+shown)
	case err != nil:
		d.Logger.ErrorContext(ctx, "supplier webhook: settling", "supplier", name, "reference", ours, "err", err)
		write(w, http.StatusInternalServerError, msgFailure)
	default:
		write(w, http.StatusOK, msgTransaction)
	}
}

// storable reports whether s can be stored as text on both databases, so
// that looking it up can find something.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// priceUpdate takes the supplier's new prices as our new costs of its SKUs.
func priceUpdate(w http.ResponseWriter, r *http.Request, d Deps, name string, m message) {
	ctx := r.Context()
	if d.Costs == nil {
		d.Logger.ErrorContext(ctx, "supplier webhook: price_update with no cost-change call wired", "supplier", name)
		write(w, http.StatusInternalServerError, msgFailure)
		return
	}
	costs := make(map[string]int64, len(m.Data))
	for _, row := range m.Data {
		if row.ProductCode == "" {
			write(w, http.StatusBadRequest, "Kolom data tidak valid")
			return
		}
		costs[row.ProductCode] = row.PriceNew
	}
	res, err := d.Costs.ApplyCosts(ctx, name, costs)
	if err != nil {
		if fault.CodeOf(err) == fault.Internal {
			d.Logger.ErrorContext(ctx, "supplier webhook: new costs", "supplier", name, "err", err)
			write(w, http.StatusInternalServerError, msgFailure)
			return
		}
		write(w, http.StatusBadRequest, "Kolom data tidak valid")
		return
	}
	if len(res.Unknown) > 0 || len(res.Rejected) > 0 || len(res.Deactivated) > 0 {
		d.Logger.InfoContext(ctx, "supplier price_update", "supplier", name, "updated", res.Updated,
			"unknown", res.Unknown, "rejected", res.Rejected, "deactivated", res.Deactivated)
	}
	write(w, http.StatusOK, msgPrices)
}
