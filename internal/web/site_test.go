package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/funding"
	"kios/internal/incoming"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/payment"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/session"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
	"kios/internal/webhook"
)

// clock is a settable clock shared by the site's services.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// site is a whole kios HTTP handler on loopback, with a member "budi"
// (password rahasia123, balance Rp 200.000) and operators "ani" (admin)
// and "vina" (viewer), all with the password rahasia123.
type site struct {
	t       testing.TB
	db      *db.DB
	srv     *httptest.Server
	clock   *clock
	members *member.Store
	funds   *funding.Service
	hooks   *webhook.Service
	member  member.Member
	// The rest of the services, for fixtures.
	cat      *catalog.Store
	orders   *order.Service
	payments *payment.Service
	incoming *incoming.Service
	stores   *payment.Stores
	now      func() time.Time // the services' clock
}

const (
	testPassword = "rahasia123"
	startBalance = 200_000
)

type siteOptions struct {
	secure   bool
	realTime bool // the services read time.Now instead of the settable clock
}

func newSite(t testing.TB, d *db.DB, opt siteOptions) *site {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	now := c.Now
	if opt.realTime {
		now = time.Now
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &site{t: t, db: d, clock: c, members: member.NewStore(d, now), now: now}
	var err error
	s.member, err = s.members.Add(ctx, member.NewMember{Username: "budi", Level: "reseller", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error {
		if err := ledger.EnsureSystem(tx, now()); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		_, err = ledger.Transfer(tx, "adjustment", "TEST-FUNDING", adj.ID, s.member.AccountID, startBalance, now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	operators := operator.NewStore(d, now)
	for name, role := range map[string]operator.Role{"ani": operator.Admin, "vina": operator.Viewer} {
		if _, err := operators.Add(ctx, name, role, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	s.funds = funding.New(d, funding.Options{Now: now})
	if err := s.funds.Prepare(ctx, funding.DemoBanks()); err != nil {
		t.Fatal(err)
	}
	keys, err := webhook.NewKeyring(make([]byte, webhook.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	s.hooks = webhook.NewService(d, keys, now, logger, webhook.ClientOptions{AllowPrivate: true})
	cat := catalog.NewStore(d, now)
	// No order worker runs: orders stay processing, and are stuck after
	// an hour.
	orders := order.NewService(d, cat, supplier.Set{"sim": simulator.New(simulator.Config{})}, now, logger,
		order.Config{StuckAfter: time.Hour})
	s.cat, s.orders, s.stores = cat, orders, payment.NewStores(d, now)
	if s.payments, err = payment.New(d, s.stores, payment.Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	s.incoming = incoming.New(d, s.payments, s.funds, now, logger)
	h := server.New(server.Deps{
		Logger: logger, DB: d, Members: s.members, Limiter: ratelimit.New(50, 100, now), Metrics: server.NewMetrics(),
		Now: now, BaseURL: "http://kios.test", Catalog: cat, Funding: s.funds, Orders: orders,
		Sessions: session.NewStore(d, time.Hour, now), Operators: operators, Webhooks: s.hooks,
		Stores: s.stores, Payments: s.payments, Incoming: s.incoming, SecureCookies: opt.secure,
	})
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
	return s
}

// verify checks the ledger's invariants.
func (s *site) verify() {
	s.t.Helper()
	rep, err := ledger.Verify(context.Background(), s.db)
	if err != nil || !rep.OK() {
		s.t.Fatalf("ledger: %v %v", rep, err)
	}
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so that tests see every status.
type browser struct {
	t      testing.TB
	base   string
	client *http.Client
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, base: s.srv.URL, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is what a request got.
type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, body: string(body), location: res.Header.Get("Location"), header: res.Header}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// post sends form as a form post, exactly as given (no CSRF token added).
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	r := b.get(path)
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s (%d)", path, r.status)
	}
	return m[1]
}

// submit posts form to action with the CSRF token of the page at from.
func (b *browser) submit(from, action string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf(from))
	return b.post(action, form)
}

// signIn signs in at area ("member" or "admin") and fails the test unless
// it worked.
func (b *browser) signIn(area, user string) {
	b.t.Helper()
	r := b.submit("/"+area+"/login", "/"+area+"/login", url.Values{"username": {user}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.location != "/"+area {
		b.t.Fatalf("sign-in of %s at %s: %d → %q", user, area, r.status, r.location)
	}
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base + "/member/")
	for _, path := range []string{"/member/", "/admin/", "/"} {
		u.Path = path
		for _, c := range b.client.Jar.Cookies(u) {
			if c.Name == name {
				return c
			}
		}
	}
	return nil
}
