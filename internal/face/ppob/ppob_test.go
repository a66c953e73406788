package ppob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/httpx"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/order"
	"kios/internal/password"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
)

func TestMain(m *testing.M) {
	password.Cost = 4 // bcrypt.MinCost: the tests are about the API, not the hash
	os.Exit(m.Run())
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// options shape a fixture.
type options struct {
	balance    int64
	wait       time.Duration // the PPOB wait bound
	pendingFor time.Duration // how long the simulator keeps …9999 pending
	// skus and suppliers, when set, replace GOPAY's one simulator SKU.
	skus      []catalog.SKU
	suppliers supplier.Set
	// notify, when set, is the order service's Notify (a webhook worker's Poke).
	notify func()
}

// fixture is kios on loopback over a real database with the fulfilment
// worker running, one member "zorro" (reseller) and the e-wallet products
// GOPAY (Rp 1.000 – 2.000.000, admin fee 1.500 for resellers) and OVO
// (switched off).
type fixture struct {
	d       *db.DB
	members *member.Store
	orders  *order.Service
	srv     *httptest.Server
	zorro   member.Member
	key     string
}

func newFixture(t *testing.T, d *db.DB, o options) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{d: d, members: member.NewStore(d, time.Now)}
	var err error
	if f.zorro, err = f.members.Add(ctx, member.NewMember{Username: "zorro", Level: "reseller", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error {
		if err := ledger.EnsureSystem(tx, time.Now()); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil || o.balance == 0 {
			return err
		}
		_, err = ledger.Transfer(tx, "adjustment", "TEST", adj.ID, f.zorro.AccountID, o.balance, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewStore(d, time.Now)
	skus := func(code string) []catalog.SKU {
		if code == "GOPAY" && o.skus != nil {
			return o.skus
		}
		return []catalog.SKU{{Supplier: "simulator", SKU: "EW-" + code, Cost: 1_000, Active: true}}
	}
	for _, w := range []struct {
		code, op string
		on       bool
	}{{"GOPAY", "GoPay", true}, {"OVO", "OVO", false}} {
		if _, err := cat.AddProvider(ctx, catalog.NewProvider{Code: "EWALLET-" + w.code, Name: w.op, Active: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := cat.AddEwallet(ctx, catalog.NewEwallet{Code: w.code, Name: "Top-up " + w.op, Provider: "EWALLET-" + w.code,
			Active: w.on, MinAmount: 1_000, MaxAmount: 2_000_000, CustomerRule: catalog.RuleMSISDN,
			Fees: map[string]int64{"reseller": 1_500, "member": 2_000},
			SKUs: skus(w.code)}); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(httpx.LogHandler{Handler: slog.NewTextHandler(&syncBuffer{}, nil)})
	sups := o.suppliers
	if sups == nil {
		sups = supplier.Set{"simulator": simulator.New(simulator.Config{PendingFor: o.pendingFor})}
	}
	f.orders = order.NewService(d, cat, sups, time.Now, logger,
		order.Config{PollBackoff: []time.Duration{20 * time.Millisecond}, Notify: o.notify})
	if o.wait == 0 {
		o.wait = 10 * time.Second
	}
	f.srv = httptest.NewServer(server.New(server.Deps{
		Logger: logger, DB: d, Members: f.members, Catalog: cat, Orders: f.orders, PPOBWait: o.wait,
		Limiter: ratelimit.New(1e6, 1e6, time.Now), Metrics: server.NewMetrics(), Now: time.Now,
	}))
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.orders.Run(workCtx); close(done) }()
	t.Cleanup(func() { f.srv.Close(); stop(); <-done })
	is, err := f.members.CreateCredential(ctx, member.NewCredential{MemberID: f.zorro.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.key = is.APIKey
	return f
}

const base = "/api/v1/merchant/ppob"

// call sends a request as the reference's curl examples do.
func (f *fixture) call(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) post(t *testing.T, path, body string) (int, string) {
	t.Helper()
	return f.call(t, "POST", path, f.key, body)
}

func (f *fixture) balance(t *testing.T) int64 {
	t.Helper()
	b, err := f.members.Balance(context.Background(), f.zorro.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verify(t *testing.T, d *db.DB) {
	t.Helper()
	r, err := ledger.Verify(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("ledger: %s", r)
	}
}

// answer is the envelope with the data fields the tests look at.
type answer struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	RC      string `json:"rc"`
	Data    *struct {
		ReqID       string `json:"req_id"`
		RefID       string `json:"ref_id"`
		CustID      string `json:"cust_id"`
		Status      string `json:"status"`
		RC          string `json:"rc"`
		Amount      string `json:"amount"`
		UnitPrice   string `json:"unit_price"`
		BalanceUsed string `json:"balance_used"`
		Balance     string `json:"balance"`
		SerialNo    string `json:"serial_no"`
		Data        struct {
			CustomerName string `json:"customer_name"`
		} `json:"data"`
	} `json:"data"`
}

func decode(t *testing.T, body string) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return a
}

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String()
}

// pin checks the shape of the random values in body (by their current
// value) and replaces each with the golden file's, so the rest compares
// byte for byte.
func pin(t *testing.T, body string, values map[string]*regexp.Regexp, repl map[string]string) string {
	t.Helper()
	for v, re := range values {
		if !re.MatchString(v) {
			t.Fatalf("%q does not match %s in %s", v, re, body)
		}
		body = strings.ReplaceAll(body, `"`+v+`"`, `"`+repl[v]+`"`)
	}
	return body
}

var (
	refShape = regexp.MustCompile(`^TRX\d{17}$`)
	inqShape = regexp.MustCompile(`^INQ\d{17}$`)
	snShape  = regexp.MustCompile(`^R\d{17}$`)
	anyName  = regexp.MustCompile(`^[A-Z ]+$`)
)

func TestAnswersMatchReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 500_000})

		status, body := f.post(t, "/ewallet/inquiry", `{"product_id":"GOPAY","cust_id":"08123456789","amount":"50000"}`)
		a := decode(t, body)
		got := pin(t, body, map[string]*regexp.Regexp{a.Data.RefID: inqShape, a.Data.Data.CustomerName: anyName},
			map[string]string{a.Data.RefID: "1777946295495371000", a.Data.Data.CustomerName: "HOLDER"})
		if want := golden(t, "inquiry_success.json"); status != 200 || got != want {
			t.Errorf("inquiry: %d\n got %s\nwant %s", status, got, want)
		}
		if f.balance(t) != 500_000 {
			t.Errorf("an inquiry moved money: balance %d", f.balance(t))
		}

		status, body = f.post(t, "/ewallet/transaction", `{"req_id":"TXN-20240501-010","product_id":"GOPAY","cust_id":"08123456789","amount":"50000"}`)
		a = decode(t, body)
		got = pin(t, body, map[string]*regexp.Regexp{a.Data.RefID: refShape, a.Data.SerialNo: snShape},
			map[string]string{a.Data.RefID: "1777946295495372000", a.Data.SerialNo: "GW123456789"})
		if want := golden(t, "payment_success.json"); status != 200 || got != want {
			t.Errorf("payment: %d\n got %s\nwant %s", status, got, want)
		}
		verify(t, d)
	})
}

func TestInsufficientBalanceMatchesReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 10_000})
		status, body := f.post(t, "/ewallet/transaction", `{"req_id":"TXN-20240501-011","product_id":"GOPAY","cust_id":"08123456789","amount":"50000"}`)
		if want := golden(t, "payment_insufficient.json"); status != 200 || body != want {
			t.Errorf("%d\n got %s\nwant %s", status, body, want)
		}
		if f.balance(t) != 10_000 {
			t.Errorf("balance %d after a refused transaction", f.balance(t))
		}
		var n int
		if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM orders").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d orders after a refused transaction", n)
		}
		verify(t, d)
	})
}

// rcCases reach every response code of the spec's table with a request
// that causes it (401 and 429 and 096 have tests of their own).
var rcCases = []struct {
	name, path, body string
	status           int
	rc, state        string
}{
	{"success", "/ewallet/transaction", `{"req_id":"r1","product_id":"GOPAY","cust_id":"+6281234567890","amount":"20000"}`, 200, "000", "SUCCESS"},
	{"pending", "/ewallet/transaction", `{"req_id":"r2","product_id":"GOPAY","cust_id":"081234569999","amount":"20000"}`, 200, "068", "PENDING"},
	{"supplier refuses", "/ewallet/transaction", `{"req_id":"r3","product_id":"GOPAY","cust_id":"081234560000","amount":"20000"}`, 200, "050", "FAILED"},
	{"insufficient", "/ewallet/transaction", `{"req_id":"r4","product_id":"GOPAY","cust_id":"081234567890","amount":"2000000"}`, 200, "008", "FAILED"},
	{"amount below minimum", "/ewallet/transaction", `{"req_id":"r5","product_id":"GOPAY","cust_id":"081234567890","amount":"999"}`, 400, "013", ""},
	{"amount above maximum", "/ewallet/inquiry", `{"product_id":"GOPAY","cust_id":"081234567890","amount":"2000001"}`, 400, "013", ""},
	{"amount not digits", "/ewallet/inquiry", `{"product_id":"GOPAY","cust_id":"081234567890","amount":"-5000"}`, 400, "013", ""},
	{"customer not a mobile number", "/ewallet/transaction", `{"req_id":"r6","product_id":"GOPAY","cust_id":"0212345678","amount":"20000"}`, 400, "014", ""},
	{"no such account", "/ewallet/inquiry", `{"product_id":"GOPAY","cust_id":"081234564040","amount":"20000"}`, 200, "014", "FAILED"},
	{"missing req_id", "/ewallet/transaction", `{"product_id":"GOPAY","cust_id":"081234567890","amount":"20000"}`, 400, "030", ""},
	{"missing cust_id", "/ewallet/inquiry", `{"product_id":"GOPAY","amount":"20000"}`, 400, "030", ""},
	{"amount of the wrong type", "/ewallet/inquiry", `{"product_id":"GOPAY","cust_id":"081234567890","amount":20000}`, 400, "030", ""},
	{"malformed JSON", "/ewallet/inquiry", `{"product_id":`, 400, "030", ""},
	{"unknown product", "/ewallet/inquiry", `{"product_id":"NOPE","cust_id":"081234567890","amount":"20000"}`, 400, "040", ""},
	{"inactive product", "/ewallet/transaction", `{"req_id":"r7","product_id":"OVO","cust_id":"081234567890","amount":"20000"}`, 400, "040", ""},
	{"req_id reused for another amount", "/ewallet/transaction", `{"req_id":"r1","product_id":"GOPAY","cust_id":"081234567890","amount":"20001"}`, 409, "094", ""},
}

func TestEveryResponseCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 500_000, wait: 300 * time.Millisecond, pendingFor: time.Minute})
		for _, c := range rcCases {
			status, body := f.post(t, c.path, c.body)
			a := decode(t, body)
			if status != c.status || a.RC != c.rc || a.Success != (c.status == 200) {
				t.Errorf("%s: %d %s, want %d rc %s", c.name, status, body, c.status, c.rc)
				continue
			}
			if c.state == "" {
				if a.Data != nil {
					t.Errorf("%s: data %s, want null", c.name, body)
				}
				if a.Message == "" {
					t.Errorf("%s: no message", c.name)
				}
				continue
			}
			if a.Data.Status != c.state || a.Data.RC != c.rc {
				t.Errorf("%s: data status %s rc %s, want %s %s", c.name, a.Data.Status, a.Data.RC, c.state, c.rc)
			}
		}
		// Charged: r1 (21 500) and the pending r2 (21 500); r3 was refunded.
		if got, want := f.balance(t), int64(500_000-21_500-21_500); got != want {
			t.Errorf("balance %d, want %d", got, want)
		}
		verify(t, d)

		// 401: no key, a wrong key, an address outside the allow-list.
		for _, key := range []string{"", "apk_live_wrong"} {
			status, body := f.call(t, "POST", "/ewallet/inquiry", key, `{}`)
			if want := golden(t, "error_unauthorized.json"); status != 401 || body != want {
				t.Errorf("key %q: %d %s", key, status, body)
			}
		}
		fenced, err := f.members.CreateCredential(context.Background(), member.NewCredential{MemberID: f.zorro.ID, AllowIPs: []string{"203.0.113.7"}})
		if err != nil {
			t.Fatal(err)
		}
		if status, body := f.call(t, "GET", "/products", fenced.APIKey, ""); status != 401 || decode(t, body).RC != "401" {
			t.Errorf("outside the allow-list: %d %s", status, body)
		}
		// 429: a credential allowed one request per second.
		slow, err := f.members.CreateCredential(context.Background(), member.NewCredential{MemberID: f.zorro.ID, RatePerSec: 1, RateBurst: 1})
		if err != nil {
			t.Fatal(err)
		}
		f.call(t, "GET", "/products", slow.APIKey, "")
		if status, body := f.call(t, "GET", "/products", slow.APIKey, ""); status != 429 || decode(t, body).RC != "429" {
			t.Errorf("over the rate: %d %s", status, body)
		}
		// 040 for an unknown transaction.
		if status, body := f.call(t, "GET", "/transaction/never", f.key, ""); status != 404 || body != golden(t, "error_not_found.json") {
			t.Errorf("unknown transaction: %d %s", status, body)
		}
	})
}

func TestSystemError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 500_000})
		// A real server fault: the table of transactions is gone.
		if err := d.Write(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec("DROP TABLE ewallet_transactions")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		status, body := f.post(t, "/ewallet/transaction", `{"req_id":"x","product_id":"GOPAY","cust_id":"081234567890","amount":"20000"}`)
		a := decode(t, body)
		if status != 500 || a.RC != "096" || a.Success || strings.Contains(body, "ewallet_transactions") {
			t.Errorf("%d %s", status, body)
		}
		if f.balance(t) != 500_000 {
			t.Errorf("balance %d", f.balance(t))
		}
	})
}

func TestAmountEdgeCases(t *testing.T) {
	cases := []struct {
		amount string
		rc     string
		echoed string
	}{
		{"999", "013", ""},
		{"1000", "000", "1000"},
		{"01000", "000", "1000"},
		{"10000000000000", "013", ""},
		{"99999999999999999999999999", "013", ""},
		{"12a", "013", ""},
		{" 1000", "013", ""},
		{"0", "013", ""},
		{"", "030", ""},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 500_000})
		for _, c := range cases {
			_, body := f.post(t, "/ewallet/inquiry", fmt.Sprintf(`{"product_id":"GOPAY","cust_id":"081234567890","amount":%q}`, c.amount))
			a := decode(t, body)
			if a.RC != c.rc {
				t.Errorf("amount %q: %s, want rc %s", c.amount, body, c.rc)
				continue
			}
			if c.echoed != "" && (a.Data.Amount != c.echoed || a.Data.UnitPrice != "2500") {
				t.Errorf("amount %q: amount %s unit_price %s", c.amount, a.Data.Amount, a.Data.UnitPrice)
			}
		}
	})
}

func TestIdenticalConcurrentRequestsChargeOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 500_000})
		const n = 50
		body := `{"req_id":"SAME-1","product_id":"GOPAY","cust_id":"081234567890","amount":"50000"}`
		refs := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				status, b := f.post(t, "/ewallet/transaction", body)
				a := decode(t, b)
				if status != 200 || a.RC != "000" {
					t.Errorf("request %d: %d %s", i, status, b)
					return
				}
				refs[i] = a.Data.RefID
			})
		}
		wg.Wait()
		for i, r := range refs {
			if r != refs[0] || r == "" {
				t.Fatalf("answer %d names %q, answer 0 %q", i, r, refs[0])
			}
		}
		if got := f.balance(t); got != 500_000-51_500 {
			t.Errorf("balance %d: charged more than once", got)
		}
		var orders int
		d.QueryRow(context.Background(), "SELECT COUNT(*) FROM orders").Scan(&orders)
		if orders != 1 {
			t.Errorf("%d orders", orders)
		}
		verify(t, d)
	})
}

func TestSlowSupplier(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 500_000, wait: 100 * time.Millisecond, pendingFor: 700 * time.Millisecond})
		body := `{"req_id":"SLOW-1","product_id":"GOPAY","cust_id":"6281234569999","amount":"50000"}`
		_, b := f.post(t, "/ewallet/transaction", body)
		first := decode(t, b)
		if first.RC != "068" || first.Data.Status != "PENDING" || first.Data.BalanceUsed != "51500" || first.Data.CustID != "081234569999" {
			t.Fatalf("first answer %s", b)
		}
		var settled answer
		deadline := time.Now().Add(15 * time.Second)
		for {
			status, b := f.call(t, "GET", "/transaction/SLOW-1", f.key, "")
			settled = decode(t, b)
			if status != 200 {
				t.Fatalf("status call: %d %s", status, b)
			}
			if settled.Data.Status != "PENDING" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if settled.RC != "000" || settled.Data.Status != "SUCCESS" || !snShape.MatchString(settled.Data.SerialNo) || settled.Data.RefID != first.Data.RefID {
			t.Fatalf("settled: %+v", settled)
		}
		before := f.balance(t)
		_, b = f.post(t, "/ewallet/transaction", body)
		again := decode(t, b)
		if again.RC != "000" || again.Data.RefID != first.Data.RefID || again.Data.SerialNo != settled.Data.SerialNo || f.balance(t) != before {
			t.Errorf("retry after settling: %s (balance %d → %d)", b, before, f.balance(t))
		}
		if before != 500_000-51_500 {
			t.Errorf("balance %d", before)
		}
		verify(t, d)
	})
}

func TestProducts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{})
		status, body := f.call(t, "GET", "/products?category=ewallet", f.key, "")
		want := `{"success":true,"message":"Products retrieved successfully","rc":"000","data":[` +
			`{"product_id":"GOPAY","operator":"GoPay","description":"Top-up GoPay","category":"ewallet","admin_fee":"1500","min_amount":"1000","max_amount":"2000000","active":true},` +
			`{"product_id":"OVO","operator":"OVO","description":"Top-up OVO","category":"ewallet","admin_fee":"1500","min_amount":"1000","max_amount":"2000000","active":false}]}`
		if status != 200 || body != want {
			t.Errorf("%d\n got %s\nwant %s", status, body, want)
		}
		if _, body := f.call(t, "GET", "/products?category=game", f.key, ""); !strings.Contains(body, `"data":[]`) {
			t.Errorf("another category: %s", body)
		}
	})
}

// TestTransactionBalance: the answer to the request that charged a
// transaction gives the balance that charge left (the reference's "balance
// before minus balance_used"); a refunded transaction's answer, a replay
// and the status call give the balance at the time of the answer, money
// that arrived since included.
func TestTransactionBalance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d, options{balance: 500_000})
		_, body := f.post(t, "/ewallet/transaction", `{"req_id":"b1","product_id":"GOPAY","cust_id":"081234567890","amount":"20000"}`)
		if a := decode(t, body); a.Data == nil || a.Data.Status != "SUCCESS" || a.Data.Balance != "478500" {
			t.Fatalf("first answer %s, want SUCCESS with balance 478500 (500000 - 21500)", body)
		}
		_, body = f.post(t, "/ewallet/transaction", `{"req_id":"b2","product_id":"GOPAY","cust_id":"081234560000","amount":"20000"}`)
		if a := decode(t, body); a.Data == nil || a.Data.Status != "FAILED" || a.Data.Balance != "478500" {
			t.Fatalf("refunded answer %s, want FAILED with the balance after the refund, 478500", body)
		}
		// Money arrives meanwhile: a replay and the status call see it.
		if err := d.Write(context.Background(), func(tx *db.Tx) error {
			adj, err := ledger.AccountByCode(tx, ledger.Adjust)
			if err != nil {
				return err
			}
			_, err = ledger.Transfer(tx, "adjustment", "TEST2", adj.ID, f.zorro.AccountID, 1_000, time.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, body = f.post(t, "/ewallet/transaction", `{"req_id":"b1","product_id":"GOPAY","cust_id":"081234567890","amount":"20000"}`)
		if a := decode(t, body); a.Data == nil || a.Data.Status != "SUCCESS" || a.Data.Balance != "479500" {
			t.Fatalf("replay %s, want SUCCESS with today's balance 479500", body)
		}
		_, body = f.call(t, "GET", "/transaction/b1", f.key, "")
		if a := decode(t, body); a.Data == nil || a.Data.Balance != "479500" {
			t.Fatalf("status %s, want balance 479500", body)
		}
		verify(t, d)
	})
}
