package payment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/funding"
	"kios/internal/incoming"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/password"
	"kios/internal/payment"
	"kios/internal/qris"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current answers")

func TestMain(m *testing.M) {
	password.Cost = 4
	os.Exit(m.Run())
}

const staticDANA = "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605802ID5922Warung Sayur Bu Sugeng6010Kab. Demak610559567630458C7"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// 2023-12-01 14:00:00 WIB, so that a 60-minute invoice expires at the
// reference's "2023-12-01 15:00:00".
var t0 = time.Date(2023, 12, 1, 7, 0, 0, 0, time.UTC)

type fixture struct {
	d        *db.DB
	clock    *clock
	srv      *httptest.Server
	key      string
	otherKey string
	store    payment.Store
	sandbox  payment.Store
	payments *payment.Service
	incoming *incoming.Service
	hooks    *webhook.Service
	owner    member.Member
	members  *member.Store
}

func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{d: d, clock: &clock{t: t0}}
	members := member.NewStore(d, f.clock.Now)
	f.members = members
	var err error
	if f.owner, err = members.Add(ctx, member.NewMember{Username: "toko", Level: "member", Password: "rahasia123"}); err != nil {
		t.Fatal(err)
	}
	other, err := members.Add(ctx, member.NewMember{Username: "lain", Level: "member", Password: "rahasia123"})
	if err != nil {
		t.Fatal(err)
	}
	is, err := members.CreateCredential(ctx, member.NewCredential{MemberID: f.owner.ID, RatePerSec: 100_000, RateBurst: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	f.key = is.APIKey
	is2, err := members.CreateCredential(ctx, member.NewCredential{MemberID: other.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.otherKey = is2.APIKey
	stores := payment.NewStores(d, f.clock.Now)
	if f.store, err = stores.Add(ctx, payment.NewStore{MemberID: f.owner.ID, Name: "Toko Example", StaticQRIS: staticDANA}); err != nil {
		t.Fatal(err)
	}
	if f.sandbox, err = stores.Add(ctx, payment.NewStore{MemberID: f.owner.ID, Name: "Toko Sandbox", Sandbox: true}); err != nil {
		t.Fatal(err)
	}
	keys, err := webhook.NewKeyring(make([]byte, webhook.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	f.hooks = webhook.NewService(d, keys, f.clock.Now, slog.New(slog.DiscardHandler), webhook.ClientOptions{AllowPrivate: true})
	if f.payments, err = payment.New(d, stores, payment.Options{Now: f.clock.Now, Hooks: f.hooks}); err != nil {
		t.Fatal(err)
	}
	funds := funding.New(d, funding.Options{Now: f.clock.Now})
	if err := funds.Prepare(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f.incoming = incoming.New(d, f.payments, funds, f.clock.Now, nil)
	f.srv = httptest.NewServer(server.New(server.Deps{
		Logger: slog.New(slog.DiscardHandler), DB: d, Members: members,
		Limiter: ratelimit.New(100_000, 100_000, f.clock.Now), Metrics: server.NewMetrics(), Now: f.clock.Now,
		BaseURL: "https://pay.example", Funding: funds, Payments: f.payments, Incoming: f.incoming,
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request and returns the status and body.
func (f *fixture) do(t testing.TB, method, path, contentType string, header map[string]string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) bearer() map[string]string {
	return map[string]string{"Authorization": "Bearer " + f.key}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(got), "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %s", name, got)
	}
	if *update {
		os.WriteFile(path, append(pretty.Bytes(), '\n'), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	json.Compact(&compact, want)
	if compact.String() != got {
		t.Fatalf("%s:\n got %s\nwant %s", name, got, compact.String())
	}
}

var invoiceShape = regexp.MustCompile(`INV20231201\d{11}`)

type created struct {
	Status string `json:"status"`
	Data   struct {
		Invoice    string `json:"invoice"`
		Amount     int64  `json:"amount"`
		UniqueCode int64  `json:"unique_code"`
		Total      int64  `json:"total_amount"`
		QRContent  string `json:"qr_content"`
		QRURL      string `json:"qr_url"`
	} `json:"data"`
}

// pinCreate replaces the invoice's random parts (number, code and what
// follows from it) by the reference example's, after checking them.
func pinCreate(t *testing.T, body string) (string, created) {
	t.Helper()
	var c created
	if err := json.Unmarshal([]byte(body), &c); err != nil || c.Status != "success" {
		t.Fatalf("create: %s", body)
	}
	if !invoiceShape.MatchString(c.Data.Invoice) || c.Data.Total != c.Data.Amount+c.Data.UniqueCode || c.Data.UniqueCode < 1 || c.Data.UniqueCode > 999 {
		t.Fatalf("create: %s", body)
	}
	if err := qris.Validate(c.Data.QRContent); err != nil {
		t.Fatalf("qr_content: %v", err)
	}
	p, _ := qris.Parse(c.Data.QRContent)
	if v, _ := p.Get(qris.TagAmount); v != fmt.Sprint(c.Data.Total) || p.IsStatic() {
		t.Fatalf("qr_content tag 54 = %q, total %d", v, c.Data.Total)
	}
	s := strings.ReplaceAll(body, c.Data.Invoice, "INV20231201123456")
	s = strings.Replace(s, c.Data.QRContent, "QR", 1)
	s = strings.Replace(s, fmt.Sprintf(`"unique_code":%d,"total_amount":%d`, c.Data.UniqueCode, c.Data.Total), `"unique_code":387,"total_amount":10387`, 1)
	return s, c
}

// The request shapes of the reference's examples: curl -d (form, Bearer
// header), PHP http_build_query (the same form), Node fetch with
// URLSearchParams (the same form, explicit Content-Type), and kios's
// additions: JSON, multipart, api_key as a field or a query parameter.
func requestShapes(f *fixture, storeID int64) []struct {
	name, path, ct string
	header         map[string]string
	body           func() io.Reader
} {
	form := url.Values{"store_id": {fmt.Sprint(storeID)}, "amount": {"10000"}, "description": {"Pembelian Produk A"}, "customer_name": {"John Doe"}}
	withKey := url.Values{"api_key": {f.key}}
	for k, v := range form {
		withKey[k] = v
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	for _, k := range []string{"store_id", "amount", "description", "customer_name"} {
		mw.WriteField(k, form.Get(k))
	}
	mw.Close()
	return []struct {
		name, path, ct string
		header         map[string]string
		body           func() io.Reader
	}{
		{"curl -d", "/api/create_payment.php", "application/x-www-form-urlencoded", f.bearer(), func() io.Reader { return strings.NewReader(form.Encode()) }},
		{"php http_build_query", "/api/create_payment.php", "application/x-www-form-urlencoded", f.bearer(),
			func() io.Reader {
				return strings.NewReader("store_id=" + fmt.Sprint(storeID) + "&amount=10000&description=Pembelian+Produk+A&customer_name=John+Doe")
			}},
		{"node fetch URLSearchParams", "/api/create_payment.php", "application/x-www-form-urlencoded;charset=UTF-8", f.bearer(), func() io.Reader { return strings.NewReader(form.Encode()) }},
		{"json", "/api/create_payment.php", "application/json", f.bearer(),
			func() io.Reader {
				return strings.NewReader(fmt.Sprintf(`{"store_id":%d,"amount":10000,"description":"Pembelian Produk A","customer_name":"John Doe"}`, storeID))
			}},
		{"json with strings", "/api/create_payment.php", "application/json", f.bearer(),
			func() io.Reader {
				return strings.NewReader(fmt.Sprintf(`{"store_id":"%d","amount":"10000","description":"Pembelian Produk A","customer_name":"John Doe","extra":{"ignored":true}}`, storeID))
			}},
		{"multipart", "/api/create_payment.php", mw.FormDataContentType(), f.bearer(), func() io.Reader { return bytes.NewReader(mp.Bytes()) }},
		{"api_key field", "/api/create_payment.php", "application/x-www-form-urlencoded", nil, func() io.Reader { return strings.NewReader(withKey.Encode()) }},
		{"api_key query", "/api/create_payment.php?api_key=" + f.key, "application/x-www-form-urlencoded", nil, func() io.Reader { return strings.NewReader(form.Encode()) }},
	}
}

func TestCreateAndStatusMatchReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		var first created
		for i, c := range requestShapes(f, f.store.ID) {
			status, body := f.do(t, "POST", c.path, c.ct, c.header, c.body())
			if status != 200 {
				t.Fatalf("%s: %d %s", c.name, status, body)
			}
			pinned, cr := pinCreate(t, body)
			if i == 0 {
				first = cr
			}
			golden(t, "create_success.json", pinned)
		}
		// Status by every shape of the reference: GET with the header,
		// POST, api_key as a query parameter.
		inv := first.Data.Invoice
		for _, c := range []struct {
			method, path string
			header       map[string]string
		}{
			{"GET", "/api/payment.php?invoice=" + inv, f.bearer()},
			{"POST", "/api/payment.php?invoice=" + inv, f.bearer()},
			{"GET", "/api/payment.php?invoice=" + inv + "&api_key=" + f.key, nil},
		} {
			status, body := f.do(t, c.method, c.path, "", c.header, nil)
			body = strings.ReplaceAll(body, inv, "INV20231201123456")
			body = strings.Replace(body, fmt.Sprintf(`"unique_code":%d,"total_amount":%d`, first.Data.UniqueCode, first.Data.Total), `"unique_code":387,"total_amount":10387`, 1)
			if status != 200 {
				t.Fatalf("%s %s: %d %s", c.method, c.path, status, body)
			}
			golden(t, "status_unpaid.json", body)
		}
		// Paid 30 minutes later, through the matcher.
		f.clock.Add(30 * time.Minute)
		res, err := f.incoming.Post(context.Background(), incoming.Record{Channel: fmt.Sprintf("qris:%d", f.store.ID),
			Amount: first.Data.Total, ReceivedAt: f.clock.Now(), ExternalID: "acq-1"}, "test", nil)
		if err != nil || res.Status != incoming.Matched || res.Reference != inv {
			t.Fatalf("pay: %+v %v", res, err)
		}
		status, body := f.do(t, "GET", "/api/payment.php?invoice="+inv, "", f.bearer(), nil)
		body = strings.ReplaceAll(body, inv, "INV20231201123456")
		body = strings.Replace(body, fmt.Sprintf(`"unique_code":%d,"total_amount":%d`, first.Data.UniqueCode, first.Data.Total), `"unique_code":387,"total_amount":10387`, 1)
		if status != 200 {
			t.Fatalf("status: %d %s", status, body)
		}
		golden(t, "status_paid.json", body)
		rep, err := ledger.Verify(context.Background(), d)
		if err != nil || !rep.OK() {
			t.Fatalf("ledger: %v %s", err, rep)
		}
	})
}

func TestErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		form := "application/x-www-form-urlencoded"
		_, body := f.do(t, "POST", "/api/create_payment.php", form, f.bearer(), strings.NewReader(fmt.Sprintf("store_id=%d&amount=10000", f.store.ID)))
		_, cr := pinCreate(t, body)
		other := map[string]string{"Authorization": "Bearer " + f.otherKey}
		fenced, err := f.members.CreateCredential(context.Background(), member.NewCredential{MemberID: f.owner.ID, AllowIPs: []string{"203.0.113.7"}})
		if err != nil {
			t.Fatal(err)
		}
		slow, err := f.members.CreateCredential(context.Background(), member.NewCredential{MemberID: f.owner.ID, RatePerSec: 1, RateBurst: 1})
		if err != nil {
			t.Fatal(err)
		}
		f.do(t, "GET", "/api/payment.php?invoice="+cr.Data.Invoice, "", map[string]string{"Authorization": "Bearer " + slow.APIKey}, nil)
		cases := []struct {
			name, method, path, ct string
			header                 map[string]string
			body                   string
			status                 int
			golden                 string
		}{
			{"no key", "POST", "/api/create_payment.php", form, nil, "store_id=1&amount=10000", 401, "error_invalid_key.json"},
			{"wrong key", "POST", "/api/create_payment.php", form, map[string]string{"Authorization": "Bearer nope"}, "store_id=1&amount=10000", 401, "error_invalid_key.json"},
			{"address outside the allow-list", "POST", "/api/create_payment.php", form, map[string]string{"Authorization": "Bearer " + fenced.APIKey}, fmt.Sprintf("store_id=%d&amount=10000", f.store.ID), 401, "error_no_access.json"},
			{"over the rate limit", "POST", "/api/create_payment.php", form, map[string]string{"Authorization": "Bearer " + slow.APIKey}, fmt.Sprintf("store_id=%d&amount=10000", f.store.ID), 429, "error_rate_limited.json"},
			{"missing store_id", "POST", "/api/create_payment.php", form, f.bearer(), "amount=10000", 400, "error_missing_store_id.json"},
			{"store_id not a number", "POST", "/api/create_payment.php", form, f.bearer(), "store_id=abc&amount=10000", 400, "error_invalid_store_id.json"},
			{"missing amount", "POST", "/api/create_payment.php", form, f.bearer(), fmt.Sprintf("store_id=%d", f.store.ID), 400, "error_missing_amount.json"},
			{"amount not an integer", "POST", "/api/create_payment.php", "application/json", f.bearer(), fmt.Sprintf(`{"store_id":%d,"amount":10000.5}`, f.store.ID), 400, "error_invalid_amount.json"},
			{"amount below minimum", "POST", "/api/create_payment.php", form, f.bearer(), fmt.Sprintf("store_id=%d&amount=999", f.store.ID), 400, "error_min_amount.json"},
			{"amount of the wrong type", "POST", "/api/create_payment.php", "application/json", f.bearer(), fmt.Sprintf(`{"store_id":%d,"amount":[1]}`, f.store.ID), 400, "error_amount_type.json"},
			{"another member's store", "POST", "/api/create_payment.php", form, other, fmt.Sprintf("store_id=%d&amount=10000", f.store.ID), 400, "error_store_not_found.json"},
			{"malformed JSON", "POST", "/api/create_payment.php", "application/json", f.bearer(), `{"store_id":`, 400, "error_malformed_body.json"},
			{"customer_name too long", "POST", "/api/create_payment.php", form, f.bearer(), fmt.Sprintf("store_id=%d&amount=10000&customer_name=%s", f.store.ID, strings.Repeat("x", 101)), 400, "error_customer_name.json"},
			{"missing invoice", "GET", "/api/payment.php", "", f.bearer(), "", 400, "error_missing_invoice.json"},
			{"unknown invoice", "GET", "/api/payment.php?invoice=INV2023120100000000000", "", f.bearer(), "", 404, "error_invoice_not_found.json"},
			{"another member's invoice", "GET", "/api/payment.php?invoice=" + cr.Data.Invoice, "", other, "", 404, "error_invoice_not_found.json"},
		}
		for _, c := range cases {
			status, body := f.do(t, c.method, c.path, c.ct, c.header, strings.NewReader(c.body))
			if status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, status, body, c.status)
				continue
			}
			golden(t, c.golden, body)
		}
		var n int
		d.QueryRow(context.Background(), "SELECT COUNT(*) FROM invoices").Scan(&n)
		if n != 1 {
			t.Fatalf("%d invoices; the refused requests wrote some", n)
		}
	})
}

// TestQRImageAndPage: the PNG decodes to exactly qr_content; the payment
// page shows the store, the total with its code, the QR and, on a sandbox
// store, a button that pays the invoice.
func TestQRImageAndPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		_, body := f.do(t, "POST", "/api/create_payment.php", "application/x-www-form-urlencoded", f.bearer(),
			strings.NewReader(fmt.Sprintf("store_id=%d&amount=25000", f.sandbox.ID)))
		_, cr := pinCreate(t, body)
		if cr.Data.QRURL != "https://pay.example/qr/"+cr.Data.Invoice+".png" {
			t.Fatalf("qr_url %q", cr.Data.QRURL)
		}
		resp, err := http.Get(f.srv.URL + "/qr/" + cr.Data.Invoice + ".png")
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("png: %v %s", err, resp.Header.Get("Content-Type"))
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("decode QR: %v", err)
		}
		if res.GetText() != cr.Data.QRContent {
			t.Fatalf("QR holds %q, want qr_content %q", res.GetText(), cr.Data.QRContent)
		}
		if status, _ := f.do(t, "GET", "/qr/INV2023120100000000000.png", "", nil, nil); status != 404 {
			t.Fatalf("unknown invoice's QR: %d", status)
		}

		status, page := f.do(t, "GET", "/pay.php?invoice="+cr.Data.Invoice, "", nil, nil)
		total := fmt.Sprint(cr.Data.Total)
		for _, want := range []string{"Toko Sandbox", "Menunggu pembayaran", "/qr/" + cr.Data.Invoice + ".png", "data-until",
			"<mark title=\"kode unik\">" + total[len(total)-3:] + "</mark>", "Simulasikan pembayaran", "Muat ulang"} {
			if status != 200 || !strings.Contains(page, want) {
				t.Fatalf("page lacks %q (status %d):\n%s", want, status, page)
			}
		}
		// Simulate: the invoice is paid through the matcher, once.
		for range 2 {
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.PostForm(f.srv.URL+"/pay.php/simulate", url.Values{"invoice": {cr.Data.Invoice}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		_, page = f.do(t, "GET", "/pay.php?invoice="+cr.Data.Invoice, "", nil, nil)
		if !strings.Contains(page, "Lunas") || strings.Contains(page, "Simulasikan") {
			t.Fatalf("after simulate:\n%s", page)
		}
		if bal, _ := ledger.Balance(context.Background(), d, ledger.MemberCode(f.owner.ID)); bal != cr.Data.Total {
			t.Fatalf("owner balance %d, want %d once", bal, cr.Data.Total)
		}
		// Not on a store outside sandbox.
		_, body = f.do(t, "POST", "/api/create_payment.php", "application/x-www-form-urlencoded", f.bearer(),
			strings.NewReader(fmt.Sprintf("store_id=%d&amount=25000", f.store.ID)))
		_, live := pinCreate(t, body)
		resp, err = http.PostForm(f.srv.URL+"/pay.php/simulate", url.Values{"invoice": {live.Data.Invoice}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("simulate on a live store: %d", resp.StatusCode)
		}
		f.clock.Add(61 * time.Minute)
		_, page = f.do(t, "GET", "/pay.php?invoice="+live.Data.Invoice, "", nil, nil)
		if !strings.Contains(page, "Kedaluwarsa") {
			t.Fatalf("expired page:\n%s", page)
		}
		rep, err := ledger.Verify(context.Background(), d)
		if err != nil || !rep.OK() {
			t.Fatalf("ledger: %v %s", err, rep)
		}
	})
}
