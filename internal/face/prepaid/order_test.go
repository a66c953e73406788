package prepaid_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/funding"
	"kios/internal/httpx"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/order"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
)

// testClock is a settable clock shared by the server and the services.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// orderFixture is a server with the catalog and orders wired, over a
// member "zorro" (reseller) funded with balance, and a Tri pulsa product
// sold to resellers at 10575 as in the reference's example.
type orderFixture struct {
	*fixture
	clk    *testClock
	cat    *catalog.Store
	orders *order.Service
	cred   member.Issued
}

func newOrderFixture(t *testing.T, d *db.DB, balance int64) *orderFixture {
	t.Helper()
	ctx := context.Background()
	f := &orderFixture{fixture: &fixture{d: d, logs: &syncBuffer{}}, clk: &testClock{t: time.Date(2024, 7, 1, 7, 45, 21, 0, time.UTC)}}
	f.members = member.NewStore(d, f.clk.Now)
	var err error
	if f.zorro, err = f.members.Add(ctx, member.NewMember{Username: "zorro", Level: "reseller", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error {
		if err := ledger.EnsureSystem(tx, f.clk.Now()); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil || balance == 0 {
			return err
		}
		_, err = ledger.Transfer(tx, "adjustment", "TEST", adj.ID, f.zorro.AccountID, balance, f.clk.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.cat = catalog.NewStore(d, f.clk.Now)
	if _, err := f.cat.AddProvider(ctx, catalog.NewProvider{Code: "TRI-V3", Name: "Pulsa Lengkap Tri V3", Active: true,
		Forms: []catalog.Field{{Label: "Nomor HP", Key: "phone", Type: catalog.Text, Pattern: "08[0-9]{8,11}"}}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []catalog.NewProduct{
		{Code: "TRI10", Name: "10.000 Pulsa REG", Provider: "TRI-V3", Active: true, Prices: map[string]int64{"reseller": 10575},
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "T10", Cost: 10300, Active: true}}},
		{Code: "TRI5", Name: "5.000 Pulsa REG", Provider: "TRI-V3", Active: false, Prices: map[string]int64{"reseller": 5500},
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "T5", Cost: 5300, Active: true}}},
	} {
		if _, err := f.cat.AddProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(httpx.LogHandler{Handler: slog.NewTextHandler(f.logs, nil)})
	f.orders = order.NewService(d, f.cat, supplier.Set{"simulator": simulator.New(simulator.Config{Now: f.clk.Now})}, f.clk.Now, logger, order.Config{})
	f.srv = httptest.NewServer(server.New(server.Deps{
		Logger: logger, DB: d, Members: f.members, Catalog: f.cat, Orders: f.orders, BaseURL: "https://tokowendigg.com",
		Funding: funding.New(d, funding.Options{Now: f.clk.Now}),
		Limiter: ratelimit.New(1e6, 1e6, time.Now), Metrics: server.NewMetrics(), Now: time.Now,
	}))
	t.Cleanup(f.srv.Close)
	f.cred = f.credential(t, member.NewCredential{})
	return f
}

func (f *orderFixture) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	return f.call(t, "POST", path, map[string]string{"Authorization": "Bearer " + f.cred.APIKey, "Signature": f.cred.SecretKey}, body)
}

func (f *orderFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return f.call(t, "GET", path, map[string]string{"Authorization": "Bearer " + f.cred.APIKey}, "")
}

// pin replaces the random parts of an answer (reference, SN) by the
// reference example's, after checking their shape, so the rest can be
// compared byte for byte.
func pin(t *testing.T, body string, fields map[string]*regexp.Regexp, golden string) string {
	t.Helper()
	var got, want struct {
		Data map[string]any `json:"data"`
	}
	json.Unmarshal([]byte(body), &got)
	json.Unmarshal([]byte(golden), &want)
	for field, re := range fields {
		v, _ := got.Data[field].(string)
		if !re.MatchString(v) {
			t.Fatalf("%s = %q, does not match %s", field, v, re)
		}
		body = strings.ReplaceAll(body, v, want.Data[field].(string))
	}
	return body
}

var refShape = regexp.MustCompile(`^TRX240701\d{11}$`)

func TestOrderCreateAndStatusMatchReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newOrderFixture(t, d, 500_000)
		status, body := f.post(t, "/api/prepaid/transaction/create", `{"target_product_code":"TRI10","phone":"089612345678"}`)
		var created struct {
			Data struct{ Reference string } `json:"data"`
		}
		json.Unmarshal([]byte(body), &created)
		ref := created.Data.Reference
		want := golden(t, "order_create_success.json")
		body = strings.ReplaceAll(body, "https://tokowendigg.com/trx/"+ref, "https://tokowendigg.com/trx/API24070144287694389")
		if got := pin(t, body, map[string]*regexp.Regexp{"reference": refShape}, want); status != 200 || got != want {
			t.Fatalf("create: %d %s\nwant %s", status, got, want)
		}

		// Settle it 2 min 36 s later, as in the reference's status example.
		f.clk.Set(time.Date(2024, 7, 1, 7, 47, 57, 0, time.UTC))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { f.orders.Run(ctx); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if n, _ := f.orders.QueueDepth(context.Background()); n == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done

		status, body = f.get(t, "/api/prepaid/transaction/"+ref)
		want = golden(t, "order_status_success.json")
		body = strings.ReplaceAll(body, "https://tokowendigg.com/trx/"+ref, "https://tokowendigg.com/trx/API24070144287694389")
		got := pin(t, body, map[string]*regexp.Regexp{"reference": refShape, "sn": regexp.MustCompile(`^R240701\d{11}$`)}, want)
		if status != 200 || got != want {
			t.Fatalf("status: %d %s\nwant %s", status, got, want)
		}
		// By partner_reference, with none given, it is not found; another
		// member's reference answers exactly as an unknown one.
		if status, body := f.get(t, "/api/prepaid/transaction?partner_reference=nope"); status != 400 || body != golden(t, "order_error_not_found.json") {
			t.Fatalf("unknown partner_reference: %d %s", status, body)
		}
		other, _ := f.members.Add(context.Background(), member.NewMember{Username: "other", Level: "reseller", Password: "correct horse"})
		oc, _ := f.members.CreateCredential(context.Background(), member.NewCredential{MemberID: other.ID})
		status, body = f.call(t, "GET", "/api/prepaid/transaction/"+ref, map[string]string{"Authorization": "Bearer " + oc.APIKey}, "")
		if status != 400 || body != golden(t, "order_error_not_found.json") {
			t.Fatalf("another member's reference: %d %s", status, body)
		}
		verifyLedger(t, d)
	})
}

func TestOrderErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newOrderFixture(t, d, 20_000)
		cases := []struct {
			name, body, golden string
		}{
			{"unknown product", `{"target_product_code":"NOPE","phone":"089612345678"}`, "error_product_not_found.json"},
			{"inactive product", `{"target_product_code":"TRI5","phone":"089612345678"}`, "order_error_product_inactive.json"},
			{"missing form field", `{"target_product_code":"TRI10"}`, "order_error_missing_field.json"},
			{"pattern mismatch", `{"target_product_code":"TRI10","phone":"12"}`, "order_error_pattern.json"},
			{"oversize", `{"target_product_code":"TRI10","phone":"08` + strings.Repeat("1", 70) + `"}`, "order_error_pattern.json"},
			{"malformed json", `{"target_product_code":`, "error_malformed_json.json"},
			{"not an object", `[]`, "error_malformed_json.json"},
		}
		for _, c := range cases {
			if status, body := f.post(t, "/api/prepaid/transaction/create", c.body); status != 400 || body != golden(t, c.golden) {
				t.Errorf("%s: %d %s\nwant %s", c.name, status, body, golden(t, c.golden))
			}
		}
		status, body := f.post(t, "/api/prepaid/transaction/create", `{"target_product_code":"TRI10","phone":"089612345678","partner_reference":"INV1"}`)
		if status != 200 {
			t.Fatal(status, body)
		}
		if status, body := f.post(t, "/api/prepaid/transaction/create", `{"target_product_code":"TRI10","phone":"089600000001","partner_reference":"INV1"}`); status != 400 || body != golden(t, "order_error_duplicate.json") {
			t.Errorf("same partner_reference, other body: %d %s", status, body)
		}
		// 20000 - 10575 leaves 9425: the next order is refused.
		if status, body := f.post(t, "/api/prepaid/transaction/create", `{"target_product_code":"TRI10","phone":"089612345678"}`); status != 400 || body != golden(t, "order_error_insufficient.json") {
			t.Errorf("insufficient balance: %d %s", status, body)
		}
		verifyLedger(t, d)
	})
}

// TestPartnerReferenceReplayOverHTTP: the same request 20 times at once →
// one order, one charge; the repeats carry Idempotent-Replayed: true.
func TestPartnerReferenceReplayOverHTTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newOrderFixture(t, d, 500_000)
		body := `{"target_product_code":"TRI10","phone":"089612345678","partner_reference":"INV12345678"}`
		var wg sync.WaitGroup
		type answer struct {
			replayed bool
			body     string
			status   int
		}
		answers := make([]answer, 20)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := httptest.NewRequest("POST", f.srv.URL+"/api/prepaid/transaction/create", strings.NewReader(body))
				req.RequestURI = ""
				req.Header.Set("Authorization", "Bearer "+f.cred.APIKey)
				req.Header.Set("Signature", f.cred.SecretKey)
				resp, err := f.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answers[i] = answer{resp.Header.Get("Idempotent-Replayed") == "true", string(b), resp.StatusCode}
			}()
		}
		wg.Wait()
		fresh := 0
		for _, a := range answers {
			if a.status != 200 || a.body != answers[0].body {
				t.Fatalf("answers differ: %d %s vs %s", a.status, a.body, answers[0].body)
			}
			if !a.replayed {
				fresh++
			}
		}
		if fresh != 1 || !strings.Contains(answers[0].body, `"partner_reference":"INV12345678"`) {
			t.Fatalf("%d fresh answers (want 1): %s", fresh, answers[0].body)
		}
		if b, _ := ledger.Balance(context.Background(), d, ledger.MemberCode(f.zorro.ID)); b != 500_000-10575 {
			t.Fatalf("balance %d: charged more than once", b)
		}
		verifyLedger(t, d)
	})
}

func verifyLedger(t *testing.T, d *db.DB) {
	t.Helper()
	r, err := ledger.Verify(context.Background(), d)
	if err != nil || !r.OK() {
		t.Fatalf("ledger: %v\n%s", err, r)
	}
}

// TestThousandOrdersAgainstSixHundred: 1,000 orders at once over HTTP
// against a balance that covers exactly 600 → 600 accepted, the rest
// insufficient_balance, balance 0, and a sound ledger once they settled.
func TestThousandOrdersAgainstSixHundred(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newOrderFixture(t, d, 600*10575)
		var wg sync.WaitGroup
		var mu sync.Mutex
		answers := map[string]int{}
		sem := make(chan struct{}, 200) // at most 200 connections at once
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				status, body := f.post(t, "/api/prepaid/transaction/create", fmt.Sprintf(`{"target_product_code":"TRI10","phone":"0896%07d1"}`, i))
				var out struct {
					Status int    `json:"status"`
					Error  string `json:"error"`
				}
				json.Unmarshal([]byte(body), &out)
				mu.Lock()
				answers[fmt.Sprint(status, out.Error)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if answers["200"] != 600 || answers["400insufficient_balance"] != 400 || len(answers) != 2 {
			t.Fatalf("answers %v; want 600 accepted and 400 insufficient_balance", answers)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { f.orders.Run(ctx); close(done) }()
		for n := int64(1); n > 0; time.Sleep(10 * time.Millisecond) {
			n, _ = f.orders.QueueDepth(context.Background())
		}
		cancel()
		<-done
		if b, _ := ledger.Balance(context.Background(), d, ledger.MemberCode(f.zorro.ID)); b != 0 {
			t.Fatalf("balance %d, want 0", b)
		}
		if rev, _ := ledger.Total(context.Background(), d, ledger.Revenue); rev != 600*(10575-10300) {
			t.Fatalf("revenue %d, want %d", rev, 600*(10575-10300))
		}
		verifyLedger(t, d)
	})
}
