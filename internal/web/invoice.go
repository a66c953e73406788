package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/order"
	"kios/internal/rupiah"
)

// invoiceView is the invoice page's content, already worded and formatted.
type invoiceView struct {
	page
	Reference   string
	Status      string
	StatusLabel string
	StatusAt    string
	Product     string
	Provider    string
	Customer    string
	Price       string
	SN          string
	Note        string
	CreatedAt   string
	Pay         *payView // how to pay, for an unpaid deposit
}

// payView tells the payer where to send exactly how much.
type payView struct {
	Main          string // the amount without its last three digits, e.g. "500."
	Unique        string // the last three digits, the unique code, e.g. "655"
	Bank          string
	AccountNumber string
	AccountHolder string
	ExpiresAt     string
	ExpiresUnix   int64
	Remaining     string
}

var invoicePage = parse("invoice.html")

// Invoice serves /trx/{reference}: a transaction's public invoice page (an
// order, a deposit with where and how much to pay, or a withdrawal).
// References are hard to guess, so the page needs no sign-in; it masks the
// customer number and account numbers of withdrawals.
func Invoice(orders *order.Service, funds *funding.Service, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := r.PathValue("reference")
		p := newPage(w, r, now())
		var v invoiceView
		var err error
		if funds.Owns(ref) {
			var t funding.Transaction
			if t, err = funds.Find(r.Context(), ref); err == nil {
				v = fundingView(t, now())
			}
		} else {
			var o order.Order
			if o, err = orders.ByReference(r.Context(), ref); err == nil {
				v = orderView(o)
			}
		}
		if fault.CodeOf(err) == fault.NotFound {
			p.Title = p.T("notfound.title")
			render(w, r, logger, notFoundPage, http.StatusNotFound, p)
			return
		}
		if err != nil {
			logger.ErrorContext(r.Context(), "invoice", "err", err)
			showMessage(w, r, logger, p, http.StatusInternalServerError, "error.title", "error.body")
			return
		}
		v.StatusLabel = p.T("status." + v.Status)
		p.Title = p.T("invoice.title") + " " + v.Reference
		v.page = p
		render(w, r, logger, invoicePage, http.StatusOK, v)
	})
}

func orderView(o order.Order) invoiceView {
	return invoiceView{
		Reference: o.Reference, Status: o.Status, StatusAt: wib(o.StatusAt),
		Product: o.ProductName, Provider: o.ProviderName, Customer: mask(o.Customer),
		Price: "Rp " + rupiah.Format(o.Price), SN: o.SN, Note: o.Note, CreatedAt: wib(o.CreatedAt),
	}
}

func fundingView(t funding.Transaction, now time.Time) invoiceView {
	v := invoiceView{
		Reference: t.Reference, Status: t.Status, StatusAt: wib(t.StatusAt),
		Product: t.Product, Provider: t.Via, Price: "Rp " + rupiah.Format(t.Price), Note: t.Note(), CreatedAt: wib(t.CreatedAt),
	}
	if t.Type == funding.TypeWithdraw {
		v.Customer = mask(t.AccountNumber)
	}
	if t.Type == funding.TypeDeposit && t.Status == funding.Unpaid {
		v.Pay = newPayView(t.Price, t.Via, t.AccountNumber, t.AccountName, t.ExpiredAt, now)
	}
	return v
}

// newPayView splits total so the unique code (its last three digits)
// stands out, and counts down to expiry.
func newPayView(total int64, bank, number, holder string, expires, now time.Time) *payView {
	s := rupiah.Format(total)
	main, unique := s, ""
	if len(s) > 3 {
		main, unique = s[:len(s)-3], s[len(s)-3:]
	}
	left := max(expires.Sub(now), 0).Round(time.Second)
	return &payView{
		Main: main, Unique: unique, Bank: bank, AccountNumber: number, AccountHolder: holder,
		ExpiresAt: wib(expires), ExpiresUnix: expires.Unix(),
		Remaining: fmt.Sprintf("%02d:%02d:%02d", int(left.Hours()), int(left.Minutes())%60, int(left.Seconds())%60),
	}
}

// mask hides the middle of a customer number on the public page.
func mask(s string) string {
	if len(s) <= 6 {
		return s
	}
	return s[:3] + strings.Repeat("•", len(s)-6) + s[len(s)-3:]
}

var notFoundPage = parse("notfound.html")
