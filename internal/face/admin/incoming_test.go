package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/incoming"
	"kios/internal/operator"
	"kios/internal/payment"
	"kios/internal/ratelimit"
	"kios/internal/server"
)

// TestIncoming: a feed posts money received; finance and admin may,
// others may not; the answer names the deposit paid, or the unmatched
// record; a repeat answers the same and moves nothing; the first post is
// audited once.
func TestIncoming(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		stores := payment.NewStores(d, e.clock.Now)
		payments, err := payment.New(d, stores, payment.Options{Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(server.New(server.Deps{
			Logger: slog.New(slog.DiscardHandler), DB: d, Members: e.members,
			Limiter: ratelimit.New(1000, 1000, e.clock.Now), Metrics: server.NewMetrics(), Now: e.clock.Now,
			Funding: e.funds, Operators: e.ops, Payments: payments,
			Incoming: incoming.New(d, payments, e.funds, e.clock.Now, nil),
		}))
		defer srv.Close()
		post := func(role operator.Role, body string) (int, string) {
			req, _ := http.NewRequest("POST", srv.URL+"/api/admin/incoming", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e.tokens[role])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		dep, err := e.funds.Deposit(ctx, e.zorro.ID, 50_000, "bca")
		if err != nil {
			t.Fatal(err)
		}
		before := e.balance(t, e.zorro)
		body := `{"channel":"bank:bca","amount":` + itoa(dep.Price) + `,"received_at":"` + e.clock.Now().Format(time.RFC3339) + `","external_id":"MUT-1","note":"mutasi BCA"}`
		for _, role := range []operator.Role{operator.Catalog, operator.Viewer} {
			if status, _ := post(role, body); status != 403 {
				t.Fatalf("%s: %d, want 403", role, status)
			}
		}
		for _, role := range []operator.Role{operator.Finance, operator.Admin} {
			status, got := post(role, body)
			if status != 200 || got != `{"matched":{"reference":"`+dep.Reference+`"}}` {
				t.Fatalf("%s: %d %s", role, status, got)
			}
		}
		if got := e.balance(t, e.zorro); got != before+dep.Price {
			t.Fatalf("balance %d, want %d (credited once)", got, before+dep.Price)
		}
		status, got := post(operator.Finance, `{"channel":"bank:bca","amount":12345,"received_at":"2026-11-21 10:00:00","external_id":"MUT-2"}`)
		if status != 200 || !strings.HasPrefix(got, `{"unmatched":{"id":`) {
			t.Fatalf("unmatched: %d %s", status, got)
		}
		status, got = post(operator.Finance, `{"channel":"bank:bca","amount":"12345","external_id":"MUT-3"}`)
		if status != 400 || !strings.Contains(got, `"field":"amount"`) {
			t.Fatalf("amount as text: %d %s", status, got)
		}
		status, got = post(operator.Finance, `{"channel":"paypal","amount":1,"external_id":"MUT-4"}`)
		if status != 400 || !strings.Contains(got, `"field":"channel"`) {
			t.Fatalf("bad channel: %d %s", status, got)
		}
		var n int
		d.QueryRow(ctx, "SELECT COUNT(*) FROM audit_log WHERE action = 'incoming.post'").Scan(&n)
		if n != 2 {
			t.Fatalf("%d audit entries, want 2 (one per record, none for the replay)", n)
		}
		e.verify(t)
	})
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
