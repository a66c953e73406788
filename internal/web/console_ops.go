package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"kios/internal/audit"
	"kios/internal/db"
	"kios/internal/face/admin"
	"kios/internal/fault"
	"kios/internal/order"
	"kios/internal/webhook"
)

// ordersView is /admin/orders: orders still processing past the stuck
// bound, the longest waiting first, each with a resolve form.
type ordersView struct {
	page
	Rows       []orderRow
	Pager      pager
	SumAll     int64
	CanResolve bool
	Form       map[string]string // the failed form, by its reference
}

type orderRow struct {
	Reference, Member, Product, Customer, Supplier, Created, Status, StatusLabel string
	Price                                                                        int64
}

var ordersTemplate = parse("admin_orders.html", "pager.html")

// Orders serves GET /admin/orders?page=.
func (c *Console) Orders() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.orders(w, r, consolePage(r, "orders", "orders.title"), http.StatusOK, nil)
	})
}

func (c *Console) orders(w http.ResponseWriter, r *http.Request, p page, status int, form map[string]string) {
	n := pageNumber(r)
	items, total, sum, err := c.d.Orders.List(r.Context(), order.Filter{Stuck: true}, perPage, (n-1)*perPage)
	if err != nil {
		c.serverError(w, r, p, err)
		return
	}
	if r.Method == http.MethodPost {
		p.CleanURL = "/admin/orders"
	}
	p.Path = "/admin/orders"
	v := ordersView{page: p, SumAll: sum, Pager: newPager(r, n, total), CanResolve: can(r, admin.FamilyOrders), Form: form}
	for _, it := range items {
		v.Rows = append(v.Rows, orderRow{Reference: it.Reference, Member: it.Username, Product: it.ProductName,
			Customer: it.Customer, Supplier: it.Supplier, Created: wib(it.CreatedAt), Status: it.Status,
			StatusLabel: p.T("status." + it.Status), Price: it.Price})
	}
	render(w, r, c.d.Logger, ordersTemplate, status, v)
}

// Resolve serves POST /admin/orders/{reference}/resolve (status success
// with sn, or failed, which refunds; comment): the manual settlement of a
// stuck order through the operator API's audited call, exactly once.
func (c *Console) Resolve() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "orders", "orders.title")
		form := formValues(r, "status", "sn", "comment")
		ref := r.PathValue("reference")
		_, err := admin.ResolveStuck(r.Context(), c.d.Orders, c.d.Now, operatorOf(r), ref, form["status"], form["sn"], form["comment"])
		if err != nil {
			st, msg := p.problem(err)
			if st == http.StatusInternalServerError {
				c.serverError(w, r, p, err)
				return
			}
			if fault.CodeOf(err) == fault.Conflict {
				msg = p.T("orders.not_processing")
			}
			p.Problem = ref + ": " + msg
			form["reference"] = ref
			c.orders(w, r, p, st, form)
			return
		}
		http.Redirect(w, r, "/admin/orders?done=resolved", http.StatusSeeOther)
	})
}

// webhooksView is /admin/webhooks: outbox messages, the failed ones by
// default, each with its last attempt and a redeliver form.
type webhooksView struct {
	page
	Status       string
	Statuses     []option
	Rows         []webhookRow
	Pager        pager
	CanRedeliver bool
}

type webhookRow struct {
	ID                                         int64
	Member, Kind, Reference, Status, Created   string
	Attempts, HTTP                             int
	Error, Response, StatusLabel, Latency, Att string
	Redeliverable                              bool
}

var webhooksTemplate = parse("admin_webhooks.html", "pager.html")

// Webhooks serves GET /admin/webhooks?status=failed|pending|delivered|all.
func (c *Console) Webhooks() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.webhooks(w, r, consolePage(r, "webhooks", "webhooks.title"), http.StatusOK)
	})
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, p page, status int) {
	v := webhooksView{page: p, Status: r.URL.Query().Get("status"), CanRedeliver: can(r, admin.FamilyWebhooks)}
	for _, s := range []string{webhook.StatusFailed, webhook.StatusPending, webhook.StatusDelivered, "all"} {
		v.Statuses = append(v.Statuses, option{s, p.T("status." + s)})
	}
	filter := v.Status
	switch filter {
	case "":
		filter, v.Status = webhook.StatusFailed, webhook.StatusFailed
	case "all":
		filter = ""
	case webhook.StatusFailed, webhook.StatusPending, webhook.StatusDelivered:
	default:
		filter, v.Status = webhook.StatusFailed, webhook.StatusFailed
		v.Problem, status = p.T("field.status")+" "+p.T("err.invalid"), http.StatusBadRequest
	}
	if r.Method == http.MethodPost {
		v.CleanURL = "/admin/webhooks"
	}
	v.Path = "/admin/webhooks"
	n := pageNumber(r)
	items, total, err := c.d.Hooks.Deliveries(r.Context(), filter, perPage, (n-1)*perPage)
	if err != nil {
		c.serverError(w, r, p, err)
		return
	}
	for _, d := range items {
		row := webhookRow{ID: d.ID, Member: d.Username, Kind: d.Kind, Reference: d.Reference, Status: d.Status,
			StatusLabel: p.T("status." + d.Status), Created: wib(d.CreatedAt), Attempts: d.Attempts,
			Redeliverable: d.Status != webhook.StatusPending}
		if d.Last != nil {
			row.HTTP, row.Error, row.Response = d.Last.HTTPStatus, d.Last.Error, d.Last.Response
			row.Latency, row.Att = strconv.FormatInt(d.Last.Latency.Milliseconds(), 10)+" ms", wib(d.Last.At)
		}
		v.Rows = append(v.Rows, row)
	}
	v.Pager = newPager(r, n, total)
	render(w, r, c.d.Logger, webhooksTemplate, status, v)
}

// Redeliver serves POST /admin/webhooks/{id}/redeliver (comment): a
// delivered or failed message goes back in the outbox, due now, through
// the operator API's audited call.
func (c *Console) Redeliver() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "webhooks", "webhooks.title")
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			err = fault.New(fault.NotFound, "no webhook message %q", r.PathValue("id"))
		} else {
			err = admin.RedeliverMessage(r.Context(), c.d.Hooks, c.d.Now, operatorOf(r), id, r.PostFormValue("comment"))
		}
		switch {
		case errors.Is(err, db.ErrNotFound):
			err = fault.New(fault.NotFound, "no webhook message %d", id)
		case errors.Is(err, webhook.ErrNotRedeliverable):
			err = fault.New(fault.Conflict, "message %d is still pending", id)
		}
		if err != nil {
			st, msg := p.problem(err)
			if st == http.StatusInternalServerError {
				c.serverError(w, r, p, err)
				return
			}
			p.Problem = msg
			c.webhooks(w, r, p, st)
			return
		}
		http.Redirect(w, r, "/admin/webhooks?done=redelivered", http.StatusSeeOther)
	})
}

// auditView is /admin/audit: who changed what, newest first.
type auditView struct {
	page
	Operator, Action, Target string
	Rows                     []auditRow
	Pager                    pager
}

type auditRow struct {
	At, Operator, Action, TargetType, Target, Before, After, Comment string
}

var auditTemplate = parse("admin_audit.html", "pager.html")

// Audit serves GET /admin/audit?operator=&action=&target=&page=. An
// action ending in '.' selects every action it starts ("transaction.").
func (c *Console) Audit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := consolePage(r, "audit", "audit.title")
		q := r.URL.Query()
		v := auditView{page: p, Operator: strings.TrimSpace(q.Get("operator")), Action: strings.TrimSpace(q.Get("action")),
			Target: strings.TrimSpace(q.Get("target"))}
		n := pageNumber(r)
		es, total, err := c.d.Audit.List(r.Context(), audit.Filter{Operator: v.Operator, Action: v.Action, Target: v.Target},
			perPage, (n-1)*perPage)
		if err != nil {
			c.serverError(w, r, p, err)
			return
		}
		for _, e := range es {
			v.Rows = append(v.Rows, auditRow{At: wib(e.At), Operator: e.Operator, Action: e.Action, TargetType: e.TargetType,
				Target: e.Target, Before: e.Before, After: e.After, Comment: e.Comment})
		}
		v.Pager = newPager(r, n, total)
		render(w, r, c.d.Logger, auditTemplate, http.StatusOK, v)
	})
}
