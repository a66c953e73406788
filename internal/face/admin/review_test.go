package admin_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/funding"
	"kios/internal/member"
	"kios/internal/operator"
)

func init() {
	roleMatrix = append(roleMatrix,
		endpoint{"transactions", "GET", "/api/admin/transactions", "", readMoney},
		endpoint{"transactions", "POST", "/api/admin/transactions/DEP000/accept", `{"comment":"x"}`, money},
		endpoint{"transactions", "POST", "/api/admin/transactions/DEP000/reject", `{"comment":"x"}`, money},
		endpoint{"transactions", "POST", "/api/admin/transactions/bulk", `{"items":[]}`, money},
	)
}

func (e *env) deposit(t *testing.T, m member.Member, amount int64, via string) funding.Transaction {
	t.Helper()
	tr, err := e.funds.Deposit(context.Background(), m.ID, amount, via)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (e *env) withdraw(t *testing.T, m member.Member, amount int64, name string) funding.Transaction {
	t.Helper()
	tr, _, err := e.funds.Withdraw(context.Background(), m.ID, funding.WithdrawalRequest{
		Amount: amount, Bank: "bca", AccountNumber: "1234567890", AccountName: name})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestConcurrentAcceptMovesMoneyOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		const n = 8
		deps := make([]funding.Transaction, n)
		for i := range deps {
			deps[i] = e.deposit(t, e.zorro, 100_000, "bca")
		}
		before := e.balance(t, e.zorro)
		var credited int64
		for _, dep := range deps {
			credited += dep.Price
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			for i, role := range []operator.Role{operator.Admin, operator.Finance} {
				wg.Go(func() {
					statuses[i], _ = e.call(t, role, "POST", "/api/admin/transactions/"+dep.Reference+"/accept",
						`{"comment":"mutasi BCA cocok"}`)
				})
			}
			wg.Wait()
			ok, conflict := 0, 0
			for _, s := range statuses {
				switch s {
				case 200:
					ok++
				case 409:
					conflict++
				}
			}
			if ok != 1 || conflict != 1 {
				t.Errorf("%s: statuses %v, want one 200 and one 409", dep.Reference, statuses)
			}
			if got := e.auditCount(t, "transaction.accept", dep.Reference); got != 1 {
				t.Errorf("%s: %d audit rows, want 1", dep.Reference, got)
			}
		}
		if got := e.balance(t, e.zorro); got != before+credited {
			t.Errorf("balance %d, want %d + %d: each deposit credited exactly once", got, before, credited)
		}
		e.verify(t)
	})
}

func TestDecisions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		dep := e.deposit(t, e.zorro, 50_000, "bni")
		wd := e.withdraw(t, e.zorro, 100_000, "Zorro Tan")
		held := e.balance(t, e.zorro) // 400.000 after the hold

		// Without a comment nothing happens.
		status, body := e.call(t, operator.Finance, "POST", "/api/admin/transactions/"+dep.Reference+"/reject", `{}`)
		if er := decodeJSON[apiErr](t, body); status != 400 || er.Error.Field != "comment" {
			t.Errorf("reject without comment: %d %s, want 400 about comment", status, body)
		}
		status, body = e.call(t, operator.Finance, "POST", "/api/admin/transactions/"+dep.Reference+"/reject", `{"comment":7}`)
		if er := decodeJSON[apiErr](t, body); status != 400 || er.Error.Field != "comment" {
			t.Errorf("reject with a number as comment: %d %s, want 400 about comment", status, body)
		}
		// Reject, then accept after reject: 409, no money.
		status, body = e.call(t, operator.Finance, "POST", "/api/admin/transactions/"+dep.Reference+"/reject", `{"comment":"tidak ada dana masuk"}`)
		if status != 200 || !strings.Contains(body, `"status":"expired"`) {
			t.Fatalf("reject deposit: %d %s", status, body)
		}
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/transactions/"+dep.Reference+"/accept", `{"comment":"ternyata masuk"}`)
		if er := decodeJSON[apiErr](t, body); status != 409 || er.Error.Code != "conflict" {
			t.Errorf("accept after reject: %d %s, want 409 conflict", status, body)
		}
		if got := e.balance(t, e.zorro); got != held {
			t.Errorf("balance %d after a rejected deposit, want %d", got, held)
		}
		// Reject the withdrawal: the held amount returns.
		status, body = e.call(t, operator.Finance, "POST", "/api/admin/transactions/"+wd.Reference+"/reject", `{"comment":"nama rekening tidak cocok"}`)
		if status != 200 || !strings.Contains(body, `"status":"failed"`) {
			t.Fatalf("reject withdrawal: %d %s", status, body)
		}
		if got := e.balance(t, e.zorro); got != held+100_000 {
			t.Errorf("balance %d after a rejected withdrawal, want %d", got, held+100_000)
		}
		got, err := e.funds.Find(ctx, wd.Reference)
		if err != nil || got.Reason != "nama rekening tidak cocok" {
			t.Errorf("rejected withdrawal = %+v, %v; want the comment as its reason", got, err)
		}
		// Accept another withdrawal: the money leaves to the bank.
		wd2 := e.withdraw(t, e.zorro, 70_000, "Zorro Tan")
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/transactions/"+wd2.Reference+"/accept", `{"comment":"transfer BCA 21/11"}`)
		if status != 200 {
			t.Fatalf("accept withdrawal: %d %s", status, body)
		}
		if got := e.balance(t, e.zorro); got != held+100_000-70_000 {
			t.Errorf("balance %d after an accepted withdrawal, want %d", got, held+30_000)
		}
		// Unknown reference.
		status, _ = e.call(t, operator.Admin, "POST", "/api/admin/transactions/DEP2611210000000/accept", `{"comment":"x"}`)
		if status != 404 {
			t.Errorf("unknown reference: %d, want 404", status)
		}
		// The audit log has exactly one row per change, with the operator and the comment.
		for _, c := range []struct{ action, ref, op, comment, before, after string }{
			{"transaction.reject", dep.Reference, "op-finance", "tidak ada dana masuk", `"status":"unpaid"`, `"status":"expired"`},
			{"transaction.reject", wd.Reference, "op-finance", "nama rekening tidak cocok", `"status":"processing"`, `"status":"failed"`},
			{"transaction.accept", wd2.Reference, "op-admin", "transfer BCA 21/11", `"status":"processing"`, `"status":"success"`},
		} {
			var n int
			var op, comment, before, after string
			if err := d.QueryRow(ctx, `SELECT COUNT(*), MIN(operator), MIN(comment), MIN(before_json), MIN(after_json)
				FROM audit_log WHERE action = ? AND target = ?`, c.action, c.ref).Scan(&n, &op, &comment, &before, &after); err != nil {
				t.Fatal(err)
			}
			if n != 1 || op != c.op || comment != c.comment || !strings.Contains(before, c.before) || !strings.Contains(after, c.after) {
				t.Errorf("audit of %s %s: %d rows, %s %q %s → %s", c.action, c.ref, n, op, comment, before, after)
			}
		}
		if got := e.auditCount(t, "transaction.accept", dep.Reference); got != 0 {
			t.Errorf("the refused accept wrote %d audit rows", got)
		}
		e.verify(t)
	})
}

func TestBulk(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var good, decided []funding.Transaction
		for range 3 {
			good = append(good, e.deposit(t, e.zorro, 20_000, "bca"))
		}
		for range 2 {
			dep := e.deposit(t, e.zorro, 30_000, "bri")
			if _, err := e.funds.Reject(context.Background(), dep.Reference, "someone", "earlier"); err != nil {
				t.Fatal(err)
			}
			decided = append(decided, dep)
		}
		before := e.balance(t, e.zorro)
		var items []string
		var want int64
		for i, dep := range []funding.Transaction{good[0], decided[0], good[1], decided[1], good[2]} {
			items = append(items, fmt.Sprintf(`{"reference":%q,"action":"accept","comment":"bulk %d"}`, dep.Reference, i))
		}
		for _, g := range good {
			want += g.Price
		}
		status, body := e.call(t, operator.Finance, "POST", "/api/admin/transactions/bulk", `{"items":[`+strings.Join(items, ",")+`]}`)
		if status != 200 {
			t.Fatalf("bulk: %d %s", status, body)
		}
		res := decodeJSON[struct {
			Done   int `json:"done"`
			Failed int `json:"failed"`
			Items  []struct {
				Reference string  `json:"reference"`
				OK        bool    `json:"ok"`
				Error     *apiErr `json:"error"`
			} `json:"items"`
		}](t, body)
		if res.Done != 3 || res.Failed != 2 || len(res.Items) != 5 {
			t.Fatalf("bulk = %s, want 3 done and 2 failed", body)
		}
		for i, okWant := range []bool{true, false, true, false, true} {
			if res.Items[i].OK != okWant {
				t.Errorf("item %d (%s): ok=%v, want %v", i, res.Items[i].Reference, res.Items[i].OK, okWant)
			}
		}
		if !strings.Contains(body, `"code":"conflict"`) {
			t.Errorf("failed items do not say conflict: %s", body)
		}
		if got := e.balance(t, e.zorro); got != before+want {
			t.Errorf("balance %d, want %d: money for the 3 good items only", got, before+want)
		}
		var audited int
		if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM audit_log WHERE action = 'transaction.accept'").Scan(&audited); err != nil {
			t.Fatal(err)
		}
		if audited != 3 {
			t.Errorf("%d audit rows, want 3", audited)
		}

		// More than 25 items: 422 and nothing done, even for good items.
		fresh := e.deposit(t, e.zorro, 40_000, "bca")
		items = items[:0]
		for i := range 26 {
			items = append(items, fmt.Sprintf(`{"reference":%q,"action":"accept","comment":"c%d"}`, fresh.Reference, i))
		}
		status, body = e.call(t, operator.Finance, "POST", "/api/admin/transactions/bulk", `{"items":[`+strings.Join(items, ",")+`]}`)
		if er := decodeJSON[apiErr](t, body); status != 422 || er.Error.Code != "too_many_items" {
			t.Errorf("26 items: %d %s, want 422 too_many_items", status, body)
		}
		if got, _ := e.funds.Find(context.Background(), fresh.Reference); got.Status != funding.Unpaid {
			t.Errorf("after a refused bulk the deposit is %s, want unpaid", got.Status)
		}
		e.verify(t)
	})
}

func TestReviewQueueFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ayu := e.member(t, "ayu", "", 300_000)
		d1 := e.deposit(t, e.zorro, 10_000, "bca")
		e.clock.Add(24 * time.Hour) // the next day, in WIB too
		d2 := e.deposit(t, ayu, 20_000, "bni")
		e.clock.Add(time.Minute)
		w1 := e.withdraw(t, ayu, 50_000, "Ayu Lestari")
		e.clock.Add(time.Minute)
		w2 := e.withdraw(t, e.zorro, 60_000, "Zorro Tan")
		if _, err := e.funds.AcceptWithdrawal(context.Background(), w2.Reference, "earlier"); err != nil {
			t.Fatal(err)
		}
		day1 := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		day2 := "2026-11-22"
		for _, tc := range []struct {
			query string
			refs  []string // newest first
			sum   int64
		}{
			{"", []string{w1.Reference, d2.Reference, d1.Reference}, w1.Price + d2.Price + d1.Price},
			{"?status=all", []string{w2.Reference, w1.Reference, d2.Reference, d1.Reference}, w2.Price + w1.Price + d2.Price + d1.Price},
			{"?status=success", []string{w2.Reference}, w2.Price},
			{"?type=deposit", []string{d2.Reference, d1.Reference}, d2.Price + d1.Price},
			{"?type=withdraw&status=all", []string{w2.Reference, w1.Reference}, w2.Price + w1.Price},
			{"?via=bni", []string{d2.Reference}, d2.Price},
			{"?bank=bca&type=withdraw", []string{w1.Reference}, w1.Price},
			{"?account_name=lestari", []string{w1.Reference}, w1.Price},
			{"?account_name=%25", nil, 0},
			{"?member=AYU", []string{w1.Reference, d2.Reference}, w1.Price + d2.Price},
			{"?from=" + day1 + "&to=" + day1, []string{d1.Reference}, d1.Price},
			{"?from=" + day2, []string{w1.Reference, d2.Reference}, w1.Price + d2.Price},
		} {
			status, body := e.call(t, operator.Viewer, "GET", "/api/admin/transactions"+tc.query, "")
			if status != 200 {
				t.Errorf("%s: %d %s", tc.query, status, body)
				continue
			}
			l := decodeJSON[struct {
				Data []struct {
					Reference   string `json:"reference"`
					Member      string `json:"member"`
					Destination struct {
						Bank string `json:"bank"`
					} `json:"destination"`
				} `json:"data"`
				TotalRows       int64 `json:"total_rows"`
				TotalAmountPage int64 `json:"total_amount_page"`
				TotalAmountAll  int64 `json:"total_amount_all"`
			}](t, body)
			var refs []string
			for _, r := range l.Data {
				refs = append(refs, r.Reference)
				if r.Member == "" || r.Destination.Bank == "" {
					t.Errorf("%s: row without member or destination: %+v", tc.query, r)
				}
			}
			if strings.Join(refs, " ") != strings.Join(tc.refs, " ") || l.TotalRows != int64(len(tc.refs)) ||
				l.TotalAmountAll != tc.sum || l.TotalAmountPage != tc.sum {
				t.Errorf("%s: %v rows=%d page=%d all=%d; want %v sum %d", tc.query, refs, l.TotalRows,
					l.TotalAmountPage, l.TotalAmountAll, tc.refs, tc.sum)
			}
		}
		for _, q := range []string{"?type=order", "?status=paid", "?from=yesterday"} {
			if status, body := e.call(t, operator.Viewer, "GET", "/api/admin/transactions"+q, ""); status != 400 {
				t.Errorf("%s: %d %s, want 400", q, status, body)
			}
		}
	})
}

func TestReviewRowShape(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		dep := e.deposit(t, e.zorro, 150_000, "bca")
		wd := e.withdraw(t, e.zorro, 25_000, "Zorro Tan")
		_, body := e.call(t, operator.Viewer, "GET", "/api/admin/transactions", "")
		body = strings.ReplaceAll(strings.ReplaceAll(body, dep.Reference, "DEP-REFERENCE"), wd.Reference, "WD-REFERENCE")
		golden(t, "transactions_list.json", body)
	})
}
