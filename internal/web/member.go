package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/history"
	"kios/internal/member"
	"kios/internal/payment"
	"kios/internal/reference"
	"kios/internal/rupiah"
	"kios/internal/webhook"
)

// DashboardDeps are the domain services the member dashboard calls.
type DashboardDeps struct {
	Members *member.Store
	Funds   *funding.Service
	History *history.Reader
	Hooks   *webhook.Service
	Stores  *payment.Stores
	Now     func() time.Time
	Logger  *slog.Logger
}

// Dashboard serves the member dashboard's pages and forms. Wrap every
// handler in Auth.Member: they read the member from the request.
type Dashboard struct{ d DashboardDeps }

// NewDashboard returns a Dashboard.
func NewDashboard(d DashboardDeps) *Dashboard {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Dashboard{d: d}
}

// notices are the lines a page shows after a redirect (?done=…), by key.
var notices = map[string]string{
	"saved":   "saved",
	"webhook": "webhook.saved",
	"test":    "webhook.test.sent",
	"store":   "stores.created",
}

// memberPage returns the signed-in frame of r for tab, with the notice a
// redirect asked for.
func memberPage(r *http.Request, tab, title string) (page, member.Member) {
	s := signedInFrom(r.Context())
	p := s.page
	p.Tab, p.Title = tab, p.T(title)
	if k, ok := notices[r.URL.Query().Get("done")]; ok {
		p.Notice = p.T(k)
	}
	return p, s.member
}

// fail shows err on the page rendered by show: a domain fault as the
// form's problem with its status, anything else logged and as a generic
// 500.
func (h *Dashboard) fail(w http.ResponseWriter, r *http.Request, p page, err error, show func(p page, status int)) {
	status, msg := p.problem(err)
	if status == http.StatusInternalServerError {
		h.d.Logger.ErrorContext(r.Context(), "web: member action", "path", r.URL.Path, "err", err)
	}
	p.Problem = msg
	show(p, status)
}

// option is one choice of a select.
type option struct{ Value, Label string }

// overviewView is /member: balance, funding forms and transactions.
type overviewView struct {
	page
	Balance  int64
	Channels []option
	Banks    []option
	Min, Max int64
	Types    []option
	Statuses []option
	Filter   filterView
	Entries  []entryView
	Form     map[string]string // the values of the form that failed, to show again
}

type filterView struct{ Type, Status, From, Until string }

type entryView struct {
	Reference, Type, Product, Status, StatusLabel, Created string
	Price                                                  int64
}

var overviewTemplate = parse("member.html")

// Overview serves GET /member.
func (h *Dashboard) Overview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := memberPage(r, "overview", "member.title")
		h.overview(w, r, p, http.StatusOK, nil)
	})
}

// dateLayout is the form of the filter's dates (an HTML date input's).
const dateLayout = "2006-01-02"

// parseFilter reads the transaction filter from the query; dates are days
// in WIB, the end day included.
func parseFilter(r *http.Request) (history.Filter, filterView, error) {
	q := r.URL.Query()
	v := filterView{Type: q.Get("type"), Status: q.Get("status"), From: q.Get("from"), Until: q.Get("until")}
	f := history.Filter{Type: v.Type, Status: v.Status}
	if v.From != "" {
		t, err := time.ParseInLocation(dateLayout, v.From, reference.WIB)
		if err != nil {
			return f, v, fault.Field(fault.Invalid, "from", "is not a date such as 2026-11-21")
		}
		f.From = t
	}
	if v.Until != "" {
		t, err := time.ParseInLocation(dateLayout, v.Until, reference.WIB)
		if err != nil {
			return f, v, fault.Field(fault.Invalid, "until", "is not a date such as 2026-11-21")
		}
		f.Until = t.AddDate(0, 0, 1)
	}
	return f, v, f.Validate()
}

// overview renders /member with status; form refills a failed form.
func (h *Dashboard) overview(w http.ResponseWriter, r *http.Request, p page, status int, form map[string]string) {
	ctx := r.Context()
	m := signedInFrom(ctx).member
	p.Path = "/member"
	v := overviewView{page: p, Form: form}
	v.Min, v.Max = h.d.Funds.Limits()
	var err error
	if v.Balance, err = h.d.Members.Balance(ctx, m.ID); err != nil {
		h.serverError(w, r, p, err)
		return
	}
	if v.Channels, v.Banks, err = h.channels(ctx); err != nil {
		h.serverError(w, r, p, err)
		return
	}
	for _, t := range history.Types {
		v.Types = append(v.Types, option{t, p.T("type." + t)})
	}
	for _, s := range history.Statuses {
		v.Statuses = append(v.Statuses, option{s, p.T("status." + s)})
	}
	f, fv, err := parseFilter(r)
	v.Filter = fv
	if err == nil {
		var entries []history.Entry
		entries, err = h.d.History.List(ctx, m.ID, f)
		for _, e := range entries {
			v.Entries = append(v.Entries, entryView{Reference: e.Reference, Type: p.T("type." + e.Type), Product: e.Product,
				Status: e.Status, StatusLabel: p.T("status." + e.Status), Created: wib(e.CreatedAt), Price: e.Price})
		}
	}
	if err != nil {
		st, msg := p.problem(err)
		if st == http.StatusInternalServerError {
			h.serverError(w, r, p, err)
			return
		}
		v.Problem, status = msg, st
	}
	render(w, r, h.d.Logger, overviewTemplate, status, v)
}

// channels returns the deposit channels (the active destination accounts
// and QRIS) and the banks members may withdraw to.
func (h *Dashboard) channels(ctx context.Context) (deposit, withdraw []option, err error) {
	banks, err := h.d.Funds.Banks(ctx)
	if err != nil {
		return nil, nil, err
	}
	codes := []string{"bca", "bni", "bri", "mandiri"}
	for _, b := range banks {
		if b.Active {
			deposit = append(deposit, option{b.Code, b.Name})
		}
		if !slices.Contains(codes, b.Code) {
			codes = append(codes, b.Code)
		}
	}
	deposit = append(deposit, option{funding.QRIS, funding.BankName(funding.QRIS)})
	for _, c := range codes {
		withdraw = append(withdraw, option{c, funding.BankName(c)})
	}
	return deposit, withdraw, nil
}

func (h *Dashboard) serverError(w http.ResponseWriter, r *http.Request, p page, err error) {
	h.d.Logger.ErrorContext(r.Context(), "web: member page", "path", r.URL.Path, "err", err)
	showMessage(w, r, h.d.Logger, p, http.StatusInternalServerError, "error.title", "error.body")
}

// parseAmount reads a rupiah amount from a form: digits, with or without
// dots or spaces between thousands.
func parseAmount(s string) (int64, error) {
	s = strings.NewReplacer(".", "", " ", "", "\u00a0", "").Replace(strings.TrimSpace(s))
	if s == "" {
		return 0, fault.Field(fault.Missing, "amount", "is required")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fault.Field(fault.Invalid, "amount", "must be a positive whole number of rupiah")
	}
	return n, nil
}

// formValues returns the named fields of r's form.
func formValues(r *http.Request, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = r.PostFormValue(n)
	}
	return out
}

// Deposit serves POST /member/deposit: a deposit through the chosen
// channel, then its invoice page.
func (h *Dashboard) Deposit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m := memberPage(r, "overview", "member.title")
		form := formValues(r, "amount", "via")
		amount, err := parseAmount(form["amount"])
		var t funding.Transaction
		if err == nil {
			t, err = h.d.Funds.Deposit(r.Context(), m.ID, amount, form["via"])
		}
		if err != nil {
			h.fail(w, r, p, err, func(p page, status int) { h.overview(w, r, p, status, form) })
			return
		}
		http.Redirect(w, r, "/trx/"+t.Reference, http.StatusSeeOther)
	})
}

// Withdraw serves POST /member/withdraw: a withdrawal held from the
// balance, then its invoice page.
func (h *Dashboard) Withdraw() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, m := memberPage(r, "overview", "member.title")
		form := formValues(r, "amount", "bank", "account_number", "account_name")
		amount, err := parseAmount(form["amount"])
		var t funding.Transaction
		if err == nil {
			t, _, err = h.d.Funds.Withdraw(r.Context(), m.ID, funding.WithdrawalRequest{Amount: amount, Bank: form["bank"],
				AccountNumber: form["account_number"], AccountName: form["account_name"]})
		}
		if err != nil {
			h.fail(w, r, p, err, func(p page, status int) { h.overview(w, r, p, status, form) })
			return
		}
		http.Redirect(w, r, "/trx/"+t.Reference, http.StatusSeeOther)
	})
}

// fee describes a store's fee rule: "Rp 500 + 0,70%".
func fee(st payment.Store) string {
	return fmt.Sprintf("Rp %s + %d,%02d%%", rupiah.Format(st.FeeFlat), st.FeePercentBP/100, st.FeePercentBP%100)
}
