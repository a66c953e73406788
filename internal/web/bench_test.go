package web_test

import (
	"net/url"
	"testing"

	"kios/internal/dbtest"
)

// BenchmarkMemberDashboard measures GET /member for a signed-in member
// with 30 transactions on each database: the session lookup, the balance, the
// transaction list and the render, over loopback HTTP.
func BenchmarkMemberDashboard(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			dsn := dbtest.DSN(b, target)
			if dsn == "" {
				b.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			s := newSite(b, dbtest.Open(b, dsn), siteOptions{realTime: true})
			br := s.browser()
			br.signIn("member", "budi")
			for i := range 30 {
				if r := br.submit("/member", "/member/deposit", url.Values{"via": {"bca"}, "amount": {"10000"}}); r.status != 303 {
					b.Fatalf("deposit %d: %d", i, r.status)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if r := br.get("/member"); r.status != 200 {
					b.Fatalf("dashboard: %d", r.status)
				}
			}
		})
	}
}

// BenchmarkSignIn measures a whole sign-in (bcrypt at cost 4 in tests; the
// real cost 10 adds its ~50-80 ms on top).
func BenchmarkSignIn(b *testing.B) {
	s := newSite(b, dbtest.Open(b, dbtest.DSN(b, "sqlite")), siteOptions{realTime: true})
	for b.Loop() {
		s.browser().signIn("member", "budi")
	}
}
