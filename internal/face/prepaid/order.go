package prepaid

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/order"
)

// timeFormat renders times as the reference providers do: RFC 3339 in UTC
// with microseconds and Z.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func wireTime(t time.Time) string { return t.UTC().Format(timeFormat) }

type orderData struct {
	Type             string `json:"type"`
	Reference        string `json:"reference"`
	PartnerReference string `json:"partner_reference,omitempty"`
	Provider         string `json:"provider"`
	Product          string `json:"product"`
	Price            int64  `json:"price"`
	Status           string `json:"status"`
	InvoiceURL       string `json:"invoice_url"`
	ExpiredAt        string `json:"expired_at"`
}

// decodeObject decodes a JSON object body, keeping numbers as json.Number
// so that "same body" comparisons and form values are exact.
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	return m, nil
}

// stringField reads an optional string property; a JSON number is accepted
// as its decimal text (PHP clients send numeric strings either way).
func stringField(m map[string]any, key string) (string, bool) {
	switch v := m[key].(type) {
	case nil:
		return "", true
	case string:
		return strings.TrimSpace(v), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// CreateOrder answers POST /api/prepaid/transaction/create.
func CreateOrder(orders *order.Service, baseURL string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		body, err := decodeObject(c.Body)
		if err != nil {
			writeError(w, errMalformedJSON)
			return
		}
		code, ok := stringField(body, "target_product_code")
		if !ok {
			writeError(w, fieldInvalid("target_product_code"))
			return
		}
		pref, ok := stringField(body, "partner_reference")
		if !ok {
			writeError(w, fieldInvalid("partner_reference"))
			return
		}
		o, replayed, err := orders.Create(r.Context(), c.Member, order.Request{
			ProductCode: code, PartnerReference: pref, Form: body, Body: body})
		if err != nil {
			writeOrderFault(w, r, logger, err)
			return
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeData(w, orderData{
			Type: "order", Reference: o.Reference, PartnerReference: o.PartnerReference,
			Provider: o.ProviderName, Product: o.ProductName, Price: o.Price, Status: o.Status,
			InvoiceURL: invoiceURL(baseURL, o.Reference), ExpiredAt: wireTime(o.ExpiredAt),
		})
	})
}

func invoiceURL(base, ref string) string { return strings.TrimRight(base, "/") + "/trx/" + ref }

// fieldInvalid is the answer for a property of the wrong type or value.
func fieldInvalid(field string) apiError {
	return apiError{http.StatusBadRequest, "invalid_field", "Kolom " + field + " tidak valid"}
}

// writeOrderFault maps the order service's errors to the face's answers.
func writeOrderFault(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	field := fault.FieldOf(err)
	switch fault.CodeOf(err) {
	case fault.NotFound:
		writeError(w, errProductNotFound)
	case fault.Inactive:
		if field == "provider" {
			writeError(w, apiError{http.StatusBadRequest, "provider_inactive", "Provider sedang tidak aktif"})
			return
		}
		writeError(w, apiError{http.StatusBadRequest, "product_inactive", "Produk sedang tidak aktif"})
	case fault.Missing:
		writeError(w, apiError{http.StatusBadRequest, "missing_field", "Kolom " + fieldLabel(err) + " wajib diisi"})
	case fault.Invalid:
		writeError(w, apiError{http.StatusBadRequest, "invalid_field", "Kolom " + fieldLabel(err) + " tidak valid"})
	case fault.Insufficient:
		writeError(w, apiError{http.StatusBadRequest, "insufficient_balance", "Saldo anda tidak mencukupi"})
	case fault.Conflict:
		writeError(w, apiError{http.StatusBadRequest, "duplicate_partner_reference", "partner_reference sudah digunakan untuk transaksi lain"})
	default:
		writeFault(w, r, logger, err)
	}
}

// fieldLabel names the field of a domain error for a person: the form's
// label when the domain gave one, else the property name.
func fieldLabel(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		if fe.Label != "" {
			return fe.Label
		}
		return fe.Field
	}
	return ""
}

type statusData struct {
	Reference        string `json:"reference"`
	PartnerReference string `json:"partner_reference,omitempty"`
	Provider         string `json:"provider"`
	Product          string `json:"product"`
	Status           string `json:"status"`
	StatusAt         string `json:"status_at"`
	SN               string `json:"sn"`
	Note             string `json:"note"`
	WebhookSent      bool   `json:"webhook_sent"`
	CreatedAt        string `json:"created_at"`
	InvoiceURL       string `json:"invoice_url"`
	ExpiredAt        any    `json:"expired_at"` // null for a withdrawal
}

var errNoTransaction = apiError{http.StatusBadRequest, "not_found", "Transaksi tidak ditemukan"}

// TransactionStatus answers GET /api/prepaid/transaction/{reference} and
// GET /api/prepaid/transaction?partner_reference=… for the caller's own
// orders, deposits and withdrawals; another member's reference is answered
// as an unknown one.
func TransactionStatus(orders *order.Service, funds *funding.Service, baseURL string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		ctx := r.Context()
		ref := r.PathValue("reference")
		pref := r.URL.Query().Get("partner_reference")
		if ref == "" && pref == "" {
			writeError(w, apiError{http.StatusBadRequest, "missing_field", "Kolom reference atau partner_reference wajib diisi"})
			return
		}
		var data statusData
		var err error
		switch {
		case ref != "" && funds.Owns(ref):
			data, err = fundingStatus(funds.Get(ctx, c.Member.ID, ref))
		case ref != "":
			data, err = orderStatus(orders.Get(ctx, c.Member.ID, ref))
		default:
			data, err = orderStatus(orders.GetByPartnerReference(ctx, c.Member.ID, pref))
			if fault.CodeOf(err) == fault.NotFound {
				data, err = fundingStatus(funds.ByPartnerReference(ctx, c.Member.ID, pref))
			}
		}
		if fault.CodeOf(err) == fault.NotFound {
			writeError(w, errNoTransaction)
			return
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		data.InvoiceURL = invoiceURL(baseURL, data.Reference)
		writeData(w, data)
	})
}

func orderStatus(o order.Order, err error) (statusData, error) {
	return statusData{
		Reference: o.Reference, PartnerReference: o.PartnerReference, Provider: o.ProviderName,
		Product: o.ProductName, Status: o.Status, StatusAt: wireTime(o.StatusAt), SN: o.SN, Note: o.Note,
		WebhookSent: o.WebhookSent, CreatedAt: wireTime(o.CreatedAt), ExpiredAt: wireTime(o.ExpiredAt),
	}, err
}

// fundingStatus shows a deposit or withdrawal in the status shape; a
// withdrawal has no expiry, so its expired_at is null.
func fundingStatus(t funding.Transaction, err error) (statusData, error) {
	var expired any
	if !t.ExpiredAt.IsZero() {
		expired = wireTime(t.ExpiredAt)
	}
	return statusData{
		Reference: t.Reference, PartnerReference: t.PartnerReference, Provider: t.Provider, Product: t.Product,
		Status: t.Status, StatusAt: wireTime(t.StatusAt), Note: t.Note(), WebhookSent: t.WebhookSent,
		CreatedAt: wireTime(t.CreatedAt), ExpiredAt: expired,
	}, err
}
