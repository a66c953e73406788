package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
)

func TestSignInAndOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		b := s.browser()

		// Signed out: pages send to their own sign-in page.
		for path, login := range map[string]string{"/member": "/member/login", "/member/api": "/member/login",
			"/member/stores": "/member/login", "/admin": "/admin/login"} {
			if r := b.get(path); r.status != http.StatusSeeOther || r.location != login {
				t.Errorf("GET %s signed out: %d → %q", path, r.status, r.location)
			}
		}
		if r := b.post("/member/deposit", url.Values{"amount": {"50000"}, "via": {"bca"}}); r.status != http.StatusSeeOther || r.location != "/member/login" {
			t.Errorf("POST signed out: %d → %q", r.status, r.location)
		}

		r := b.get("/member/login")
		if r.status != 200 || !strings.Contains(r.body, "Masuk member") || !strings.Contains(r.body, `name="csrf"`) {
			t.Fatalf("sign-in page: %d", r.status)
		}
		if pre := b.cookie("kios_csrf"); pre == nil {
			t.Fatal("the sign-in page set no CSRF cookie")
		}
		cases := []struct {
			name   string
			form   url.Values
			status int
			want   string
		}{
			{"no CSRF token", url.Values{"username": {"budi"}, "password": {testPassword}}, 403, "Formulir tidak sah"},
			{"wrong CSRF token", url.Values{"username": {"budi"}, "password": {testPassword}, "csrf": {"x"}}, 403, "Formulir tidak sah"},
			{"wrong password", url.Values{"username": {"budi"}, "password": {"salah-sekali"}, "csrf": {b.csrf("/member/login")}}, 401, "Nama pengguna atau kata sandi salah"},
			{"unknown user", url.Values{"username": {"nobody"}, "password": {testPassword}, "csrf": {b.csrf("/member/login")}}, 401, "Nama pengguna atau kata sandi salah"},
			{"an operator at the member door", url.Values{"username": {"ani"}, "password": {testPassword}, "csrf": {b.csrf("/member/login")}}, 401, "salah"},
		}
		for _, c := range cases {
			r := b.post("/member/login", c.form)
			if r.status != c.status || !strings.Contains(r.body, c.want) {
				t.Errorf("%s: %d, want %d with %q", c.name, r.status, c.status, c.want)
			}
			if b.cookie("kios_member") != nil {
				t.Fatalf("%s: a session cookie was set", c.name)
			}
		}

		b.signIn("member", "budi")
		c := b.cookie("kios_member")
		if c == nil {
			t.Fatal("no session cookie after sign-in")
		}
		r = b.get("/member")
		if r.status != 200 || !strings.Contains(r.body, "Rp 200.000") || !strings.Contains(r.body, "budi") {
			t.Fatalf("dashboard: %d", r.status)
		}
		var stored string
		d.QueryRow(t.Context(), "SELECT token_hash FROM web_sessions").Scan(&stored)
		if stored == c.Value || stored == "" {
			t.Error("the session token is stored in plain")
		}
		if r := b.get("/member/login"); r.status != http.StatusSeeOther || r.location != "/member" {
			t.Errorf("sign-in page while signed in: %d → %q", r.status, r.location)
		}
		// A member's session does not open the console.
		if r := b.get("/admin"); r.status != http.StatusSeeOther || r.location != "/admin/login" {
			t.Errorf("console with a member session: %d → %q", r.status, r.location)
		}

		// Sign-out needs the CSRF token, then ends the session for good.
		if r := b.post("/member/logout", url.Values{}); r.status != 403 {
			t.Errorf("sign-out without CSRF: %d", r.status)
		}
		if r := b.submit("/member", "/member/logout", nil); r.status != http.StatusSeeOther || r.location != "/member/login" {
			t.Errorf("sign-out: %d → %q", r.status, r.location)
		}
		if r := b.get("/member"); r.status != http.StatusSeeOther {
			t.Errorf("dashboard after sign-out: %d", r.status)
		}
		replay := s.browser()
		u, _ := url.Parse(s.srv.URL + "/member")
		replay.client.Jar.SetCookies(u, []*http.Cookie{{Name: "kios_member", Value: c.Value, Path: "/member"}})
		if r := replay.get("/member"); r.status != http.StatusSeeOther {
			t.Errorf("the signed-out token still works: %d", r.status)
		}

		// Operators sign in at their own door.
		op := s.browser()
		op.signIn("admin", "vina")
		if r := op.get("/admin"); r.status != 200 || !strings.Contains(r.body, "viewer") || !strings.Contains(r.body, "Konsol operator") {
			t.Errorf("console: %d", r.status)
		}
		if r := op.get("/member"); r.status != http.StatusSeeOther {
			t.Errorf("dashboard with an operator session: %d", r.status)
		}
		if r := op.submit("/admin", "/admin/logout", nil); r.status != http.StatusSeeOther || r.location != "/admin/login" {
			t.Errorf("operator sign-out: %d → %q", r.status, r.location)
		}
	})
}

func TestSessionCookieAndExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{secure: true})
		b := s.browser()
		form := url.Values{"username": {"budi"}, "password": {testPassword}, "csrf": {b.csrf("/member/login")}}
		r := b.post("/member/login", form)
		var raw string
		for _, sc := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, "kios_member=") {
				raw = sc
			}
		}
		for _, want := range []string{"Path=/member", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=3600"} {
			if !strings.Contains(raw, want) {
				t.Errorf("session cookie %q lacks %s", raw, want)
			}
		}
		// The jar keeps a Secure cookie away from http://; hand it over.
		c := b.cookie("kios_member")
		if c == nil {
			u, _ := url.Parse(s.srv.URL + "/member")
			value := strings.TrimPrefix(strings.SplitN(raw, ";", 2)[0], "kios_member=")
			b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "kios_member", Value: value, Path: "/member"}})
		}
		if r := b.get("/member"); r.status != 200 {
			t.Fatalf("dashboard: %d", r.status)
		}
		s.clock.Add(time.Hour)
		if r := b.get("/member"); r.status != http.StatusSeeOther || r.location != "/member/login?expired=1" {
			t.Fatalf("after the lifetime: %d → %q", r.status, r.location)
		}
		if r := b.get("/member/login?expired=1"); !strings.Contains(r.body, "Sesi Anda berakhir") {
			t.Error("the sign-in page does not say the session ended")
		}
	})
}

func TestSignInAttemptsAreLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		try := func(user, pw string) int {
			b := s.browser() // a new browser each time, from the same IP
			return b.post("/admin/login", url.Values{"username": {user}, "password": {pw}, "csrf": {b.csrf("/admin/login")}}).status
		}
		for i := range 5 {
			if st := try("ani", "salah-salah"); st != 401 {
				t.Fatalf("failure %d: %d", i+1, st)
			}
		}
		if st := try("ani", testPassword); st != http.StatusTooManyRequests {
			t.Fatalf("the right password after 5 failures: %d, want 429", st)
		}
		if st := try("vina", testPassword); st != http.StatusSeeOther {
			t.Errorf("another account from the same IP: %d", st)
		}
		s.clock.Add(time.Minute)
		if st := try("ani", testPassword); st != http.StatusSeeOther {
			t.Errorf("after a minute: %d", st)
		}
		// Per IP: 30 failures in a row over many usernames close the door
		// to all (the minute above refilled 6 of them).
		for i := range 30 {
			try(fmt.Sprintf("nobody%d", i), "salah-salah")
		}
		if st := try("vina", testPassword); st != http.StatusTooManyRequests {
			t.Errorf("after 30 failures from one IP: %d, want 429", st)
		}
	})
}

func TestLanguageSwitch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		b := s.browser()
		if r := b.get("/member/login"); !strings.Contains(r.body, `lang="id"`) || !strings.Contains(r.body, "Kata sandi") {
			t.Fatal("the sign-in page is not in Indonesian first")
		}
		if r := b.get("/member/login?lang=en"); !strings.Contains(r.body, `lang="en"`) || !strings.Contains(r.body, "Password") {
			t.Fatal("?lang=en did not switch to English")
		}
		if r := b.get("/member/login"); !strings.Contains(r.body, "Sign in") {
			t.Error("the choice of English was not remembered")
		}
		b.signIn("member", "budi")
		if r := b.get("/member"); !strings.Contains(r.body, "Balance") || !strings.Contains(r.body, "Top up balance") {
			t.Error("the dashboard is not in English")
		}
		if r := b.get("/member?lang=id"); !strings.Contains(r.body, "Saldo") {
			t.Error("?lang=id did not switch back")
		}
	})
}
