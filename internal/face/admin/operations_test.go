package admin_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
	"kios/internal/operator"
	"kios/internal/order"
)

func init() {
	roleMatrix = append(roleMatrix,
		endpoint{"orders", "GET", "/api/admin/orders?stuck=1", "", readMoney},
		endpoint{"orders", "POST", "/api/admin/orders/TRX000/resolve", `{}`, money},
		endpoint{"stats", "GET", "/api/admin/stats", "", all},
		endpoint{"webhooks", "GET", "/api/admin/webhooks", "", readMoney},
		endpoint{"webhooks", "GET", "/api/admin/webhooks/1", "", readMoney},
		endpoint{"webhooks", "POST", "/api/admin/webhooks/1/redeliver", `{}`, onlyAdmin},
		endpoint{"banks", "GET", "/api/admin/banks", "", readMoney},
		endpoint{"banks", "PUT", "/api/admin/banks", `{}`, money},
	)
}

// orders places n orders of GAME-10 (price 1.000, cost 900 at sim-a) for
// zorro; with no worker running they stay processing.
func (e *env) placeOrders(t *testing.T, n int) []order.Order {
	t.Helper()
	ctx := context.Background()
	if _, err := e.cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true,
		Forms: []catalog.Field{{Label: "User ID", Key: "id", Type: catalog.Text}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.AddProduct(ctx, catalog.NewProduct{Code: "GAME-10", Name: "10 Gems", Provider: "GAME", Active: true,
		Prices: map[string]int64{"reseller": 1000},
		SKUs:   []catalog.SKU{{Supplier: "sim-a", SKU: "A10", Cost: 900, Active: true}}}); err != nil {
		t.Fatal(err)
	}
	var out []order.Order
	for i := range n {
		body := map[string]any{"id": fmt.Sprint(1000 + i)}
		o, _, err := e.orders.Create(ctx, e.zorro, order.Request{ProductCode: "GAME-10", Form: body, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
		e.clock.Add(time.Second)
	}
	return out
}

func TestStuckOrdersAndResolve(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		if err := e.hooks.SetURL(ctx, e.zorro.ID, "https://example.com/hook"); err != nil {
			t.Fatal(err)
		}
		os := e.placeOrders(t, 4)
		status, body := e.call(t, operator.Viewer, "GET", "/api/admin/orders?stuck=1", "")
		if status != 200 || !strings.Contains(body, `"total_rows":0`) {
			t.Errorf("stuck before the bound: %d %s", status, body)
		}
		e.clock.Add(2 * time.Hour)
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/orders?stuck=1", "")
		if status != 200 || !strings.Contains(body, `"total_rows":4`) || !strings.Contains(body, `"total_amount_all":4000`) ||
			!strings.HasPrefix(body[strings.Index(body, `"reference"`):], `"reference":"`+os[0].Reference) {
			t.Errorf("stuck after the bound: %d %s; want 4, the oldest first", status, body)
		}
		balance := e.balance(t, e.zorro)

		for _, tc := range []struct {
			body   string
			status int
			field  string
		}{
			{`{"status":"success","comment":"cek manual"}`, 400, "sn"},
			{`{"status":"pending","comment":"x"}`, 400, "status"},
			{`{"status":"success","sn":"SN1"}`, 400, "comment"},
		} {
			status, body := e.call(t, operator.Finance, "POST", "/api/admin/orders/"+os[0].Reference+"/resolve", tc.body)
			if er := decodeJSON[apiErr](t, body); status != tc.status || er.Error.Field != tc.field {
				t.Errorf("resolve %s: %d %s, want %d about %s", tc.body, status, body, tc.status, tc.field)
			}
		}
		status, body = e.call(t, operator.Finance, "POST", "/api/admin/orders/"+os[0].Reference+"/resolve",
			`{"status":"success","sn":"SN-0001","comment":"cek di dashboard supplier"}`)
		if status != 200 || !strings.Contains(body, `"status":"success"`) || !strings.Contains(body, `"sn":"SN-0001"`) {
			t.Fatalf("resolve success: %d %s", status, body)
		}
		status, body = e.call(t, operator.Finance, "POST", "/api/admin/orders/"+os[1].Reference+"/resolve",
			`{"status":"failed","comment":"supplier bilang gagal"}`)
		if status != 200 || !strings.Contains(body, `"status":"failed"`) {
			t.Fatalf("resolve failed: %d %s", status, body)
		}
		if got := e.balance(t, e.zorro); got != balance+1000 {
			t.Errorf("balance %d after a refund, want %d", got, balance+1000)
		}
		// Settled already: 409, nothing moves.
		status, _ = e.call(t, operator.Admin, "POST", "/api/admin/orders/"+os[1].Reference+"/resolve",
			`{"status":"failed","comment":"again"}`)
		if status != 409 {
			t.Errorf("resolve twice: %d, want 409", status)
		}
		if got := e.balance(t, e.zorro); got != balance+1000 {
			t.Errorf("balance %d after a refused second refund, want %d", got, balance+1000)
		}
		if status, _ := e.call(t, operator.Admin, "POST", "/api/admin/orders/TRX000/resolve", `{"status":"failed","comment":"x"}`); status != 404 {
			t.Errorf("unknown order: %d, want 404", status)
		}
		// Two operators at the same instant: one refund.
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i, role := range []operator.Role{operator.Admin, operator.Finance} {
			wg.Go(func() {
				statuses[i], _ = e.call(t, role, "POST", "/api/admin/orders/"+os[2].Reference+"/resolve", `{"status":"failed","comment":"race"}`)
			})
		}
		wg.Wait()
		if !(statuses[0] == 200 && statuses[1] == 409 || statuses[0] == 409 && statuses[1] == 200) {
			t.Errorf("concurrent resolve: %v, want one 200 and one 409", statuses)
		}
		if got := e.balance(t, e.zorro); got != balance+2000 {
			t.Errorf("balance %d after a concurrent refund, want %d", got, balance+2000)
		}
		for _, c := range []struct{ ref, after string }{{os[0].Reference, `"sn":"SN-0001"`}, {os[1].Reference, `"status":"failed"`}} {
			op, _, before, after := e.auditOf(t, "order.resolve", c.ref)
			if op != "op-finance" || !strings.Contains(before, `"status":"processing"`) || !strings.Contains(after, c.after) {
				t.Errorf("resolve audit of %s: %s %s → %s", c.ref, op, before, after)
			}
		}
		e.auditOf(t, "order.resolve", os[2].Reference)
		rev, err := ledger.Balance(ctx, d, ledger.Stripe(ledger.Revenue, os[0].Reference))
		if err != nil || rev != 100 {
			t.Errorf("revenue of the resolved success: %d, %v; want the margin 100", rev, err)
		}
		if o, _ := e.orders.ByReference(ctx, os[0].Reference); o.SN != "SN-0001" || o.Status != order.Success {
			t.Errorf("resolved order = %+v", o)
		}
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/orders?stuck=1", "")
		if !strings.Contains(body, `"total_rows":1`) || !strings.Contains(body, os[3].Reference) {
			t.Errorf("stuck after resolving three: %d %s", status, body)
		}
		e.verify(t)

		// The member's webhooks were written with the settlements.
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/webhooks?status=pending", "")
		if status != 200 || !strings.Contains(body, `"total_rows":3`) || !strings.Contains(body, `"webhook_type":"transaction_status"`) {
			t.Errorf("webhooks: %d %s", status, body)
		}

		// Stats: today (WIB) 1 success, 2 failed, 1 processing; sim-a 1 of 3.
		status, body = e.call(t, operator.Catalog, "GET", "/api/admin/stats", "")
		st := decodeJSON[struct {
			Data struct {
				Days []struct {
					Day    string `json:"day"`
					Status string `json:"status"`
					Count  int64  `json:"count"`
					Amount int64  `json:"amount"`
				} `json:"days"`
				Suppliers []struct {
					Supplier    string  `json:"supplier"`
					Settled     int64   `json:"settled"`
					Success     int64   `json:"success"`
					SuccessRate float64 `json:"success_rate"`
				} `json:"suppliers"`
			} `json:"data"`
		}](t, body)
		var got []string
		for _, d := range st.Data.Days {
			got = append(got, fmt.Sprintf("%s %s %d %d", d.Day, d.Status, d.Count, d.Amount))
		}
		want := "2026-11-21 failed 2 2000|2026-11-21 processing 1 1000|2026-11-21 success 1 1000"
		if status != 200 || strings.Join(got, "|") != want {
			t.Errorf("stats days: %d %q, want %q", status, got, want)
		}
		if len(st.Data.Suppliers) != 1 || st.Data.Suppliers[0].Supplier != "sim-a" || st.Data.Suppliers[0].Settled != 3 ||
			st.Data.Suppliers[0].SuccessRate != 0.3333 {
			t.Errorf("stats suppliers: %s", body)
		}
		if status, _ := e.call(t, operator.Viewer, "GET", "/api/admin/stats?from=2026-12-01", ""); status != 400 {
			t.Errorf("stats from after to: %d, want 400", status)
		}
	})
}

func TestWebhookRedeliver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		if err := e.hooks.SetURL(ctx, e.zorro.ID, "https://example.com/hook"); err != nil {
			t.Fatal(err)
		}
		id, err := e.hooks.SendTest(ctx, e.zorro.ID)
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/api/admin/webhooks/%d", id)
		if status, body := e.call(t, operator.Admin, "POST", path+"/redeliver", `{"comment":"kirim ulang"}`); status != 409 {
			t.Errorf("redeliver a pending message: %d %s, want 409", status, body)
		}
		// What the delivery worker records when it gives up (the worker
		// itself is tested in internal/webhook).
		if err := d.Write(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec("UPDATE webhook_messages SET status = 'failed', attempts = 1 WHERE id = ?", id); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT INTO webhook_attempts (message_id, n, at, http_status, latency_us, error, response)
				VALUES (?, 1, ?, 500, 1200, 'HTTP 500', 'down')`, id, e.clock.Now().UnixMicro())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		status, body := e.call(t, operator.Viewer, "GET", "/api/admin/webhooks?status=failed", "")
		if status != 200 || !strings.Contains(body, `"total_rows":1`) || !strings.Contains(body, `"http_status":500`) ||
			!strings.Contains(body, `"response":"down"`) || !strings.Contains(body, `"member":"zorro"`) {
			t.Errorf("failed deliveries: %d %s", status, body)
		}
		status, body = e.call(t, operator.Viewer, "GET", path, "")
		if status != 200 || !strings.Contains(body, `"attempts":[{"n":1`) {
			t.Errorf("attempts: %d %s", status, body)
		}
		if status, body := e.call(t, operator.Admin, "POST", path+"/redeliver", `{"comment":"receiver is back"}`); status != 200 {
			t.Fatalf("redeliver: %d %s", status, body)
		}
		if m, err := e.hooks.Message(ctx, id); err != nil || m.Status != "pending" || m.Attempts != 0 {
			t.Errorf("after redeliver: %+v %v", m, err)
		}
		if _, comment, before, after := e.auditOf(t, "webhook.redeliver", fmt.Sprint(id)); comment != "receiver is back" ||
			before != `{"status":"failed"}` || after != `{"status":"pending"}` {
			t.Errorf("redeliver audit: %q %s → %s", comment, before, after)
		}
		for _, p := range []string{"/api/admin/webhooks/999/redeliver", "/api/admin/webhooks/999"} {
			method := "GET"
			if strings.HasSuffix(p, "redeliver") {
				method = "POST"
			}
			if status, body := e.call(t, operator.Admin, method, p, `{"comment":"x"}`); status != 404 {
				t.Errorf("%s: %d %s, want 404", p, status, body)
			}
		}
		if status, _ := e.call(t, operator.Admin, "GET", "/api/admin/webhooks/abc", ""); status != 400 {
			t.Errorf("non-numeric id: %d, want 400", status)
		}
	})
}

func TestBanks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		status, body := e.call(t, operator.Viewer, "GET", "/api/admin/banks", "")
		if status != 200 || !strings.Contains(body, `"code":"bca"`) || !strings.Contains(body, `"account_number":"8830123456"`) {
			t.Fatalf("banks: %d %s", status, body)
		}
		status, body = e.call(t, operator.Finance, "PUT", "/api/admin/banks",
			`{"code":"bca","account_number":"8830999999","account_name":"PT Kios Baru","comment":"rekening baru"}`)
		if status != 200 || !strings.Contains(body, `"name":"Bank BCA"`) || !strings.Contains(body, `"active":true`) {
			t.Fatalf("put bca: %d %s", status, body)
		}
		_, comment, before, after := e.auditOf(t, "bank.set", "bca")
		if comment != "rekening baru" || !strings.Contains(before, `"8830123456"`) || !strings.Contains(after, `"8830999999"`) {
			t.Errorf("bank audit: %q %s → %s", comment, before, after)
		}
		dep := e.deposit(t, e.zorro, 10_000, "bca")
		if dep.AccountNumber != "8830999999" {
			t.Errorf("a new deposit is told %s, want the new account", dep.AccountNumber)
		}
		status, _ = e.call(t, operator.Finance, "PUT", "/api/admin/banks",
			`{"code":"bsi","name":"Bank Syariah Indonesia","account_number":"7001234567","account_name":"PT Kios","comment":"tambah BSI"}`)
		if status != 200 {
			t.Fatalf("put bsi: %d", status)
		}
		if _, _, before, _ := e.auditOf(t, "bank.set", "bsi"); before != "" {
			t.Errorf("a new bank's audit has a before: %s", before)
		}
		for _, b := range []string{
			`{"code":"bca","account_number":"12","account_name":"X","comment":"x"}`,
			`{"code":"QRIS","account_number":"1234567","account_name":"X","comment":"x"}`,
			`{"code":"bca","account_number":"1234567","account_name":"X"}`,
		} {
			if status, body := e.call(t, operator.Finance, "PUT", "/api/admin/banks", b); status != 400 {
				t.Errorf("%s: %d %s, want 400", b, status, body)
			}
		}
		var n int
		if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil || n != 2 {
			t.Errorf("%d audit rows, want 2 (%v)", n, err)
		}
	})
}
