package prepaid_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/funding"
	"kios/internal/httpx"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/ratelimit"
	"kios/internal/server"
)

// fundingNow is the funding service's clock in these tests: 2024-07-12
// 15:10:35 WIB, so that a deposit expires at the reference's example time.
var fundingNow = time.Date(2024, 7, 12, 8, 10, 35, 0, time.UTC)

const (
	depositPath  = "/api/prepaid/transaction/deposit"
	withdrawPath = "/api/prepaid/transaction/withdraw"
	fundingBase  = "https://kios.example"
)

// fundingFixture is the prepaid fixture (zorro with Rp 500.000) served by a
// handler that has the funding service, with a fixed clock and unique code
// 655 whenever it is free, so that answers are reproducible but for the
// references' random digits.
type fundingFixture struct {
	*fixture
	funds  *funding.Service
	header map[string]string
}

func newFundingFixture(t *testing.T, d *db.DB) *fundingFixture {
	t.Helper()
	f := newFixture(t, d)
	funds := funding.New(d, funding.Options{
		Now:      func() time.Time { return fundingNow },
		PickCode: func(free []int64) int64 { return 655 },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := funds.Prepare(context.Background(), funding.DemoBanks()); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(httpx.LogHandler{Handler: slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	f.srv = httptest.NewServer(server.New(server.Deps{
		Logger: logger, DB: d, Members: f.members, Funding: funds, BaseURL: fundingBase,
		Limiter: ratelimit.New(1000, 1000, time.Now), Metrics: server.NewMetrics(), Now: time.Now,
	}))
	t.Cleanup(f.srv.Close)
	c := f.credential(t, member.NewCredential{})
	return &fundingFixture{fixture: f, funds: funds,
		header: map[string]string{"Authorization": "Bearer " + c.APIKey, "Signature": c.SecretKey}}
}

var (
	depRefRE = regexp.MustCompile(`DEP240712\d{11}`)
	wdRefRE  = regexp.MustCompile(`WD240712\d{11}`)
)

// normalise replaces the random digits of the one reference in body (which
// must carry today's date, in WIB) with the golden files' fixed ones, and
// returns the real reference too.
func normalise(t *testing.T, body string) (string, string) {
	t.Helper()
	for _, c := range []struct {
		re    *regexp.Regexp
		fixed string
	}{{depRefRE, "DEP24071245143053340"}, {wdRefRE, "WD24071212345678901"}} {
		if refs := c.re.FindAllString(body, -1); len(refs) > 0 {
			for _, r := range refs[1:] {
				if r != refs[0] {
					t.Fatalf("two references in one answer: %s", body)
				}
			}
			return strings.ReplaceAll(body, refs[0], c.fixed), refs[0]
		}
	}
	return body, ""
}

// TestDepositMatchesReference: the deposit call of the reference's PHP
// example answers its example byte for byte (reference digits aside).
func TestDepositMatchesReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFundingFixture(t, d)
		status, body := f.call(t, "POST", depositPath, f.header, `{"amount":500000,"via":"bca"}`)
		got, ref := normalise(t, body)
		if status != 200 || got != golden(t, "deposit_success.json") {
			t.Fatalf("deposit: %d %s\nwant %s", status, body, golden(t, "deposit_success.json"))
		}
		dep, err := f.funds.Get(ctx, f.zorro.ID, ref)
		if err != nil || dep.Status != "unpaid" || dep.Price != 500_655 {
			t.Fatalf("stored deposit: %+v %v", dep, err)
		}
		// The signed form; "qris" in capitals; the code 655 is now taken.
		body2 := `{"via":"QRIS","amount":10000}`
		status, body = f.call(t, "POST", depositPath, map[string]string{"Authorization": f.header["Authorization"],
			"Signature": sign(f.header["Signature"], body2, time.Now().Unix())}, body2)
		if status != 200 || !strings.Contains(body, `"via":"QRIS"`) || !strings.Contains(body, `"price":10655`) {
			t.Fatalf("qris deposit: %d %s", status, body)
		}
		status, body = f.call(t, "POST", depositPath, f.header, `{"amount":500000,"via":"bca"}`)
		if status != 200 || strings.Contains(body, `"price":500655`) {
			t.Fatalf("second deposit of the amount: %d %s", status, body)
		}
		// Creating deposits moves no money.
		if b, _ := f.members.Balance(ctx, f.zorro.ID); b != 500_000 {
			t.Fatalf("balance %d after deposits were only created", b)
		}
	})
}

var depositErrors = []struct {
	name, body string
	status     int
	golden     string
}{
	{"below the minimum", `{"amount":9999,"via":"bca"}`, 400, "deposit_error_min_amount.json"},
	{"zero", `{"amount":0,"via":"bca"}`, 400, "deposit_error_min_amount.json"},
	{"negative", `{"amount":-500000,"via":"bca"}`, 400, "deposit_error_min_amount.json"},
	{"above the maximum", `{"amount":10000001,"via":"bca"}`, 400, "deposit_error_max_amount.json"},
	{"no amount", `{"via":"bca"}`, 400, "deposit_error_missing_amount.json"},
	{"null amount", `{"amount":null,"via":"bca"}`, 400, "deposit_error_missing_amount.json"},
	{"empty body", ``, 400, "deposit_error_missing_amount.json"},
	{"PHP empty array", `[]`, 400, "deposit_error_missing_amount.json"},
	{"amount as text", `{"amount":"500000","via":"bca"}`, 400, "deposit_error_amount_not_integer.json"},
	{"fractional amount", `{"amount":500000.5,"via":"bca"}`, 400, "deposit_error_amount_not_integer.json"},
	{"exponent amount", `{"amount":5e5,"via":"bca"}`, 400, "deposit_error_amount_not_integer.json"},
	{"huge amount", `{"amount":123456789012345678901234567890,"via":"bca"}`, 400, "deposit_error_amount_not_integer.json"},
	{"amount object", `{"amount":{"v":1},"via":"bca"}`, 400, "deposit_error_amount_not_integer.json"},
	{"no via", `{"amount":500000}`, 400, "deposit_error_missing_via.json"},
	{"empty via", `{"amount":500000,"via":"  "}`, 400, "deposit_error_missing_via.json"},
	{"unknown via", `{"amount":500000,"via":"paypal"}`, 400, "deposit_error_invalid_via.json"},
	{"numeric via", `{"amount":500000,"via":14}`, 400, "deposit_error_invalid_via.json"},
	{"malformed", `{"amount":500000,`, 400, "error_malformed_json.json"},
}

func TestDepositErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFundingFixture(t, d)
		for _, c := range depositErrors {
			status, body := f.call(t, "POST", depositPath, f.header, c.body)
			if status != c.status || body != golden(t, c.golden) {
				t.Errorf("%s: %d %s\nwant %d %s", c.name, status, body, c.status, golden(t, c.golden))
			}
		}
		for _, c := range []struct{ name, body, want string }{
			{"via true", `{"amount":500000,"via":true}`, `{"status":400,"message":"Kolom via harus berupa teks","error":"invalid_field"}`},
			{"an array", `[1,2]`, `{"status":400,"message":"Body permintaan harus berupa objek JSON","error":"invalid_body"}`},
			{"a string", `"x"`, `{"status":400,"message":"Body permintaan harus berupa objek JSON","error":"invalid_body"}`},
		} {
			if status, body := f.call(t, "POST", depositPath, f.header, c.body); status != 400 || body != c.want {
				t.Errorf("%s: %d %s\nwant %s", c.name, status, body, c.want)
			}
		}
		if status, body := f.call(t, "POST", depositPath, map[string]string{"Authorization": f.header["Authorization"]},
			`{"amount":500000,"via":"bca"}`); status != 400 || body != golden(t, "error_invalid_signature.json") {
			t.Errorf("no signature: %d %s", status, body)
		}
		var n int
		if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM deposits").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d deposits written by refused requests (%v)", n, err)
		}
	})
}

const withdrawBody = `{"amount":100000,"bank":"bca","account_number":"1234567890","account_name":"Zorro Saputra","partner_reference":"INV12345678"}`

// TestWithdraw: the answer, the hold, a replay and a conflicting reuse of
// the partner_reference, and twenty identical requests at once.
func TestWithdraw(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFundingFixture(t, d)
		status, body := f.call(t, "POST", withdrawPath, f.header, withdrawBody)
		got, ref := normalise(t, body)
		if status != 200 || got != golden(t, "withdraw_success.json") {
			t.Fatalf("withdraw: %d %s\nwant %s", status, body, golden(t, "withdraw_success.json"))
		}
		if b, _ := f.members.Balance(ctx, f.zorro.ID); b != 400_000 {
			t.Fatalf("balance %d, want 400000: the amount is held at once", b)
		}

		// The same body again (keys in another order): the same answer, replayed.
		resp := f.raw(t, withdrawPath, `{"partner_reference":"INV12345678","account_name":"Zorro Saputra","account_number":"1234567890","bank":"bca","amount":100000}`)
		if resp.status != 200 || resp.body != body || resp.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %s %v", resp.status, resp.body, resp.header)
		}
		status, body = f.call(t, "POST", withdrawPath, f.header, strings.Replace(withdrawBody, "100000", "100001", 1))
		if status != 400 || body != golden(t, "withdraw_error_duplicate_partner_reference.json") {
			t.Fatalf("same key, other body: %d %s", status, body)
		}
		if b, _ := f.members.Balance(ctx, f.zorro.ID); b != 400_000 {
			t.Fatalf("balance %d after a replay and a conflict", b)
		}
		if _, err := f.funds.AcceptWithdrawal(ctx, ref, "ani"); err != nil {
			t.Fatal(err)
		}

		// Without a partner_reference the answer has none.
		status, body = f.call(t, "POST", withdrawPath, f.header, `{"amount":50000,"bank":"mandiri","account_number":"123 456 7890","account_name":"Zorro"}`)
		if status != 200 || strings.Contains(body, "partner_reference") || !strings.Contains(body, `"bank":"Bank Mandiri"`) ||
			!strings.Contains(body, `"account_number":"1234567890"`) {
			t.Fatalf("without partner_reference: %d %s", status, body)
		}

		// Twenty identical requests at once: one withdrawal, one charge.
		const n = 20
		bodyN := strings.Replace(withdrawBody, "INV12345678", "INV-AT-ONCE", 1)
		results := make([]rawResponse, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i] = f.raw(t, withdrawPath, bodyN) })
		}
		wg.Wait()
		fresh := 0
		for i := range n {
			if results[i].status != 200 || results[i].body != results[0].body {
				t.Fatalf("request %d: %d %s; request 0: %s", i, results[i].status, results[i].body, results[0].body)
			}
			if results[i].header.Get("Idempotent-Replayed") == "" {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d answers were not replays, want 1", fresh)
		}
		if b, _ := f.members.Balance(ctx, f.zorro.ID); b != 250_000 {
			t.Fatalf("balance %d, want 250000", b)
		}
		r, err := ledger.Verify(ctx, d)
		if err != nil || !r.OK() {
			t.Fatalf("ledger: %v\n%s", err, r)
		}
	})
}

var withdrawErrors = []struct {
	name, body string
	golden     string
}{
	{"no amount", `{"bank":"bca","account_number":"1234567890","account_name":"Zorro"}`, "deposit_error_missing_amount.json"},
	{"amount as text", `{"amount":"1000","bank":"bca","account_number":"1234567890","account_name":"Zorro"}`, "deposit_error_amount_not_integer.json"},
	{"zero amount", `{"amount":0,"bank":"bca","account_number":"1234567890","account_name":"Zorro"}`, "withdraw_error_invalid_amount.json"},
	{"no bank", `{"amount":1000,"account_number":"1234567890","account_name":"Zorro"}`, "withdraw_error_missing_bank.json"},
	{"unknown bank", `{"amount":1000,"bank":"gringotts","account_number":"1234567890","account_name":"Zorro"}`, "withdraw_error_invalid_bank.json"},
	{"letters in account number", `{"amount":1000,"bank":"bca","account_number":"12345abcde","account_name":"Zorro"}`, "withdraw_error_invalid_account_number.json"},
	{"short account number", `{"amount":1000,"bank":"bca","account_number":1234,"account_name":"Zorro"}`, "withdraw_error_invalid_account_number.json"},
	{"no account name", `{"amount":1000,"bank":"bca","account_number":"1234567890","account_name":""}`, "withdraw_error_missing_account_name.json"},
	{"account name a list", `{"amount":1000,"bank":"bca","account_number":"1234567890","account_name":["Zorro"]}`, "withdraw_error_account_name_not_text.json"},
	{"over the balance", `{"amount":500001,"bank":"bca","account_number":"1234567890","account_name":"Zorro","partner_reference":"X1"}`, "withdraw_error_insufficient_balance.json"},
	{"malformed", `{"amount":`, "error_malformed_json.json"},
}

func TestWithdrawErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFundingFixture(t, d)
		for _, c := range withdrawErrors {
			status, body := f.call(t, "POST", withdrawPath, f.header, c.body)
			if status != 400 || body != golden(t, c.golden) {
				t.Errorf("%s: %d %s\nwant %s", c.name, status, body, golden(t, c.golden))
			}
		}
		long := `{"amount":1000,"bank":"bca","account_number":"1234567890","account_name":"Zorro","partner_reference":"` + strings.Repeat("x", 65) + `"}`
		want := `{"status":400,"message":"Kolom partner_reference tidak valid: maksimal 64 karakter, tanpa baris baru","error":"invalid_field"}`
		if status, body := f.call(t, "POST", withdrawPath, f.header, long); status != 400 || body != want {
			t.Errorf("long partner_reference: %d %s", status, body)
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM withdrawals").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d withdrawals written by refused requests (%v)", n, err)
		}
		if b, _ := f.members.Balance(ctx, f.zorro.ID); b != 500_000 {
			t.Fatalf("balance %d after refused withdrawals", b)
		}
		// The whole balance may go.
		if status, body := f.call(t, "POST", withdrawPath, f.header,
			`{"amount":500000,"bank":"bca","account_number":"1234567890","account_name":"Zorro","partner_reference":"X1"}`); status != 200 {
			t.Fatalf("withdrawing the whole balance: %d %s", status, body)
		}
	})
}

type rawResponse struct {
	status int
	body   string
	header http.Header
}

// raw posts body with the fixture's credential and keeps the headers.
func (f *fundingFixture) raw(t *testing.T, path, body string) rawResponse {
	req, err := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return rawResponse{}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range f.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return rawResponse{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{resp.StatusCode, string(b), resp.Header}
}
