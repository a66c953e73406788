package web

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/incoming"
	"kios/internal/payment"
	"kios/internal/rupiah"
)

// QRSize is the width and height, in pixels, of /qr/{invoice}.png.
const QRSize = 320

// QRPNG renders content as a QR code PNG of QRSize pixels, error
// correction level M (what wallets scan well on a phone screen).
func QRPNG(content string) ([]byte, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	code, err = barcode.Scale(code, QRSize, QRSize)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, code); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// QR serves /qr/{invoice}.png: the invoice's qr_content as a PNG, made by
// kios itself. An invoice's payload never changes, so the image may be
// cached.
func QR(invoices *payment.Service, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(r.PathValue("file"), ".png")
		if !ok {
			http.NotFound(w, r)
			return
		}
		inv, err := invoices.Get(r.Context(), name)
		if fault.CodeOf(err) == fault.NotFound {
			http.NotFound(w, r)
			return
		}
		var img []byte
		if err == nil {
			img, err = QRPNG(inv.QRContent)
		}
		if err != nil {
			logger.ErrorContext(r.Context(), "web: qr", "err", err)
			http.Error(w, "Terjadi kesalahan pada server", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(img)
	})
}

// payPageView is the payment page's content.
type payPageView struct {
	page
	Invoice     string
	Store       string
	Status      string
	StatusLabel string
	Amount      string
	Main        string // the total without its last three digits
	Unique      string // the last three digits
	Description string
	Customer    string
	PaidAt      string
	Late        bool
	ExpiresAt   string
	ExpiresUnix int64
	Remaining   string
	Sandbox     bool
}

var payPage = parse("pay.html")

// Pay serves /pay.php?invoice=…: the payment page of a QRIS invoice. The
// invoice number is hard to guess, so the page needs no sign-in; it shows
// only what the payer needs.
func Pay(invoices *payment.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := now()
		p := newPage(w, r, t)
		inv, err := invoices.Get(r.Context(), r.URL.Query().Get("invoice"))
		if fault.CodeOf(err) == fault.NotFound {
			p.Title = p.T("notfound.title")
			render(w, r, logger, notFoundPage, http.StatusNotFound, p)
			return
		}
		if err != nil {
			logger.ErrorContext(r.Context(), "web: pay", "err", err)
			http.Error(w, "Terjadi kesalahan pada server", http.StatusInternalServerError)
			return
		}
		status := inv.StatusAt(t)
		s := rupiah.Format(inv.Total)
		p.Title, p.Path = p.T("pay.title")+" "+inv.Invoice, "/pay.php?invoice="+url.QueryEscape(inv.Invoice)
		v := payPageView{
			page:    p,
			Invoice: inv.Invoice, Store: inv.StoreName, Status: status, StatusLabel: p.T("status." + status),
			Amount: "Rp " + rupiah.Format(inv.Amount), Main: s, Description: inv.Description, Customer: inv.CustomerName,
			PaidAt: wib(inv.PaidAt), Late: inv.Late, ExpiresAt: wib(inv.ExpiredAt), ExpiresUnix: inv.ExpiredAt.Unix(),
			Sandbox: inv.Sandbox && status == payment.Unpaid,
		}
		if len(s) > 3 {
			v.Main, v.Unique = s[:len(s)-3], s[len(s)-3:]
		}
		left := max(inv.ExpiredAt.Sub(t), 0).Round(time.Second)
		v.Remaining = fmt.Sprintf("%02d:%02d:%02d", int(left.Hours()), int(left.Minutes())%60, int(left.Seconds())%60)
		render(w, r, logger, payPage, http.StatusOK, v)
	})
}

// poster records incoming funds; *incoming.Service is one.
type poster interface {
	Post(ctx context.Context, r incoming.Record, by string, hook func(tx *db.Tx, res incoming.Result) error) (incoming.Result, error)
}

// Simulate serves POST /pay.php/simulate (form field invoice): on a
// sandbox store's unpaid invoice it posts a matching incoming-funds record,
// as the acquirer's feed would, then sends the payer back to the page.
// Elsewhere it changes nothing and answers 404.
func Simulate(invoices *payment.Service, funds poster, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		ref := r.PostFormValue("invoice")
		inv, err := invoices.Get(r.Context(), ref)
		if err == nil && (!inv.Sandbox || inv.StatusAt(now()) != payment.Unpaid) {
			err = fault.New(fault.NotFound, "not a sandbox invoice waiting for payment")
		}
		if err == nil {
			_, err = funds.Post(r.Context(), incoming.Record{Channel: fmt.Sprintf("qris:%d", inv.StoreID), Amount: inv.Total,
				ReceivedAt: now(), ExternalID: "sandbox-" + inv.Invoice, Note: "simulated on the payment page"}, "sandbox", nil)
		}
		if fault.CodeOf(err) == fault.NotFound {
			render(w, r, logger, notFoundPage, http.StatusNotFound, page{Title: "Tidak ditemukan", Now: wib(now())})
			return
		}
		if err != nil {
			logger.ErrorContext(r.Context(), "web: simulate payment", "err", err)
			http.Error(w, "Terjadi kesalahan pada server", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/pay.php?invoice="+inv.Invoice, http.StatusSeeOther)
	})
}
