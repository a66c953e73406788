package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/operator"
)

func init() {
	roleMatrix = append(roleMatrix,
		endpoint{"members", "GET", "/api/admin/members", "", readMoney},
		endpoint{"members", "POST", "/api/admin/members", `{}`, onlyAdmin},
		endpoint{"members", "GET", "/api/admin/members/zorro", "", readMoney},
		endpoint{"members", "PATCH", "/api/admin/members/zorro", `{}`, onlyAdmin},
		endpoint{"members", "GET", "/api/admin/members/zorro/history", "", readMoney},
		endpoint{"members", "GET", "/api/admin/members/zorro/latest", "", readMoney},
		endpoint{"members", "GET", "/api/admin/members/zorro/downlines", "", readMoney},
		endpoint{"members", "POST", "/api/admin/members/zorro/credentials", `{}`, onlyAdmin},
		endpoint{"members", "DELETE", "/api/admin/members/zorro/credentials/999", `{}`, onlyAdmin},
		endpoint{"adjustments", "POST", "/api/admin/members/zorro/adjustments", `{}`, money},
	)
}

// auditOf returns the one audit row of action on target, failing unless
// there is exactly one.
func (e *env) auditOf(t *testing.T, action, target string) (op, comment, before, after string) {
	t.Helper()
	var n int
	if err := e.d.QueryRow(context.Background(), `SELECT COUNT(*), COALESCE(MIN(operator), ''), COALESCE(MIN(comment), ''),
		COALESCE(MIN(before_json), ''), COALESCE(MIN(after_json), '') FROM audit_log WHERE action = ? AND target = ?`,
		action, target).Scan(&n, &op, &comment, &before, &after); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%s on %s: %d audit rows, want 1", action, target, n)
	}
	return op, comment, before, after
}

func TestMembersCreateUpdateList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		status, body := e.call(t, operator.Admin, "POST", "/api/admin/members",
			`{"username":"Budi_01","level":"member","upline":"zorro","password":"rahasia sekali","comment":"daftar lewat WA"}`)
		if status != 200 || !strings.Contains(body, `"username":"budi_01"`) || !strings.Contains(body, `"upline":"zorro"`) {
			t.Fatalf("create: %d %s", status, body)
		}
		op, comment, _, after := e.auditOf(t, "member.create", "budi_01")
		if op != "op-admin" || comment != "daftar lewat WA" || !strings.Contains(after, `"level":"member"`) {
			t.Errorf("create audit: %s %q %s", op, comment, after)
		}
		if strings.Contains(e.logs.String(), "rahasia sekali") {
			t.Error("the password reached the logs")
		}
		for _, tc := range []struct {
			body   string
			status int
			field  string
		}{
			{`{"username":"budi_01","level":"member","password":"rahasia sekali","comment":"again"}`, 409, "username"},
			{`{"username":"citra","level":"gold","password":"rahasia sekali","comment":"x"}`, 400, "level"},
			{`{"username":"citra","level":"member","upline":"nobody","password":"rahasia sekali","comment":"x"}`, 400, "upline"},
			{`{"username":"citra","level":"member","password":"rahasia sekali"}`, 400, "comment"},
			{`{"username":["citra"],"level":"member","password":"rahasia sekali","comment":"x"}`, 400, "username"},
		} {
			status, body := e.call(t, operator.Admin, "POST", "/api/admin/members", tc.body)
			if er := decodeJSON[apiErr](t, body); status != tc.status || er.Error.Field != tc.field {
				t.Errorf("create %s: %d %s; want %d about %s", tc.body, status, body, tc.status, tc.field)
			}
		}
		if n := e.auditCount(t, "member.create", "citra"); n != 0 {
			t.Errorf("refused creations wrote %d audit rows", n)
		}

		status, body = e.call(t, operator.Admin, "PATCH", "/api/admin/members/BUDI_01",
			`{"level":"h2h","api_access":false,"comment":"naik level"}`)
		if status != 200 || !strings.Contains(body, `"level":"h2h"`) || !strings.Contains(body, `"api_access":false`) ||
			!strings.Contains(body, `"active":true`) {
			t.Fatalf("update: %d %s", status, body)
		}
		_, comment, before, after := e.auditOf(t, "member.update", "budi_01")
		if comment != "naik level" || before != `{"level":"member","active":true,"api_access":true}` ||
			after != `{"level":"h2h","active":true,"api_access":false}` {
			t.Errorf("update audit: %q %s → %s", comment, before, after)
		}
		for _, tc := range []struct {
			path, body string
			status     int
		}{
			{"budi_01", `{"comment":"nothing"}`, 400},
			{"budi_01", `{"level":"gold","comment":"x"}`, 400},
			{"budi_01", `{"active":"yes","comment":"x"}`, 400},
			{"nobody", `{"active":false,"comment":"x"}`, 404},
		} {
			if status, body := e.call(t, operator.Admin, "PATCH", "/api/admin/members/"+tc.path, tc.body); status != tc.status {
				t.Errorf("update %s %s: %d %s, want %d", tc.path, tc.body, status, body, tc.status)
			}
		}
		if n := e.auditCount(t, "member.update", "budi_01"); n != 1 {
			t.Errorf("refused updates wrote audit rows: %d in all", n)
		}

		e.member(t, "budiman", "", 1_000)
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/members?q=BUDI&per_page=1", "")
		l := decodeJSON[struct {
			Data []struct {
				Username string `json:"username"`
				Balance  int64  `json:"balance"`
			} `json:"data"`
			TotalRows      int64 `json:"total_rows"`
			TotalPages     int64 `json:"total_pages"`
			TotalAmountAll int64 `json:"total_amount_all"`
		}](t, body)
		if status != 200 || len(l.Data) != 1 || l.Data[0].Username != "budi_01" || l.TotalRows != 2 || l.TotalPages != 2 ||
			l.TotalAmountAll != 1_000 {
			t.Errorf("search: %d %s", status, body)
		}
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/members/zorro/downlines", "")
		if status != 200 || !strings.Contains(body, `"username":"budi_01"`) || !strings.Contains(body, `"total_rows":1`) {
			t.Errorf("downlines: %d %s", status, body)
		}
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/members/zorro", "")
		if status != 200 || !strings.Contains(body, `"balance":500000`) || !strings.Contains(body, `"credentials":[]`) {
			t.Errorf("profile: %d %s", status, body)
		}
		if status, _ := e.call(t, operator.Viewer, "GET", "/api/admin/members/nobody", ""); status != 404 {
			t.Errorf("profile of nobody: %d, want 404", status)
		}
	})
}

func TestAdjustments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		entries := func() int {
			var n int
			if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM entries").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		status, body := e.call(t, operator.Finance, "POST", "/api/admin/members/zorro/adjustments",
			`{"direction":"credit","amount":25000,"comment":"kompensasi gangguan"}`)
		if status != 200 || !strings.Contains(body, `"balance_after":525000`) {
			t.Fatalf("credit: %d %s", status, body)
		}
		_, comment, before, after := e.auditOf(t, "member.adjust", "zorro")
		if comment != "kompensasi gangguan" || before != `{"balance":500000}` || !strings.Contains(after, `"balance":525000`) {
			t.Errorf("credit audit: %q %s → %s", comment, before, after)
		}
		n := entries()
		status, body = e.call(t, operator.Finance, "POST", "/api/admin/members/zorro/adjustments",
			`{"direction":"debit","amount":525001,"comment":"terlalu banyak"}`)
		if er := decodeJSON[apiErr](t, body); status != 422 || er.Error.Code != "insufficient_balance" {
			t.Errorf("overdraw: %d %s, want 422 insufficient_balance", status, body)
		}
		if got := e.balance(t, e.zorro); got != 525_000 {
			t.Errorf("balance %d after a refused debit, want 525000", got)
		}
		if entries() != n {
			t.Error("a refused debit wrote a ledger entry")
		}
		var audits int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM audit_log").Scan(&audits); err != nil || audits != 1 {
			t.Errorf("%d audit rows after a refused debit, want 1 (%v)", audits, err)
		}
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/members/zorro/adjustments",
			`{"direction":"debit","amount":525000,"comment":"tutup akun"}`)
		if status != 200 || !strings.Contains(body, `"balance_after":0`) {
			t.Errorf("debit of the whole balance: %d %s", status, body)
		}
		for _, b := range []string{
			`{"direction":"sideways","amount":1,"comment":"x"}`,
			`{"direction":"credit","amount":0,"comment":"x"}`,
			`{"direction":"credit","amount":-5,"comment":"x"}`,
			`{"direction":"credit","amount":1.5,"comment":"x"}`,
			`{"direction":"credit","amount":"100","comment":"x"}`,
			`{"direction":"credit","amount":100}`,
		} {
			if status, body := e.call(t, operator.Finance, "POST", "/api/admin/members/zorro/adjustments", b); status != 400 {
				t.Errorf("%s: %d %s, want 400", b, status, body)
			}
		}
		e.verify(t)
	})
}

func TestMemberHistory(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d) // zorro's first movement: the 500.000 test credit, kind adjustment
		dep := e.deposit(t, e.zorro, 100_000, "bca")
		e.clock.Add(23 * time.Hour)
		if _, err := e.funds.Confirm(context.Background(), dep.Reference, "test"); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
		wd := e.withdraw(t, e.zorro, 40_000, "Zorro Tan")
		e.clock.Add(time.Minute)
		if _, err := e.funds.RejectWithdrawal(context.Background(), wd.Reference, "test", "no"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			query string
			want  string // amounts, newest first
			sum   int64
		}{
			{"", fmt.Sprintf("40000 -40000 %d 500000", dep.Price), dep.Price + 500_000},
			{"?type=withdraw", "40000 -40000", 0},
			{"?type=deposit", fmt.Sprint(dep.Price), dep.Price},
			{"?type=adjustment", "500000", 500_000},
			{"?type=order", "", 0},
			{"?to=2026-11-21", "500000", 500_000},
			{"?from=2026-11-22&type=deposit", fmt.Sprint(dep.Price), dep.Price},
		} {
			status, body := e.call(t, operator.Viewer, "GET", "/api/admin/members/zorro/history"+tc.query, "")
			l := decodeJSON[struct {
				Data []struct {
					Amount int64  `json:"amount"`
					Type   string `json:"type"`
				} `json:"data"`
				TotalAmountAll int64 `json:"total_amount_all"`
			}](t, body)
			var got []string
			for _, r := range l.Data {
				got = append(got, fmt.Sprint(r.Amount))
			}
			if status != 200 || strings.Join(got, " ") != tc.want || l.TotalAmountAll != tc.sum {
				t.Errorf("history%s: %d %v sum %d; want %s sum %d", tc.query, status, got, l.TotalAmountAll, tc.want, tc.sum)
			}
		}
		status, body := e.call(t, operator.Viewer, "GET", "/api/admin/members/zorro/latest?type=withdraw&limit=1", "")
		if status != 200 || !strings.Contains(body, `"amount":40000`) || strings.Contains(body, `"amount":-40000`) {
			t.Errorf("latest: %d %s", status, body)
		}
		if status, _ := e.call(t, operator.Viewer, "GET", "/api/admin/members/zorro/history?type=bonus", ""); status != 400 {
			t.Errorf("unknown type: %d, want 400", status)
		}
	})
}

func TestCredentials(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		status, body := e.call(t, operator.Admin, "POST", "/api/admin/members/zorro/credentials",
			`{"allow_ips":["203.0.113.7"],"comment":"server baru"}`)
		if status != 200 {
			t.Fatalf("create credential: %d %s", status, body)
		}
		c := decodeJSON[struct {
			Data struct {
				ID        int64  `json:"id"`
				APIKey    string `json:"api_key"`
				SecretKey string `json:"secret_key"`
			} `json:"data"`
		}](t, body)
		if _, _, err := e.members.Authenticate(ctx, c.Data.APIKey); err != nil {
			t.Fatalf("the new key does not authenticate: %v", err)
		}
		_, comment, _, after := e.auditOf(t, "credential.create", "zorro")
		if comment != "server baru" || !strings.Contains(after, "203.0.113.7/32") {
			t.Errorf("audit: %q %s", comment, after)
		}
		var leaked int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM audit_log WHERE after_json LIKE ? OR after_json LIKE ?",
			"%"+c.Data.APIKey+"%", "%"+c.Data.SecretKey+"%").Scan(&leaked); err != nil || leaked != 0 {
			t.Errorf("the key or secret is in the audit log (%d, %v)", leaked, err)
		}
		if strings.Contains(e.logs.String(), c.Data.SecretKey) || strings.Contains(e.logs.String(), c.Data.APIKey) {
			t.Error("the key or secret reached the logs")
		}
		_, profile := e.call(t, operator.Viewer, "GET", "/api/admin/members/zorro", "")
		if strings.Contains(profile, c.Data.APIKey) || !strings.Contains(profile, `"revoked":false`) {
			t.Errorf("profile shows the key, or not the credential: %s", profile)
		}
		path := fmt.Sprintf("/api/admin/members/zorro/credentials/%d", c.Data.ID)
		if status, body := e.call(t, operator.Admin, "DELETE", path, ""); status != 400 {
			t.Errorf("revoke without comment: %d %s, want 400", status, body)
		}
		if status, body := e.call(t, operator.Admin, "DELETE", path+"?comment=bocor", ""); status != 200 {
			t.Fatalf("revoke: %d %s", status, body)
		}
		if _, _, err := e.members.Authenticate(ctx, c.Data.APIKey); err == nil {
			t.Error("a revoked key still authenticates")
		}
		if status, _ := e.call(t, operator.Admin, "DELETE", path, `{"comment":"again"}`); status != 404 {
			t.Errorf("revoke twice: %d, want 404", status)
		}
		ayu := e.member(t, "ayu", "", 0)
		_ = ayu
		if status, _ := e.call(t, operator.Admin, "DELETE", fmt.Sprintf("/api/admin/members/ayu/credentials/%d", c.Data.ID),
			`{"comment":"wrong member"}`); status != 404 {
			t.Errorf("revoke another member's credential: %d, want 404", status)
		}
		if _, comment, _, _ := e.auditOf(t, "credential.revoke", "zorro"); comment != "bocor" {
			t.Errorf("revoke audit comment %q", comment)
		}
	})
}
