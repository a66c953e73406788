package hooks_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/order"
	"kios/internal/password"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/supplier"
	"kios/internal/supplier/prepaid"
	"kios/internal/supplier/simulator"
	"kios/internal/webhook"
)

func TestMain(m *testing.M) {
	password.Cost = 4
	os.Exit(m.Run())
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwHQ9CFOAf4lI="

// world is a kios whose product GAME-10 is delivered by the prepaid
// supplier "up" (here a simulator that keeps every order pending, so only
// the webhook can settle it), with its webhook endpoint on loopback.
type world struct {
	d       *db.DB
	url     string
	orders  *order.Service
	cat     *catalog.Store
	member  member.Member
	members *member.Store
}

func newWorld(t testing.TB, d *db.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{d: d, cat: catalog.NewStore(d, time.Now), members: member.NewStore(d, time.Now)}
	if _, err := w.cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true,
		Forms: []catalog.Field{{Label: "User ID", Key: "id", Type: catalog.Text}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.cat.AddProduct(ctx, catalog.NewProduct{Code: "GAME-10", Name: "10 Gems", Provider: "GAME", Active: true,
		SKUs: []catalog.SKU{{Supplier: "up", SKU: "UP-10", Cost: 900, Active: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.cat.SetRule(ctx, "reseller", 1000, 0); err != nil { // 10 %: 990
		t.Fatal(err)
	}
	var err error
	if w.member, err = w.members.Add(ctx, member.NewMember{Username: "budi", Level: "reseller", Password: "rahasia123"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error {
		if err := ledger.EnsureSystem(tx, time.Now()); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		_, err = ledger.Transfer(tx, "adjustment", "TEST", adj.ID, w.member.AccountID, 10_000, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	keys, err := webhook.NewKeyring([]byte(strings.Repeat("m", webhook.MasterKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	configs := prepaid.NewConfigs(d, keys, time.Now)
	local, _ := prepaid.ParseIPs([]string{"127.0.0.1", "::1"})
	elsewhere, _ := prepaid.ParseIPs([]string{"203.0.113.7"})
	for _, c := range []prepaid.Config{
		{Name: "up", WebhookIPs: local, SignatureSecret: secret},
		{Name: "far", WebhookIPs: elsewhere}, // right signature is not enough from the wrong address
		{Name: "open"},                       // neither: never believed
		{Name: "iponly", WebhookIPs: local},  // the references' way: source address only
	} {
		c.BaseURL, c.APIKey, c.SecretKey = "http://127.0.0.1:1", "key", "sec"
		if err := configs.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	pending := simulator.New(simulator.Config{PendingFor: time.Hour})
	w.orders = order.NewService(d, w.cat, supplier.Set{"up": pending, "iponly": pending}, time.Now, logger, order.Config{PollBackoff: []time.Duration{time.Hour}})
	srv := httptest.NewServer(server.New(server.Deps{
		Logger: logger, DB: d, Members: w.members, Limiter: ratelimit.New(1000, 1000, time.Now), Metrics: server.NewMetrics(),
		Now: time.Now, Catalog: w.cat, Orders: w.orders, SupplierConfigs: configs, SupplierRefs: prepaid.NewReferences(d, time.Now),
	}))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

// order creates an order for customer. No worker runs: the order stays
// processing, its job with the supplier "up", until a webhook settles it.
func (w *world) order(t testing.TB, customer string) order.Order {
	t.Helper()
	body := map[string]any{"target_product_code": "GAME-10", "id": customer}
	o, _, err := w.orders.Create(context.Background(), w.member, order.Request{ProductCode: "GAME-10", Form: body, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// post sends a supplier webhook, signed with sign when it is not "".
func (w *world) post(t testing.TB, name, body, sign string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", w.url+"/hooks/supplier/"+name, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sign != "" {
		h, err := webhook.Sign([]string{sign}, "msg_1", time.Now(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		h.Set(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (w *world) status(t *testing.T, ref string) order.Order {
	t.Helper()
	o, err := w.orders.ByReference(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (w *world) entries(t testing.TB) int64 {
	t.Helper()
	var n int64
	if err := w.d.QueryRow(context.Background(), "SELECT COUNT(*) FROM entries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *world) verify(t testing.TB) {
	t.Helper()
	if r, err := ledger.Verify(context.Background(), w.d); err != nil || !r.OK() {
		t.Fatalf("ledger: %v %v", r, err)
	}
}

const (
	invalidSignature = `{"status":400,"message":"Invalid signature"}`
	processed        = `{"status":200,"message":"Webhook berhasil diproses"}`
)

func successFor(ref string) string {
	return `{"webhook_type":"transaction_status","reference":"TRXUP1","partner_reference":"` + ref +
		`","status":"success","sn":"SN-123","note":"Transaksi berhasil","sent_at":"2024-07-02T13:11:43.249729Z"}`
}

// TestRefusals: an unknown supplier, a wrong source address, a bad or
// missing signature, and a supplier with neither check configured are all
// answered 400 Invalid signature, and the order stays as it was.
func TestRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		o := w.order(t, "111")
		before := w.entries(t)
		other := "whsec_" + strings.Repeat("QUJD", 8)
		for _, tc := range []struct{ name, supplier, sign string }{
			{"unknown supplier", "nobody", secret},
			{"wrong address", "far", secret},
			{"no signature", "up", ""},
			{"wrong signature", "up", other},
			{"nothing configured", "open", ""},
		} {
			code, body := w.post(t, tc.supplier, successFor(o.Reference), tc.sign)
			if code != 400 || body != invalidSignature {
				t.Fatalf("%s: %d %s", tc.name, code, body)
			}
		}
		// A body altered after signing.
		req, _ := http.NewRequest("POST", w.url+"/hooks/supplier/up", strings.NewReader(successFor(o.Reference)))
		h, _ := webhook.Sign([]string{secret}, "msg_2", time.Now(), []byte(strings.Replace(successFor(o.Reference), "success", "failed", 1)))
		h.Set(req.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || string(b) != invalidSignature {
			t.Fatalf("altered body: %d %s", resp.StatusCode, b)
		}
		if got := w.status(t, o.Reference); got.Status != order.Processing || w.entries(t) != before {
			t.Fatalf("a refused webhook changed something: %+v", got)
		}
		w.verify(t)
	})
}

// TestTransactionStatus: success settles the order with the supplier's SN,
// failed refunds it, repeats change nothing, an order named only by the
// supplier's reference is found, and unknown references get the spec's
// message.
func TestTransactionStatus(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		ok := w.order(t, "111")
		bad := w.order(t, "222")
		viaTheirs := w.order(t, "333")

		for range 2 { // the second time is a repeat
			if code, body := w.post(t, "up", successFor(ok.Reference), secret); code != 200 || body != processed {
				t.Fatalf("success: %d %s", code, body)
			}
		}
		if got := w.status(t, ok.Reference); got.Status != order.Success || got.SN != "SN-123" || got.Supplier != "up" {
			t.Fatalf("after success: %+v", got)
		}
		entries := w.entries(t)
		failed := `{"webhook_type":"transaction_status","reference":"TRXUP2","partner_reference":"` + bad.Reference + `","status":"failed","sn":"N/A","note":"gagal"}`
		for range 2 {
			if code, body := w.post(t, "up", failed, secret); code != 200 || body != processed {
				t.Fatalf("failed: %d %s", code, body)
			}
		}
		if got := w.status(t, bad.Reference); got.Status != order.Failed {
			t.Fatalf("after failed: %+v", got)
		}
		if n := w.entries(t); n != entries+1 {
			t.Fatalf("the refund was booked %d times", n-entries)
		}
		// A late, contradicting report about a settled order changes nothing.
		if code, _ := w.post(t, "up", successFor(bad.Reference), secret); code != 200 || w.status(t, bad.Reference).Status != order.Failed {
			t.Fatal("a settled order was changed")
		}
		balance, _ := w.members.Balance(ctx, w.member.ID)
		if want := int64(10_000 - 990 - 990); balance != want { // two orders still charged: ok and viaTheirs
			t.Fatalf("balance %d, want %d", balance, want)
		}

		// The references' webhook names only the supplier's reference.
		if err := prepaid.NewReferences(d, time.Now).Remember(ctx, "iponly", viaTheirs.Reference, "API24070244415211481"); err != nil {
			t.Fatal(err)
		}
		if err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec("UPDATE fulfilment_jobs SET supplier = 'iponly' WHERE order_id = (SELECT id FROM orders WHERE reference = ?)", viaTheirs.Reference)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ref := `{"webhook_type":"transaction_status","reference":"API24070244415211481","status":"success","sn":"N\/A","note":"ok","sent_at":"2024-07-02T13:11:43.249729Z"}`
		if code, body := w.post(t, "iponly", ref, ""); code != 200 || body != processed {
			t.Fatalf("by their reference: %d %s", code, body)
		}
		if got := w.status(t, viaTheirs.Reference); got.Status != order.Success || got.Supplier != "iponly" {
			t.Fatalf("by their reference: %+v", got)
		}

		for _, tc := range []struct{ body, want string }{
			{`{"webhook_type":"transaction_status","reference":"API1","status":"success"}`, `{"status":400,"message":"Transaksi tidak ditemukan: API1"}`},
			{`{"webhook_type":"transaction_status","reference":"TRXZ","partner_reference":"TRX000","status":"success"}`, `{"status":400,"message":"Transaksi tidak ditemukan: TRXZ"}`},
			{`{"webhook_type":"transaction_status","reference":"TRXZ","partner_reference":"` + ok.Reference + `","status":"weird"}`, `{"status":400,"message":"Kolom status tidak valid"}`},
			{`{"webhook_type":"nope"}`, `{"status":400,"message":"Kolom webhook_type tidak valid"}`},
			{`{not json`, `{"status":400,"message":"Body permintaan bukan JSON yang valid"}`},
		} {
			if code, body := w.post(t, "up", tc.body, secret); code != 400 || body != tc.want {
				t.Fatalf("%s: %d %s, want %s", tc.body, code, body, tc.want)
			}
		}
		w.verify(t)
	})
}

// TestPriceUpdate: the supplier's new prices become our costs of its SKUs
// and our rule-priced selling prices follow.
func TestPriceUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d)
		body := `{"webhook_type":"price_update","data":[{"product_code":"UP-10","price_old":900,"price_new":1000},{"product_code":"UNKNOWN","price_old":1,"price_new":2}]}`
		for range 2 {
			if code, got := w.post(t, "up", body, secret); code != 200 || got != `{"status":200,"message":"Harga berhasil diperbarui"}` {
				t.Fatalf("price_update: %d %s", code, got)
			}
		}
		p, err := w.cat.Product(ctx, "GAME-10", "reseller")
		if err != nil || p.Cost != 1000 || p.Price != 1100 {
			t.Fatalf("after price_update: cost %d price %d %v", p.Cost, p.Price, err)
		}
		if code, _ := w.post(t, "far", strings.Replace(body, "1000", "5", 1), secret); code != 400 {
			t.Fatal("a refused price_update was taken")
		}
		if p, _ := w.cat.Product(ctx, "GAME-10", "reseller"); p.Cost != 1000 {
			t.Fatalf("a refused price_update changed the cost to %d", p.Cost)
		}
	})
}

// TestNULs: text that PostgreSQL cannot store is no server error. A
// reference with a NUL is one we never gave (400 not found, nothing
// changes); a serial number or note with one settles the order with the
// NUL left out.
func TestNULs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		o := w.order(t, "111")
		for _, tc := range []struct{ body, want string }{
			{`{"webhook_type":"transaction_status","partner_reference":"` + o.Reference + `\u0000","status":"success"}`,
				`{"status":400,"message":"Transaksi tidak ditemukan: ` + o.Reference + `\u0000"}`},
			{`{"webhook_type":"transaction_status","reference":"API\u00001","status":"success"}`,
				`{"status":400,"message":"Transaksi tidak ditemukan: API\u00001"}`},
		} {
			if code, body := w.post(t, "up", tc.body, secret); code != 400 || body != tc.want {
				t.Fatalf("%s: %d %s, want %s", tc.body, code, body, tc.want)
			}
		}
		if got := w.status(t, o.Reference); got.Status != order.Processing {
			t.Fatalf("a NUL reference settled the order: %+v", got)
		}
		body := `{"webhook_type":"transaction_status","partner_reference":"` + o.Reference + `","status":"success","sn":"SN\u00001","note":"ok\u0000"}`
		if code, got := w.post(t, "up", body, secret); code != 200 || got != processed {
			t.Fatalf("NUL in sn: %d %s", code, got)
		}
		if got := w.status(t, o.Reference); got.Status != order.Success || got.SN != "SN1" {
			t.Fatalf("after a NUL in sn: %+v", got)
		}
		w.verify(t)
	})
}
