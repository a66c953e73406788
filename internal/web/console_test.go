package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kios/internal/audit"
	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/funding"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/webhook"
)

// addOperator adds an operator with role and the test password.
func (s *site) addOperator(name string, role operator.Role) {
	s.t.Helper()
	if _, err := operator.NewStore(s.db, s.clock.Now).Add(context.Background(), name, role, testPassword); err != nil {
		s.t.Fatal(err)
	}
}

// deposits makes n bank deposits of budi, waiting for a decision.
func (s *site) deposits(n int) []funding.Transaction {
	s.t.Helper()
	var out []funding.Transaction
	for i := range n {
		t, err := s.funds.Deposit(context.Background(), s.member.ID, int64(50_000+1_000*i), "bca")
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, t)
	}
	return out
}

// audits returns the audit entries of action.
func (s *site) audits(action string) []audit.Entry {
	s.t.Helper()
	es, _, err := audit.NewLog(s.db).List(context.Background(), audit.Filter{Action: action}, 100, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	return es
}

func (s *site) balance() int64 {
	s.t.Helper()
	b, err := s.members.Balance(context.Background(), s.member.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// TestConsoleRoles: each console page opens for the roles the operator
// API's table lets read its family and is 403 for the others; each form
// is 403 for roles that may not change its family, without its CSRF token
// for everyone, and changes nothing either way.
func TestConsoleRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		s.addOperator("fina", operator.Finance)
		s.addOperator("kato", operator.Catalog)
		deps := s.deposits(1)
		browsers := map[string]*browser{}
		for _, name := range []string{"ani", "fina", "kato", "vina"} {
			browsers[name] = s.browser()
			browsers[name].signIn("admin", name)
		}
		pages := []struct {
			path string
			open []string // the operators who may see it
		}{
			{"/admin", []string{"ani", "fina", "kato", "vina"}},
			{"/admin/review", []string{"ani", "fina", "vina"}},
			{"/admin/members", []string{"ani", "fina", "vina"}},
			{"/admin/members/budi", []string{"ani", "fina", "vina"}},
			{"/admin/orders", []string{"ani", "fina", "vina"}},
			{"/admin/webhooks", []string{"ani", "fina", "vina"}},
			{"/admin/audit", []string{"ani", "fina", "vina"}},
			{"/admin/incoming", []string{"ani", "fina", "vina"}},
			{"/admin/payments", []string{"ani", "fina", "vina"}},
			{"/admin/catalog", []string{"ani", "fina", "kato", "vina"}},
			{"/admin/catalog/providers", []string{"ani", "fina", "kato", "vina"}},
			{"/admin/catalog/prices", []string{"ani", "kato"}},
			{"/admin/catalog/import", []string{"ani", "kato"}},
		}
		for _, pg := range pages {
			for name, b := range browsers {
				want := http.StatusForbidden
				if strings.Contains(strings.Join(pg.open, ","), name) {
					want = http.StatusOK
				}
				r := b.get(pg.path)
				if r.status != want {
					t.Errorf("%s GET %s: %d, want %d", name, pg.path, r.status, want)
				}
				if want == http.StatusForbidden && !strings.Contains(r.body, "Tidak diizinkan") {
					t.Errorf("%s GET %s: the refusal does not say why", name, pg.path)
				}
			}
		}
		// The navigation shows only what the role may open.
		if r := browsers["kato"].get("/admin"); strings.Contains(r.body, `href="/admin/review"`) || !strings.Contains(r.body, `href="/admin"`) {
			t.Error("the catalog operator's navigation offers the review queue")
		}
		if r := browsers["kato"].get("/admin"); strings.Contains(r.body, `href="/admin/incoming"`) || strings.Contains(r.body, `href="/admin/payments"`) {
			t.Error("the catalog operator's navigation offers the money pages")
		}
		if r := browsers["fina"].get("/admin"); !strings.Contains(r.body, `href="/admin/incoming"`) || !strings.Contains(r.body, `href="/admin/payments"`) {
			t.Error("the finance operator's navigation lacks incoming funds or the payments report")
		}
		if r := browsers["vina"].get("/admin"); !strings.Contains(r.body, `href="/admin/audit"`) {
			t.Error("the viewer's navigation lacks the audit log")
		}

		ref := deps[0].Reference
		posts := []struct {
			path    string
			form    url.Values
			allowed []string
		}{
			{"/admin/review", url.Values{"do": {"accept:" + ref}, "comment": {"ok"}}, []string{"ani", "fina"}},
			{"/admin/members/budi/adjust", url.Values{"direction": {"credit"}, "amount": {"1000"}, "comment": {"ok"}}, []string{"ani", "fina"}},
			{"/admin/orders/ORD1/resolve", url.Values{"status": {"failed"}, "comment": {"ok"}}, []string{"ani", "fina"}},
			{"/admin/webhooks/1/redeliver", url.Values{"comment": {"ok"}}, []string{"ani"}},
			{"/admin/incoming/1/assign", url.Values{"reference": {"INV1"}, "comment": {"ok"}}, []string{"ani", "fina"}},
			{"/admin/catalog/providers", url.Values{"code": {"ML"}, "name": {"ML"}, "comment": {"ok"}}, []string{"ani", "kato"}},
			{"/admin/catalog/products/new", url.Values{"code": {"X1"}, "name": {"X"}, "provider": {"ML"}, "comment": {"ok"}}, []string{"ani", "kato"}},
			{"/admin/catalog/prices/preview", url.Values{"prices": {"X1 reseller 1"}}, []string{"ani", "kato"}},
			{"/admin/catalog/prices", url.Values{"prices": {"X1 reseller 1"}, "comment": {"ok"}}, []string{"ani", "kato"}},
			{"/admin/catalog/import", url.Values{"json": {"{}"}, "comment": {"ok"}}, []string{"ani", "kato"}},
			{"/admin/catalog/import/supplier", url.Values{"supplier": {"sim"}, "comment": {"ok"}}, []string{"ani", "kato"}},
		}
		for _, p := range posts {
			for name, b := range browsers {
				if strings.Contains(strings.Join(p.allowed, ","), name) {
					// Allowed, but without the CSRF token: refused all the same.
					if r := b.post(p.path, p.form); r.status != http.StatusForbidden || !strings.Contains(r.body, "Formulir tidak sah") {
						t.Errorf("%s POST %s without CSRF: %d", name, p.path, r.status)
					}
					continue
				}
				form := url.Values{}
				for k, v := range p.form {
					form[k] = v
				}
				r := b.submit("/admin", p.path, form)
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "Tidak diizinkan") {
					t.Errorf("%s POST %s with a valid token: %d, want 403", name, p.path, r.status)
				}
			}
		}
		if got, err := s.funds.Find(context.Background(), ref); err != nil || got.Status != funding.Unpaid {
			t.Errorf("the deposit after refused posts: %s %v", got.Status, err)
		}
		if s.balance() != startBalance || len(s.audits("")) != 0 {
			t.Errorf("refused posts changed something: balance %d, %d audit entries", s.balance(), len(s.audits("")))
		}
		s.verify()
	})
}

var acceptButtonRE = regexp.MustCompile(`name="do" value="accept:`)

// TestConsoleReview: the queue lists waiting deposits; one is accepted by
// its own button, two rejected as a selection, each exactly once and with
// the operator API's audit row; a selection over 25 is refused before
// anything is done; a decision without a comment does nothing.
func TestConsoleReview(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		deps := s.deposits(4)
		ani, vina := s.browser(), s.browser()
		ani.signIn("admin", "ani")
		vina.signIn("admin", "vina")

		r := ani.get("/admin/review")
		for _, dep := range deps {
			if !strings.Contains(r.body, `value="`+dep.Reference+`"`) {
				t.Errorf("the queue lacks %s", dep.Reference)
			}
		}
		if n := len(acceptButtonRE.FindAllString(r.body, -1)); n != 4 {
			t.Errorf("admin sees %d accept buttons, want 4", n)
		}
		if r := vina.get("/admin/review"); r.status != 200 || acceptButtonRE.MatchString(r.body) ||
			strings.Contains(r.body, `name="ref"`) || !strings.Contains(r.body, deps[0].Reference) {
			t.Errorf("the viewer's queue: %d, with decision controls or without the rows", r.status)
		}

		cases := []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"no comment", url.Values{"do": {"accept:" + deps[0].Reference}}, 400, "Komentar wajib diisi"},
			{"no selection", url.Values{"do": {"accept"}, "comment": {"ok"}}, 400, "Pilih setidaknya satu"},
			{"unknown action", url.Values{"do": {"approve:" + deps[0].Reference}, "comment": {"ok"}}, 400, "Pilih terima atau tolak"},
			{"unknown reference", url.Values{"do": {"accept:DEPNOPE"}, "comment": {"ok"}}, 404, "Tidak ditemukan"},
		}
		over := url.Values{"do": {"accept"}, "comment": {"semua"}}
		for _, dep := range deps {
			over.Add("ref", dep.Reference)
		}
		for i := range 22 {
			over.Add("ref", fmt.Sprintf("DEPFAKE%02d", i))
		}
		cases = append(cases, struct {
			name   string
			form   url.Values
			status int
			want   string
		}{"26 selected", over, 422, "26 transaksi dipilih; paling banyak 25"})
		for _, c := range cases {
			r := ani.submit("/admin/review", "/admin/review", c.form)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Errorf("%s: %d, want %d with %q", c.name, r.status, c.status, c.want)
			}
		}
		if s.balance() != startBalance || len(s.audits("")) != 0 {
			t.Fatalf("refused decisions changed something: balance %d", s.balance())
		}

		// One accepted by its own button.
		r = ani.submit("/admin/review", "/admin/review", url.Values{"do": {"accept:" + deps[0].Reference}, "comment": {"dana masuk BCA"}})
		if r.status != 200 || !strings.Contains(r.body, "1 transaksi diterima") {
			t.Fatalf("accept: %d", r.status)
		}
		if got := s.balance(); got != startBalance+deps[0].Price {
			t.Errorf("balance after accepting %d: %d", deps[0].Price, got)
		}
		es := s.audits("transaction.accept")
		if len(es) != 1 || es[0].Operator != "ani" || es[0].Target != deps[0].Reference || es[0].TargetType != "deposit" ||
			es[0].Comment != "dana masuk BCA" || !strings.Contains(es[0].Before, `"status":"unpaid"`) ||
			!strings.Contains(es[0].After, `"status":"success"`) {
			t.Errorf("audit of the acceptance: %+v", es)
		}
		// Again: it no longer waits, and nothing moves.
		r = ani.submit("/admin/review", "/admin/review", url.Values{"do": {"accept:" + deps[0].Reference}, "comment": {"lagi"}})
		if r.status != http.StatusConflict || !strings.Contains(r.body, "sudah tidak menunggu") || s.balance() != startBalance+deps[0].Price {
			t.Errorf("second accept: %d, balance %d", r.status, s.balance())
		}

		// Two rejected as a selection, one of them twice in the form.
		sel := url.Values{"do": {"reject"}, "comment": {"tidak ada dana"},
			"ref": {deps[1].Reference, deps[2].Reference, deps[1].Reference}}
		r = ani.submit("/admin/review", "/admin/review?type=deposit", sel)
		if r.status != 200 || !strings.Contains(r.body, "2 transaksi ditolak") {
			t.Fatalf("reject selection: %d", r.status)
		}
		for _, dep := range deps[1:3] {
			got, _ := s.funds.Find(context.Background(), dep.Reference)
			if got.Status != funding.Expired || got.Reason != "tidak ada dana" {
				t.Errorf("%s after rejection: %s %q", dep.Reference, got.Status, got.Reason)
			}
		}
		if n := len(s.audits("transaction.reject")); n != 2 {
			t.Errorf("%d rejection audit entries, want 2", n)
		}
		// A selection where one no longer waits: the rest is done.
		r = ani.submit("/admin/review", "/admin/review", url.Values{"do": {"accept"}, "comment": {"ok"},
			"ref": {deps[1].Reference, deps[3].Reference}})
		if r.status != 200 || !strings.Contains(r.body, "1 transaksi diterima") || !strings.Contains(r.body, deps[1].Reference+": sudah tidak menunggu") {
			t.Errorf("mixed selection: %d", r.status)
		}
		if got := s.balance(); got != startBalance+deps[0].Price+deps[3].Price {
			t.Errorf("balance at the end: %d", got)
		}
		// The queue (waiting by default) is empty now; "all" shows them.
		if r := ani.get("/admin/review"); !strings.Contains(r.body, "Tidak ada transaksi yang cocok") {
			t.Error("the queue still lists decided transactions")
		}
		if r := ani.get("/admin/review?status=all"); !strings.Contains(r.body, deps[2].Reference) {
			t.Error("status=all lacks a decided transaction")
		}
		if r := ani.get("/admin/review?status=bogus"); r.status != 400 {
			t.Errorf("bad status filter: %d", r.status)
		}
		// The audit log page shows the decision with the operator's name.
		if r := ani.get("/admin/audit?action=transaction."); r.status != 200 || !strings.Contains(r.body, "dana masuk BCA") ||
			!strings.Contains(r.body, `<td class="operator">ani</td>`) {
			t.Errorf("audit page: %d", r.status)
		}
		s.verify()
	})
}

// TestConsoleMembers: search, profile with history and downlines, and the
// adjustment form, audited like the API's.
func TestConsoleMembers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		ctx := context.Background()
		if _, err := s.members.Add(ctx, member.NewMember{Username: "citra", Level: "reseller", Upline: "budi", Password: testPassword}); err != nil {
			t.Fatal(err)
		}
		b := s.browser()
		b.signIn("admin", "ani")
		if r := b.get("/admin/members?q=BUD"); r.status != 200 || !strings.Contains(r.body, `href="/admin/members/budi"`) ||
			strings.Contains(r.body, `href="/admin/members/citra"`) || !strings.Contains(r.body, "Rp 200.000") {
			t.Errorf("search: %d", r.status)
		}
		r := b.get("/admin/members/budi")
		if r.status != 200 || !strings.Contains(r.body, `id="member-balance">Rp 200.000`) ||
			!strings.Contains(r.body, "TEST-FUNDING") || !strings.Contains(r.body, `href="/admin/members/citra"`) {
			t.Errorf("profile: %d", r.status)
		}
		if r := b.get("/admin/members/nobody"); r.status != 404 {
			t.Errorf("unknown member: %d", r.status)
		}

		cases := []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"no comment", url.Values{"direction": {"credit"}, "amount": {"1000"}}, 400, "Komentar wajib diisi"},
			{"bad amount", url.Values{"direction": {"credit"}, "amount": {"-5"}, "comment": {"x"}}, 400, "Nominal (Rp) tidak valid"},
			{"bad direction", url.Values{"direction": {"sideways"}, "amount": {"1000"}, "comment": {"x"}}, 400, "Arah tidak valid"},
			{"debit above the balance", url.Values{"direction": {"debit"}, "amount": {"200001"}, "comment": {"x"}}, 400, "Saldo tidak cukup"},
		}
		for _, c := range cases {
			r := b.submit("/admin/members/budi", "/admin/members/budi/adjust", c.form)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Errorf("%s: %d, want %d with %q", c.name, r.status, c.status, c.want)
			}
		}
		if s.balance() != startBalance || len(s.audits("")) != 0 {
			t.Fatal("a refused adjustment changed something")
		}
		r = b.submit("/admin/members/budi", "/admin/members/budi/adjust",
			url.Values{"direction": {"credit"}, "amount": {"25.000"}, "comment": {"kompensasi gangguan"}})
		if r.status != http.StatusSeeOther || r.location != "/admin/members/budi?done=adjusted" {
			t.Fatalf("adjust: %d → %q", r.status, r.location)
		}
		if s.balance() != startBalance+25_000 {
			t.Errorf("balance after the credit: %d", s.balance())
		}
		es := s.audits("member.adjust")
		if len(es) != 1 || es[0].Operator != "ani" || es[0].Target != "budi" || es[0].Comment != "kompensasi gangguan" ||
			es[0].Before != `{"balance":200000}` || !strings.Contains(es[0].After, `"balance":225000`) {
			t.Errorf("audit of the adjustment: %+v", es)
		}
		if r := b.get(r.location); !strings.Contains(r.body, "Saldo disesuaikan") || !strings.Contains(r.body, "Rp 225.000") {
			t.Error("the profile after the adjustment")
		}
		if r := b.get("/admin/members/budi?type=adjustment"); !strings.Contains(r.body, "+Rp 25.000") {
			t.Error("the history lacks the adjustment")
		}
		s.verify()
	})
}

// TestConsoleStuckOrders: an order processing past the bound is listed and
// resolved once, with a refund and the API's audit row.
func TestConsoleStuckOrders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		ctx := context.Background()
		if _, err := s.cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true,
			Forms: []catalog.Field{{Label: "User ID", Key: "id", Type: catalog.Text}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.cat.AddProduct(ctx, catalog.NewProduct{Code: "GAME-10", Name: "10 Gems", Provider: "GAME", Active: true,
			Prices: map[string]int64{"reseller": 1000}, SKUs: []catalog.SKU{{Supplier: "sim", SKU: "A10", Cost: 900, Active: true}}}); err != nil {
			t.Fatal(err)
		}
		form := map[string]any{"id": "12345"}
		o, _, err := s.orders.Create(ctx, s.member, order.Request{ProductCode: "GAME-10", Form: form, Body: form})
		if err != nil {
			t.Fatal(err)
		}
		b := s.browser()
		b.signIn("admin", "ani")
		if r := b.get("/admin/orders"); strings.Contains(r.body, o.Reference) {
			t.Error("an order listed as stuck before the bound")
		}
		s.clock.Add(2 * time.Hour)
		b.signIn("admin", "ani") // the session of the test clock's past ends with the hour
		if r := b.get("/admin/orders"); !strings.Contains(r.body, `id="order-`+o.Reference+`"`) {
			t.Fatal("the stuck order is not listed")
		}
		path := "/admin/orders/" + o.Reference + "/resolve"
		if r := b.submit("/admin/orders", path, url.Values{"status": {"success"}, "comment": {"cek manual"}}); r.status != 400 || !strings.Contains(r.body, "SN wajib diisi") {
			t.Errorf("success without SN: %d", r.status)
		}
		if r := b.submit("/admin/orders", path, url.Values{"status": {"failed"}, "comment": {"supplier gangguan"}}); r.status != http.StatusSeeOther {
			t.Fatalf("resolve: %d", r.status)
		}
		if s.balance() != startBalance {
			t.Errorf("balance after the refund: %d", s.balance())
		}
		if r := b.submit("/admin/orders", path, url.Values{"status": {"failed"}, "comment": {"lagi"}}); r.status != http.StatusConflict {
			t.Errorf("second resolve: %d", r.status)
		}
		es := s.audits("order.resolve")
		if len(es) != 1 || es[0].Operator != "ani" || es[0].Target != o.Reference || !strings.Contains(es[0].After, `"status":"failed"`) {
			t.Errorf("audit of the resolution: %+v", es)
		}
		if r := b.get("/admin/orders?done=resolved"); !strings.Contains(r.body, "Order diselesaikan") || strings.Contains(r.body, `id="order-`) {
			t.Error("the list after resolving")
		}
		s.verify()
	})
}

// TestConsoleWebhooks: a pending message cannot be redelivered; a
// delivered one can, once, with an audit row.
func TestConsoleWebhooks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		ctx := context.Background()
		rcv := newReceiver(t)
		if err := s.hooks.SetURL(ctx, s.member.ID, rcv.srv.URL); err != nil {
			t.Fatal(err)
		}
		id, err := s.hooks.SendTest(ctx, s.member.ID)
		if err != nil {
			t.Fatal(err)
		}
		b := s.browser()
		b.signIn("admin", "ani")
		path := fmt.Sprintf("/admin/webhooks/%d/redeliver", id)
		if r := b.submit("/admin/webhooks", path, url.Values{"comment": {"kirim lagi"}}); r.status != http.StatusConflict {
			t.Errorf("redeliver a pending message: %d", r.status)
		}
		if r := b.submit("/admin/webhooks", "/admin/webhooks/999/redeliver", url.Values{"comment": {"x"}}); r.status != 404 {
			t.Errorf("redeliver an unknown message: %d", r.status)
		}
		workCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.hooks.Run(workCtx); close(done) }()
		rcv.await(t)
		deadline := time.Now().Add(10 * time.Second)
		for {
			m, err := s.hooks.Message(ctx, id)
			if err == nil && m.Status == webhook.StatusDelivered {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the message is not delivered: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		<-done
		if r := b.get("/admin/webhooks?status=delivered"); !strings.Contains(r.body, fmt.Sprintf(`id="message-%d"`, id)) || !strings.Contains(r.body, "Kirim ulang") {
			t.Error("the delivered message is not listed with its redeliver form")
		}
		if r := b.submit("/admin/webhooks", path, url.Values{"comment": {""}}); r.status != 400 {
			t.Errorf("redeliver without comment: %d", r.status)
		}
		if r := b.submit("/admin/webhooks", path, url.Values{"comment": {"penerima minta ulang"}}); r.status != http.StatusSeeOther {
			t.Fatalf("redeliver: %d", r.status)
		}
		if m, _ := s.hooks.Message(ctx, id); m.Status != webhook.StatusPending {
			t.Errorf("after redelivery the message is %s", m.Status)
		}
		if es := s.audits("webhook.redeliver"); len(es) != 1 || es[0].Operator != "ani" || es[0].Target != fmt.Sprint(id) {
			t.Errorf("audit of the redelivery: %+v", es)
		}
		if r := b.get("/admin/webhooks?status=nope"); r.status != 400 {
			t.Errorf("bad status filter: %d", r.status)
		}
	})
}

// TestConsoleDashboard: the charts are SVG drawn on the server, with the
// queue depths the role may read.
func TestConsoleDashboard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		s.addOperator("kato", operator.Catalog)
		s.deposits(3)
		b := s.browser()
		b.signIn("admin", "ani")
		r := b.get("/admin")
		for _, want := range []string{`id="chart-orders"`, `id="chart-revenue"`, `id="chart-suppliers"`, `id="chart-queues"`,
			"<svg", `<title>Deposit menunggu: 3</title>`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("the dashboard lacks %q", want)
			}
		}
		k := s.browser()
		k.signIn("admin", "kato")
		if r := k.get("/admin"); r.status != 200 || strings.Contains(r.body, "chart-queues") {
			t.Errorf("the catalog operator's dashboard: %d, shows the money queues", r.status)
		}
	})
}
