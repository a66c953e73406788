package web

import (
	"net/http"
	"strconv"

	"kios/internal/face/admin"
	"kios/internal/fault"
	"kios/internal/incoming"
	"kios/internal/payment"
)

// incomingView is /admin/incoming: records of money received, the
// unmatched ones by default, each unmatched one with an assignment form.
type incomingView struct {
	page
	Status    string
	Statuses  []option
	Rows      []incomingRow
	Pager     pager
	SumPage   int64
	SumAll    int64
	CanAssign bool
	Form      map[string]string // the failed assignment, by its "id"
}

type incomingRow struct {
	ID                                                                  int64
	Channel, ExternalID, Received, Note, Status, StatusLabel, Reference string
	Reason, PostedBy                                                    string
	Amount                                                              int64
	Assignable                                                          bool
}

var incomingTemplate = parse("admin_incoming.html", "pager.html")

// Incoming serves GET /admin/incoming?status=unmatched|matched|matching|all&page=.
func (c *Console) Incoming() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.incoming(w, r, consolePage(r, "incoming", "incoming.title"), http.StatusOK, nil)
	})
}

func (c *Console) incoming(w http.ResponseWriter, r *http.Request, p page, status int, form map[string]string) {
	v := incomingView{page: p, CanAssign: can(r, admin.FamilyIncoming), Form: form}
	if r.Method == http.MethodGet {
		v.Status = r.URL.Query().Get("status")
	}
	for _, s := range []string{incoming.Unmatched, incoming.Matching, incoming.Matched, "all"} {
		v.Statuses = append(v.Statuses, option{s, p.T("status." + s)})
	}
	filter := v.Status
	switch filter {
	case "":
		filter, v.Status = incoming.Unmatched, incoming.Unmatched
	case "all":
		filter = ""
	case incoming.Unmatched, incoming.Matching, incoming.Matched:
	default:
		filter, v.Status = incoming.Unmatched, incoming.Unmatched
		v.Problem, status = p.T("field.status")+" "+p.T("err.invalid"), http.StatusBadRequest
	}
	if r.Method == http.MethodPost {
		v.CleanURL = "/admin/incoming"
	}
	v.Path = "/admin/incoming"
	n := pageNumber(r)
	recs, total, sum, err := c.d.Incoming.List(r.Context(), filter, perPage, (n-1)*perPage)
	if err != nil {
		c.serverError(w, r, p, err)
		return
	}
	for _, l := range recs {
		v.SumPage += l.Amount
		v.Rows = append(v.Rows, incomingRow{ID: l.ID, Channel: l.Channel, ExternalID: l.ExternalID, Received: wib(l.ReceivedAt),
			Note: l.Note, Status: l.Status, StatusLabel: p.T("status." + l.Status), Reference: l.Reference, Reason: l.Reason,
			PostedBy: l.PostedBy, Amount: l.Amount, Assignable: l.Status == incoming.Unmatched})
	}
	v.SumAll, v.Pager = sum, newPager(r, n, total)
	render(w, r, c.d.Logger, incomingTemplate, status, v)
}

// Assign serves POST /admin/incoming/{id}/assign (reference, comment): an
// unmatched record pays the invoice the operator names, through the
// operator API's audited call.
func (c *Console) Assign() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "incoming", "incoming.title")
		form := formValues(r, "reference", "comment")
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			err = fault.Field(fault.NotFound, "id", "no incoming record %q", r.PathValue("id"))
		} else {
			_, err = admin.AssignIncoming(r.Context(), c.d.Incoming, c.d.Now, operatorOf(r), id, form["reference"], form["comment"])
		}
		if err != nil {
			st, msg := p.problem(err)
			if st == http.StatusInternalServerError {
				c.serverError(w, r, p, err)
				return
			}
			p.Problem = "#" + r.PathValue("id") + ": " + msg
			form["id"] = r.PathValue("id")
			c.incoming(w, r, p, st, form)
			return
		}
		http.Redirect(w, r, "/admin/incoming?done=assigned", http.StatusSeeOther)
	})
}

// paymentsView is /admin/payments: payment invoices by store, member,
// status and day, with the totals of the page and of all.
type paymentsView struct {
	page
	Store, Member, Status, From, To string
	Statuses                        []option
	Rows                            []paymentRow
	Pager                           pager
	SumPage, SumAll                 int64
}

type paymentRow struct {
	Invoice, Store, Member, MerchantRef, Status, StatusLabel, Created, Paid string
	StoreID, Total, Fee                                                     int64
	Late                                                                    bool
}

var paymentsTemplate = parse("admin_payments.html", "pager.html")

// Payments serves GET /admin/payments?store=&member=&status=&from=&to=&page=,
// read with the operator API's filter.
func (c *Console) Payments() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "payments", "payments.title")
		q := r.URL.Query()
		v := paymentsView{page: p, Store: q.Get("store"), Member: q.Get("member"), Status: q.Get("status"),
			From: q.Get("from"), To: q.Get("to")}
		for _, s := range []string{"all", payment.Paid, payment.Unpaid, payment.Expired} {
			v.Statuses = append(v.Statuses, option{s, p.T("status." + s)})
		}
		status := http.StatusOK
		f, err := admin.PaymentFilter(q)
		if err != nil {
			status, v.Problem = p.problem(err)
			f = payment.Filter{}
		}
		n := pageNumber(r)
		invs, total, sum, err := c.d.Payments.List(r.Context(), f, perPage, (n-1)*perPage)
		if err != nil {
			c.serverError(w, r, p, err)
			return
		}
		now := c.d.Payments.Now()
		for _, l := range invs {
			st := l.StatusAt(now)
			v.SumPage += l.Total
			v.Rows = append(v.Rows, paymentRow{Invoice: l.Invoice.Invoice, Store: l.StoreName, StoreID: l.StoreID, Member: l.Member,
				MerchantRef: l.MerchantRef, Status: st, StatusLabel: p.T("status." + st), Created: wib(l.CreatedAt),
				Paid: wib(l.PaidAt), Total: l.Total, Fee: l.Fee, Late: l.Late})
		}
		v.SumAll, v.Pager = sum, newPager(r, n, total)
		render(w, r, c.d.Logger, paymentsTemplate, status, v)
	})
}
