package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"kios/internal/audit"
	kcatalog "kios/internal/catalog"
	"kios/internal/face/admin"
	"kios/internal/funding"
	"kios/internal/incoming"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/payment"
	"kios/internal/webhook"
)

// ConsoleDeps are the domain services the operator console calls.
type ConsoleDeps struct {
	Members *member.Store
	Funds   *funding.Service
	Orders  *order.Service
	Hooks   *webhook.Service
	Audit   *audit.Log
	Now     func() time.Time
	Logger  *slog.Logger
	// Incoming and Payments serve the unmatched funds and the payments
	// report; Catalog and Importer the catalog pages (a nil Importer
	// refuses the supplier import).
	Incoming *incoming.Service
	Payments *payment.Service
	Catalog  *kcatalog.Store
	Importer admin.SupplierImporter
}

// Console serves the operator console's pages and forms. Every change goes
// through the audited functions of the operator API (internal/face/admin),
// so a decision taken here leaves the same audit row as one taken through
// the API; which pages and buttons an operator gets follows the API's role
// table (admin.Access). Wrap every handler in Auth.Operator and then in
// Read or Write.
type Console struct{ d ConsoleDeps }

// NewConsole returns a Console.
func NewConsole(d ConsoleDeps) *Console {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Console{d: d}
}

// perPage is how many rows a console list shows.
const perPage = 50

// Read lets through operators whose role may read family f; others get a
// 403 page.
func (c *Console) Read(f admin.Family, next http.Handler) http.Handler {
	return c.check(f, false, next)
}

// Write lets through operators whose role may change family f; others get
// a 403 page and nothing is done.
func (c *Console) Write(f admin.Family, next http.Handler) http.Handler {
	return c.check(f, true, next)
}

func (c *Console) check(f admin.Family, write bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := signedInFrom(r.Context())
		if !admin.Allowed(s.operator.Role, f, write) {
			p := consolePage(r, "", "role.title")
			showMessage(w, r, c.d.Logger, p, http.StatusForbidden, "role.title", "role.body")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// navItem is one tab of the console's navigation.
type navItem struct {
	Tab, Href, Key string
	Family         admin.Family
}

// consoleNav is the console's tabs, each shown to the roles that may read
// its family.
var consoleNav = []navItem{
	{"home", "/admin", "nav.dashboard", admin.FamilyStats},
	{"review", "/admin/review", "nav.review", admin.FamilyTransactions},
	{"members", "/admin/members", "nav.members", admin.FamilyMembers},
	{"orders", "/admin/orders", "nav.orders", admin.FamilyOrders},
	{"webhooks", "/admin/webhooks", "nav.webhooks", admin.FamilyWebhooks},
	{"audit", "/admin/audit", "nav.audit", admin.FamilyAudit},
	{"incoming", "/admin/incoming", "nav.incoming", admin.FamilyIncoming},
	{"payments", "/admin/payments", "nav.payments", admin.FamilyIncoming},
	{"catalog", "/admin/catalog", "nav.catalog", admin.FamilyCatalog},
}

// consoleNotices are the lines a console page shows after a redirect
// (?done=…), by key.
var consoleNotices = map[string]string{
	"adjusted":    "console.adjusted",
	"resolved":    "console.resolved",
	"redelivered": "console.redelivered",
	"assigned":    "console.assigned",
	"saved":       "console.saved",
	"prices":      "console.prices",
	"imported":    "console.imported",
}

// consolePage returns the signed-in frame of r for tab, with the tabs the
// operator's role may see and the notice a redirect asked for.
func consolePage(r *http.Request, tab, title string) page {
	s := signedInFrom(r.Context())
	p := s.page
	p.Tab, p.Title = tab, p.T(title)
	for _, n := range consoleNav {
		if admin.Allowed(s.operator.Role, n.Family, false) {
			p.Nav = append(p.Nav, n)
		}
	}
	if k, ok := consoleNotices[r.URL.Query().Get("done")]; ok {
		p.Notice = p.T(k)
	}
	return p
}

// operatorOf returns the operator signed in for r.
func operatorOf(r *http.Request) operator.Operator { return signedInFrom(r.Context()).operator }

// can reports whether the operator of r may change family f.
func can(r *http.Request, f admin.Family) bool {
	return admin.Allowed(operatorOf(r).Role, f, true)
}

// serverError logs err and shows the generic error page.
func (c *Console) serverError(w http.ResponseWriter, r *http.Request, p page, err error) {
	c.d.Logger.ErrorContext(r.Context(), "web: console", "path", r.URL.Path, "err", err)
	showMessage(w, r, c.d.Logger, p, http.StatusInternalServerError, "error.title", "error.body")
}

// pager is a list's page links.
type pager struct {
	Page, Pages int64
	Total       int64
	Prev, Next  string
}

// pageNumber reads ?page= (from 1); anything else is page 1.
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > 1_000_000 {
		return 1
	}
	return n
}

// newPager returns the links of page n of total rows for the list at r's
// path with r's query.
func newPager(r *http.Request, n int, total int64) pager {
	p := pager{Page: int64(n), Total: total, Pages: (total + perPage - 1) / perPage}
	link := func(to int64) string {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			if k != "page" && k != "done" && k != "lang" {
				q[k] = v
			}
		}
		q.Set("page", strconv.FormatInt(to, 10))
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	return p
}
