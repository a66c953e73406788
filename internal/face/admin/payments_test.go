package admin_test

import (
	"context"
	"fmt"
	"log/slog"
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

// payEnv is env with the payment services and a server that has them.
func init() {
	roleMatrix = append(roleMatrix,
		endpoint{"incoming", "POST", "/api/admin/incoming", `{}`, money},
		endpoint{"incoming", "GET", "/api/admin/incoming", "", readMoney},
		endpoint{"incoming", "POST", "/api/admin/incoming/999/assign", `{}`, money},
		endpoint{"incoming", "GET", "/api/admin/payments", "", readMoney},
	)
}

type payEnv struct {
	*env
	payments *payment.Service
	incoming *incoming.Service
	stores   *payment.Stores
}

func newPayEnv(t *testing.T, d *db.DB) *payEnv {
	t.Helper()
	e := &payEnv{env: newEnv(t, d)}
	e.stores = payment.NewStores(d, e.clock.Now)
	var err error
	if e.payments, err = payment.New(d, e.stores, payment.Options{Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.incoming = incoming.New(d, e.payments, e.funds, e.clock.Now, nil)
	srv := httptest.NewServer(server.New(server.Deps{
		Logger: slog.New(slog.DiscardHandler), DB: d, Members: e.members,
		Limiter: ratelimit.New(1000, 1000, e.clock.Now), Metrics: server.NewMetrics(), Now: e.clock.Now,
		Funding: e.funds, Operators: e.ops, Payments: e.payments, Incoming: e.incoming,
	}))
	t.Cleanup(srv.Close)
	e.srv = srv // env.call and env.raw use it
	return e
}

func (e *payEnv) invoice(t *testing.T, memberID, storeID, amount int64) payment.Invoice {
	t.Helper()
	inv, _, err := e.payments.Create(context.Background(), memberID, payment.NewInvoice{StoreID: storeID, Amount: amount})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (e *payEnv) post(t *testing.T, storeID, amount int64, externalID string) incoming.Result {
	t.Helper()
	res, err := e.incoming.Post(context.Background(), incoming.Record{Channel: fmt.Sprintf("qris:%d", storeID), Amount: amount,
		ReceivedAt: e.clock.Now(), ExternalID: externalID}, "feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

type incomingList struct {
	Data []struct {
		ID         int64  `json:"id"`
		Channel    string `json:"channel"`
		ExternalID string `json:"external_id"`
		Amount     int64  `json:"amount"`
		Status     string `json:"status"`
		Reference  string `json:"reference"`
		Reason     string `json:"reason"`
		PostedBy   string `json:"posted_by"`
	} `json:"data"`
	Page            int   `json:"page"`
	PerPage         int   `json:"per_page"`
	TotalRows       int64 `json:"total_rows"`
	TotalPages      int64 `json:"total_pages"`
	TotalAmountPage int64 `json:"total_amount_page"`
	TotalAmountAll  int64 `json:"total_amount_all"`
}

type paymentList struct {
	Data []struct {
		Invoice     string `json:"invoice"`
		StoreID     int64  `json:"store_id"`
		Member      string `json:"member"`
		TotalAmount int64  `json:"total_amount"`
		Fee         int64  `json:"fee"`
		Status      string `json:"status"`
		Late        bool   `json:"late"`
		PaidBy      string `json:"paid_by"`
		PaidAt      string `json:"paid_at"`
	} `json:"data"`
	TotalRows       int64 `json:"total_rows"`
	TotalPages      int64 `json:"total_pages"`
	TotalAmountPage int64 `json:"total_amount_page"`
	TotalAmountAll  int64 `json:"total_amount_all"`
}

// TestIncomingListAndAssign: unmatched records are listed with their
// sums; an operator of a money role assigns one to the invoice it was
// meant for, with a comment, once: the invoice is paid (late) and settled,
// one audit entry is written, and every refusal leaves everything as it
// was.
func TestIncomingListAndAssign(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newPayEnv(t, d)
		ctx := context.Background()
		yuli := e.member(t, "yuli", "", 0)
		a, err := e.stores.Add(ctx, payment.NewStore{MemberID: e.zorro.ID, Name: "Toko Zorro", FeeFlat: 100})
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.stores.Add(ctx, payment.NewStore{MemberID: yuli.ID, Name: "Toko Yuli"})
		if err != nil {
			t.Fatal(err)
		}
		inv1 := e.invoice(t, e.zorro.ID, a.ID, 10_000)
		inv2 := e.invoice(t, e.zorro.ID, a.ID, 20_000)
		inv3 := e.invoice(t, e.zorro.ID, a.ID, 30_000)
		inv4 := e.invoice(t, yuli.ID, b.ID, 30_000)
		e.clock.Add(time.Minute)
		if res := e.post(t, a.ID, inv1.Total, "ACQ-1"); res.Status != incoming.Matched {
			t.Fatalf("inv1: %+v", res)
		}
		e.clock.Add(2*time.Hour + time.Minute) // past expiry and the grace period
		late := e.post(t, a.ID, inv3.Total, "ACQ-2")
		off := e.post(t, a.ID, inv2.Total+1, "ACQ-3")
		if late.Status != incoming.Unmatched || off.Status != incoming.Unmatched {
			t.Fatalf("late %+v, off %+v", late, off)
		}

		status, body := e.call(t, operator.Viewer, "GET", "/api/admin/incoming?status=unmatched&per_page=1", "")
		l := decodeJSON[incomingList](t, body)
		if status != 200 || l.TotalRows != 2 || l.TotalPages != 2 || len(l.Data) != 1 || l.Data[0].ID != off.ID ||
			l.TotalAmountPage != inv2.Total+1 || l.TotalAmountAll != inv2.Total+1+inv3.Total || l.Data[0].PostedBy != "feed" {
			t.Fatalf("unmatched list: %d %s", status, body)
		}
		pinned := strings.Replace(body, fmt.Sprintf(`"amount":%d,`, inv2.Total+1), `"amount":20388,`, 1)
		pinned = strings.Replace(pinned, fmt.Sprintf(`"total_amount_page":%d,`, inv2.Total+1), `"total_amount_page":20388,`, 1)
		pinned = strings.Replace(pinned, fmt.Sprintf(`"total_amount_all":%d`, inv2.Total+1+inv3.Total), `"total_amount_all":50775`, 1)
		golden(t, "incoming_unmatched.json", pinned)
		if status, body := e.call(t, operator.Finance, "GET", "/api/admin/incoming?status=odd", ""); status != 400 || !strings.Contains(body, `"field":"status"`) {
			t.Fatalf("bad status: %d %s", status, body)
		}

		path := fmt.Sprintf("/api/admin/incoming/%d/assign", late.ID)
		good := `{"reference":"` + inv3.Invoice + `","comment":"customer paid after expiry, confirmed by phone"}`
		for _, role := range []operator.Role{operator.Viewer, operator.Catalog} {
			if status, _ := e.call(t, role, "POST", path, good); status != 403 {
				t.Fatalf("%s: %d, want 403", role, status)
			}
		}
		refusals := []struct {
			name, path, body string
			status           int
			field            string
		}{
			{"no comment", path, `{"reference":"` + inv3.Invoice + `"}`, 400, "comment"},
			{"no reference", path, `{"comment":"x"}`, 400, "reference"},
			{"another store's invoice", path, `{"reference":"` + inv4.Invoice + `","comment":"x"}`, 404, "reference"},
			{"amount is not the total", fmt.Sprintf("/api/admin/incoming/%d/assign", off.ID), `{"reference":"` + inv2.Invoice + `","comment":"x"}`, 400, "reference"},
			{"paid invoice", path, `{"reference":"` + inv1.Invoice + `","comment":"x"}`, 409, "reference"},
			{"matched record", fmt.Sprintf("/api/admin/incoming/%d/assign", late.ID-1), `{"reference":"` + inv3.Invoice + `","comment":"x"}`, 409, "id"},
			{"unknown record", "/api/admin/incoming/999999/assign", good, 404, "id"},
			{"id not a number", "/api/admin/incoming/x/assign", good, 400, "id"},
		}
		before := e.balance(t, e.zorro)
		for _, c := range refusals {
			status, body := e.call(t, operator.Finance, "POST", c.path, c.body)
			er := decodeJSON[apiErr](t, body)
			if status != c.status || er.Error.Field != c.field {
				t.Errorf("%s: %d %s, want %d about %s", c.name, status, body, c.status, c.field)
			}
		}
		if got := e.balance(t, e.zorro); got != before {
			t.Fatalf("refusals moved money: %d → %d", before, got)
		}

		status, body = e.call(t, operator.Finance, "POST", path, good)
		if status != 200 || body != `{"matched":{"reference":"`+inv3.Invoice+`"}}` {
			t.Fatalf("assign: %d %s", status, body)
		}
		if status, body := e.call(t, operator.Admin, "POST", path, good); status != 409 {
			t.Fatalf("assign again: %d %s", status, body)
		}
		if got := e.balance(t, e.zorro); got != before+inv3.Total-100 {
			t.Fatalf("balance %d, want %d (credited once, less the fee)", got, before+inv3.Total-100)
		}
		paid, err := e.payments.Get(ctx, inv3.Invoice)
		if err != nil || paid.Status != payment.Paid || !paid.Late || paid.PaidBy != incoming.Actor(late.ID) {
			t.Fatalf("invoice after assign: %+v %v", paid, err)
		}
		if n := e.auditCount(t, "incoming.assign", fmt.Sprint(late.ID)); n != 1 {
			t.Fatalf("%d audit entries, want 1", n)
		}
		_, body = e.call(t, operator.Viewer, "GET", "/api/admin/incoming?status=unmatched", "")
		if l := decodeJSON[incomingList](t, body); l.TotalRows != 1 || l.Data[0].ID != off.ID {
			t.Fatalf("unmatched after assign: %s", body)
		}

		// A bank record cannot be assigned to an invoice.
		bank, err := e.incoming.Post(ctx, incoming.Record{Channel: "bank:bca", Amount: 12_345, ReceivedAt: e.clock.Now(), ExternalID: "MUT-1"}, "feed", nil)
		if err != nil || bank.Status != incoming.Unmatched {
			t.Fatalf("bank record: %+v %v", bank, err)
		}
		status, body = e.call(t, operator.Finance, "POST", fmt.Sprintf("/api/admin/incoming/%d/assign", bank.ID), `{"reference":"`+inv2.Invoice+`","comment":"x"}`)
		if status != 400 || !strings.Contains(body, `"field":"id"`) {
			t.Fatalf("bank record assign: %d %s", status, body)
		}
		e.verify(t)
	})
}

// TestPaymentsList: invoices by store, member, status (judged now) and
// day, newest first, with per-page and overall sums of total_amount.
func TestPaymentsList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newPayEnv(t, d)
		ctx := context.Background()
		yuli := e.member(t, "yuli", "", 0)
		a, err := e.stores.Add(ctx, payment.NewStore{MemberID: e.zorro.ID, Name: "Toko Zorro"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.stores.Add(ctx, payment.NewStore{MemberID: yuli.ID, Name: "Toko Yuli"})
		if err != nil {
			t.Fatal(err)
		}
		day := e.clock.Now().In(time.FixedZone("WIB", 7*3600)).Format(time.DateOnly)
		paid := e.invoice(t, e.zorro.ID, a.ID, 10_000)
		expired := e.invoice(t, e.zorro.ID, a.ID, 20_000)
		other := e.invoice(t, yuli.ID, b.ID, 30_000)
		e.post(t, a.ID, paid.Total, "ACQ-1")
		e.clock.Add(61 * time.Minute) // expired (the worker has not run: judged now)
		open := e.invoice(t, e.zorro.ID, a.ID, 40_000)

		cases := []struct {
			query    string
			invoices []string // newest first
			pageSum  int64
		}{
			{"", []string{open.Invoice, other.Invoice, expired.Invoice, paid.Invoice}, 0},
			{fmt.Sprintf("?store=%d", a.ID), []string{open.Invoice, expired.Invoice, paid.Invoice}, 0},
			{"?member=yuli", []string{other.Invoice}, 0},
			{"?member=nobody", nil, 0},
			{"?status=paid", []string{paid.Invoice}, 0},
			{fmt.Sprintf("?store=%d&status=unpaid", a.ID), []string{open.Invoice}, 0},
			{"?status=expired", []string{other.Invoice, expired.Invoice}, 0},
			{"?status=ALL&from=" + day + "&to=" + day, []string{open.Invoice, other.Invoice, expired.Invoice, paid.Invoice}, 0},
			{"?from=2099-01-01", nil, 0},
			{"?store=" + fmt.Sprint(a.ID) + "&per_page=2&page=2", []string{paid.Invoice}, -1},
		}
		totals := map[string]int64{paid.Invoice: paid.Total, expired.Invoice: expired.Total, other.Invoice: other.Total, open.Invoice: open.Total}
		for _, c := range cases {
			status, body := e.call(t, operator.Viewer, "GET", "/api/admin/payments"+c.query, "")
			l := decodeJSON[paymentList](t, body)
			var got []string
			var pageSum int64
			for _, r := range l.Data {
				got = append(got, r.Invoice)
				pageSum += r.TotalAmount
			}
			if status != 200 || fmt.Sprint(got) != fmt.Sprint(c.invoices) || l.TotalAmountPage != pageSum {
				t.Errorf("%q: %d %v (page sum %d), want %v\n%s", c.query, status, got, l.TotalAmountPage, c.invoices, body)
			}
			if c.pageSum == 0 { // the whole selection is on the page
				var all int64
				for _, inv := range c.invoices {
					all += totals[inv]
				}
				if l.TotalAmountAll != all || l.TotalRows != int64(len(c.invoices)) {
					t.Errorf("%q: total_amount_all %d, total_rows %d; want %d, %d", c.query, l.TotalAmountAll, l.TotalRows, all, len(c.invoices))
				}
			} else if l.TotalRows != 3 || l.TotalPages != 2 || l.TotalAmountAll != paid.Total+expired.Total+open.Total {
				t.Errorf("%q: %s", c.query, body)
			}
		}
		_, body := e.call(t, operator.Viewer, "GET", "/api/admin/payments?status=paid", "")
		pinned := strings.ReplaceAll(body, paid.Invoice, "INV20261121123456")
		pinned = strings.Replace(pinned, fmt.Sprintf(`"unique_code":%d,"total_amount":%d`, paid.UniqueCode, paid.Total), `"unique_code":387,"total_amount":10387`, 1)
		pinned = strings.Replace(pinned, fmt.Sprintf(`"total_amount_page":%d,"total_amount_all":%d`, paid.Total, paid.Total), `"total_amount_page":10387,"total_amount_all":10387`, 1)
		golden(t, "payments_paid.json", pinned)
		if r := decodeJSON[paymentList](t, body).Data[0]; r.Status != "paid" || r.Member != "zorro" || r.StoreID != a.ID || r.PaidAt == "" || r.PaidBy == "" {
			t.Fatalf("paid row: %s", body)
		}
		for _, c := range []struct{ query, field string }{
			{"?status=cancelled", "status"}, {"?store=abc", "store"}, {"?store=-1", "store"}, {"?from=21-11-2026", "from"}, {"?per_page=1001", "per_page"},
		} {
			status, body := e.call(t, operator.Finance, "GET", "/api/admin/payments"+c.query, "")
			if er := decodeJSON[apiErr](t, body); status != 400 || er.Error.Field != c.field {
				t.Errorf("%q: %d %s, want 400 about %s", c.query, status, body, c.field)
			}
		}
		if status, _ := e.call(t, operator.Catalog, "GET", "/api/admin/payments", ""); status != 403 {
			t.Fatalf("catalog: %d, want 403", status)
		}
		e.verify(t)
	})
}
