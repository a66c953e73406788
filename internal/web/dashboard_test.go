package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/payment"
)

// TestDashboardRefusesForgedPosts: every form of the dashboard, posted
// without its CSRF token (or with another session's), is refused with 403
// and changes nothing.
func TestDashboardRefusesForgedPosts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		b := s.browser()
		b.signIn("member", "budi")
		other := s.browser()
		other.signIn("member", "budi")
		foreign := other.csrf("/member")
		actions := map[string]url.Values{
			"/member/deposit":                   {"amount": {"50000"}, "via": {"bca"}},
			"/member/withdraw":                  {"amount": {"50000"}, "bank": {"bca"}, "account_number": {"1234567"}, "account_name": {"Budi"}},
			"/member/credentials":               {},
			"/member/credentials/1/revoke":      {},
			"/member/credentials/1/allow-ips":   {"allow_ips": {"10.0.0.1"}},
			"/member/credentials/1/signed-only": {"signed_only": {"on"}},
			"/member/webhook":                   {"url": {"http://127.0.0.1:1/hook"}},
			"/member/webhook/test":              {},
			"/member/webhook/rotate":            {},
			"/member/stores":                    {"name": {"Toko"}},
			"/member/logout":                    {},
		}
		for path, form := range actions {
			if r := b.post(path, form); r.status != http.StatusForbidden || !strings.Contains(r.body, "Formulir tidak sah") {
				t.Errorf("POST %s without CSRF: %d", path, r.status)
			}
			form.Set("csrf", foreign)
			if r := b.post(path, form); r.status != http.StatusForbidden {
				t.Errorf("POST %s with another session's token: %d", path, r.status)
			}
		}
		for _, table := range []string{"deposits", "withdrawals", "credentials", "webhook_endpoints", "webhook_messages", "stores"} {
			var n int
			if err := d.QueryRow(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s has %d rows after forged posts (%v)", table, n, err)
			}
		}
		if r := b.get("/member"); r.status != 200 {
			t.Errorf("the session did not survive forged posts: %d", r.status)
		}
		s.verify()
	})
}

var refRE = regexp.MustCompile(`^/trx/((DEP|WD)\w+)$`)

func TestDashboardFunding(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		b := s.browser()
		b.signIn("member", "budi")

		bad := []struct {
			name, path string
			form       url.Values
			status     int
			want       string
		}{
			{"deposit without amount", "/member/deposit", url.Values{"via": {"bca"}}, 400, "Nominal (Rp) wajib diisi"},
			{"deposit amount not a number", "/member/deposit", url.Values{"via": {"bca"}, "amount": {"lima"}}, 400, "Nominal (Rp) tidak valid"},
			{"deposit below the minimum", "/member/deposit", url.Values{"via": {"bca"}, "amount": {"5000"}}, 400, "di bawah batas minimum"},
			{"deposit above the maximum", "/member/deposit", url.Values{"via": {"bca"}, "amount": {"20.000.000"}}, 400, "di atas batas maksimum"},
			{"deposit unknown channel", "/member/deposit", url.Values{"via": {"dana"}, "amount": {"50000"}}, 400, "Metode tidak valid"},
			{"withdraw more than the balance", "/member/withdraw", url.Values{"amount": {"300000"}, "bank": {"bni"}, "account_number": {"1234567"}, "account_name": {"Budi"}}, 400, "Saldo tidak cukup"},
			{"withdraw bad account", "/member/withdraw", url.Values{"amount": {"50000"}, "bank": {"bni"}, "account_number": {"12ab"}, "account_name": {"Budi"}}, 400, "Nomor rekening tidak valid"},
			{"withdraw unknown bank", "/member/withdraw", url.Values{"amount": {"50000"}, "bank": {"xyz"}, "account_number": {"1234567"}, "account_name": {"Budi"}}, 400, "Bank tidak valid"},
		}
		for _, c := range bad {
			r := b.submit("/member", c.path, c.form)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Errorf("%s: %d, want %d with %q", c.name, r.status, c.status, c.want)
			}
		}
		// A refused form keeps what was typed.
		if r := b.submit("/member", "/member/deposit", url.Values{"via": {"bca"}, "amount": {"5000"}}); !strings.Contains(r.body, `value="5000"`) {
			t.Error("the refused deposit form lost its amount")
		}

		r := b.submit("/member", "/member/deposit", url.Values{"via": {"bca"}, "amount": {"100.000"}})
		m := refRE.FindStringSubmatch(r.location)
		if r.status != http.StatusSeeOther || m == nil || m[2] != "DEP" {
			t.Fatalf("deposit: %d → %q", r.status, r.location)
		}
		dep, err := s.funds.Find(t.Context(), m[1])
		if err != nil || dep.Amount != 100_000 || dep.MemberID != s.member.ID {
			t.Fatalf("deposit recorded: %+v %v", dep, err)
		}
		inv := b.get(r.location)
		if inv.status != 200 || !strings.Contains(inv.body, "Rp 100.<mark") || !strings.Contains(inv.body, "Bank BCA") {
			t.Errorf("invoice of the deposit: %d", inv.status)
		}

		r = b.submit("/member", "/member/withdraw", url.Values{"amount": {"50000"}, "bank": {"bni"}, "account_number": {"123-4567"}, "account_name": {"Budi Santoso"}})
		m = refRE.FindStringSubmatch(r.location)
		if r.status != http.StatusSeeOther || m == nil || m[2] != "WD" {
			t.Fatalf("withdraw: %d → %q", r.status, r.location)
		}
		wd := m[1]

		page := b.get("/member")
		for _, want := range []string{"Rp 150.000", `href="/trx/` + dep.Reference + `"`, `href="/trx/` + wd + `"`, "Menunggu pembayaran", "Sedang diproses"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("dashboard lacks %q", want)
			}
		}
		filters := []struct {
			query         string
			status        int
			with, without []string
		}{
			{"?type=deposit", 200, []string{dep.Reference}, []string{wd}},
			{"?type=withdraw&status=processing", 200, []string{wd}, []string{dep.Reference}},
			{"?status=success", 200, []string{"Tidak ada transaksi"}, []string{dep.Reference, wd}},
			{"?from=2000-01-01&until=2000-01-31", 200, []string{"Tidak ada transaksi"}, []string{dep.Reference}},
			{"?from=2000-01-01&until=2999-01-01", 200, []string{dep.Reference, wd}, nil},
			{"?type=refund", 400, []string{"Jenis tidak valid"}, []string{dep.Reference}},
			{"?from=kemarin", 400, []string{"Dari tanggal tidak valid"}, nil},
		}
		for _, f := range filters {
			r := b.get("/member" + f.query)
			if r.status != f.status {
				t.Errorf("filter %s: %d, want %d", f.query, r.status, f.status)
			}
			for _, w := range f.with {
				if !strings.Contains(r.body, w) {
					t.Errorf("filter %s lacks %q", f.query, w)
				}
			}
			for _, w := range f.without {
				if strings.Contains(r.body, `/trx/`+w) || (!strings.HasPrefix(w, "DEP") && !strings.HasPrefix(w, "WD") && strings.Contains(r.body, w)) {
					t.Errorf("filter %s shows %q", f.query, w)
				}
			}
		}
		s.verify()
	})
}

var (
	keyRE    = regexp.MustCompile(`id="api-key" value="(\w+)"`)
	secretRE = regexp.MustCompile(`id="secret-key" value="(\w+)"`)
	whsecRE  = regexp.MustCompile(`id="webhook-secret-value" value="(whsec_[^"]+)"`)
	credRE   = regexp.MustCompile(`/member/credentials/(\d+)/revoke`)
)

func TestDashboardCredentialsAndWebhook(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		b := s.browser()
		b.signIn("member", "budi")

		r := b.submit("/member/api", "/member/credentials", url.Values{"allow_ips": {"10.0.0.0/8\n192.0.2.7"}, "signed_only": {"on"}})
		key, secret := keyRE.FindStringSubmatch(r.body), secretRE.FindStringSubmatch(r.body)
		if r.status != 200 || key == nil || secret == nil || len(key[1]) != 40 || len(secret[1]) != 72 {
			t.Fatalf("create credential: %d, key %v", r.status, key)
		}
		if !strings.Contains(r.body, `data-clean-url="/member/api"`) || r.header.Get("Cache-Control") != "no-store" {
			t.Error("the page with the secret may be cached or reposted")
		}
		c, owner, err := s.members.Authenticate(t.Context(), key[1])
		if err != nil || owner.ID != s.member.ID || !c.SignedOnly || len(c.AllowIPs) != 2 {
			t.Fatalf("the credential made: %+v %v", c, err)
		}
		again := b.get("/member/api")
		if strings.Contains(again.body, key[1]) || strings.Contains(again.body, secret[1]) {
			t.Fatal("the key or secret is shown again")
		}
		if !strings.Contains(again.body, key[1][:6]+"…") || !strings.Contains(again.body, "192.0.2.7/32") {
			t.Error("the credential's hint or allow-list is missing")
		}
		id := credRE.FindStringSubmatch(again.body)[1]

		steps := []struct {
			name, path string
			form       url.Values
			status     int
			want       string
		}{
			{"bad allow-list", "/member/credentials/" + id + "/allow-ips", url.Values{"allow_ips": {"not-an-ip"}}, 400, "IP yang diizinkan tidak valid"},
			{"allow-list", "/member/credentials/" + id + "/allow-ips", url.Values{"allow_ips": {"203.0.113.9"}}, 303, ""},
			{"signed-only off", "/member/credentials/" + id + "/signed-only", url.Values{}, 303, ""},
			{"unknown credential", "/member/credentials/999999/revoke", nil, 404, "Tidak ditemukan"},
			{"malformed credential id", "/member/credentials/abc/revoke", nil, 404, "Tidak ditemukan"},
			{"revoke", "/member/credentials/" + id + "/revoke", nil, 303, ""},
			{"allow-list of a revoked credential", "/member/credentials/" + id + "/allow-ips", url.Values{"allow_ips": {"203.0.113.10"}}, 409, ""},
			{"test webhook without a URL", "/member/webhook/test", nil, 409, "Atur URL webhook dulu"},
			{"bad webhook URL", "/member/webhook", url.Values{"url": {"ftp://example.com/"}}, 400, "URL webhook tidak valid"},
		}
		for _, st := range steps {
			r := b.submit("/member/api", st.path, st.form)
			if r.status != st.status || !strings.Contains(r.body, st.want) {
				t.Errorf("%s: %d, want %d with %q", st.name, r.status, st.status, st.want)
			}
			if r.status == 303 && !strings.HasPrefix(r.location, "/member/api?done=") {
				t.Errorf("%s: redirected to %q", st.name, r.location)
			}
		}
		creds, _ := s.members.Credentials(t.Context(), s.member.ID)
		if len(creds) != 1 || !creds[0].Revoked || creds[0].SignedOnly || len(creds[0].AllowIPs) != 1 || creds[0].AllowIPs[0].String() != "203.0.113.9/32" {
			t.Errorf("after the steps: %+v", creds)
		}

		// The first URL issues the signing secret and shows it once.
		r = b.submit("/member/api", "/member/webhook", url.Values{"url": {"http://127.0.0.1:9/hook"}})
		ws := whsecRE.FindStringSubmatch(r.body)
		if r.status != 200 || ws == nil {
			t.Fatalf("first webhook URL: %d", r.status)
		}
		ws[1] = html.UnescapeString(ws[1])
		if cur, _ := s.hooks.Secret(t.Context(), s.member.ID); cur != ws[1] {
			t.Error("the secret shown is not the member's")
		}
		if r := b.get("/member/api"); strings.Contains(html.UnescapeString(r.body), ws[1]) || !strings.Contains(r.body, "http://127.0.0.1:9/hook") {
			t.Error("the webhook secret is shown again, or the URL is not")
		}
		if r := b.submit("/member/api", "/member/webhook", url.Values{"url": {"http://127.0.0.1:9/other"}}); r.status != 303 || whsecRE.MatchString(r.body) {
			t.Errorf("changing the URL: %d", r.status)
		}
		if r := b.submit("/member/api", "/member/webhook/test", nil); r.status != 303 || r.location != "/member/api?done=test" {
			t.Errorf("test webhook: %d → %q", r.status, r.location)
		}
		if r := b.get("/member/api?done=test"); !strings.Contains(r.body, "Webhook uji dimasukkan") || !strings.Contains(r.body, `id="deliveries"`) || !strings.Contains(r.body, "Menunggu") {
			t.Error("the queued test webhook is not listed")
		}
		r = b.submit("/member/api", "/member/webhook/rotate", nil)
		rot := whsecRE.FindStringSubmatch(r.body)
		if r.status != 200 || rot == nil || html.UnescapeString(rot[1]) == ws[1] {
			t.Fatalf("rotate: %d", r.status)
		}
	})
}

func TestDashboardStores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		b := s.browser()
		b.signIn("member", "budi")
		good := payment.DemoQRIS("Toko Budi", "Bandung")
		cases := []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"no name", url.Values{"name": {""}}, 400, "Nama toko wajib diisi"},
			{"broken QRIS", url.Values{"name": {"Toko"}, "static_qris": {good[:len(good)-1] + "0"}}, 400, "QRIS statis tidak valid"},
			{"bad callback", url.Values{"name": {"Toko"}, "callback_url": {"javascript:alert(1)"}}, 400, "URL callback tidak valid"},
			{"lifetime not a number", url.Values{"name": {"Toko"}, "lifetime": {"satu jam"}}, 400, "Masa berlaku invoice (menit) tidak valid"},
			{"lifetime too long", url.Values{"name": {"Toko"}, "lifetime": {"100000"}}, 400, "Masa berlaku invoice (menit) tidak valid"},
			{"a store", url.Values{"name": {"Toko Budi"}, "static_qris": {good}, "callback_url": {"https://budi.example/cb"}, "lifetime": {"30"}}, 303, ""},
		}
		for _, c := range cases {
			r := b.submit("/member/stores", "/member/stores", c.form)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Errorf("%s: %d, want %d with %q", c.name, r.status, c.status, c.want)
			}
		}
		page := b.get("/member/stores?done=store")
		for _, want := range []string{"Toko dibuat", "Toko Budi", "QRIS terpasang", "https://budi.example/cb", ">30<", "Rp 0 + 0,00%"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("stores page lacks %q", want)
			}
		}
		if strings.Contains(page.body, good) {
			t.Error("the stores list prints the whole QRIS payload")
		}
	})
}
