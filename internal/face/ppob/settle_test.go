package ppob_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
	"kios/internal/webhook"
)

// TestEwalletFailover: GOPAY's first supplier is down; the top-up goes to
// the second, whose fee the reseller's admin fee (1.500) still covers. The
// member pays amount + admin fee once, the second supplier is owed amount +
// its fee, the margin is the difference; the first is owed nothing. When
// the second's fee is above the admin fee there is nowhere to fail over to:
// FAILED, and the charge comes back.
func TestEwalletFailover(t *testing.T) {
	cases := []struct {
		name      string
		secondFee int64
		status    string
		charged   int64 // what the member pays in the end
		owedB     int64 // what kios owes the second supplier
		revenue   int64
	}{
		{"second supplier covered by the admin fee", 1_200, "SUCCESS", 51_500, 51_200, 300},
		{"second supplier dearer than the admin fee", 1_600, "FAILED", 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				down := simulator.New(simulator.Config{FailAll: true})
				up := simulator.New(simulator.Config{})
				f := newFixture(t, d, options{balance: 500_000,
					suppliers: supplier.Set{"sim-a": down, "sim-b": up},
					skus: []catalog.SKU{
						{Supplier: "sim-a", SKU: "EW-GOPAY-A", Priority: 1, Cost: 1_000, Active: true},
						{Supplier: "sim-b", SKU: "EW-GOPAY-B", Priority: 2, Cost: c.secondFee, Active: true},
					}})
				_, b := f.post(t, "/ewallet/transaction", `{"req_id":"FO-1","product_id":"GOPAY","cust_id":"081234567890","amount":"50000"}`)
				a := decode(t, b)
				if a.Data == nil || a.Data.Status != c.status {
					t.Fatalf("answer %s, want %s", b, c.status)
				}
				if got := 500_000 - f.balance(t); got != c.charged {
					t.Errorf("member paid %d, want %d", got, c.charged)
				}
				ref := a.Data.RefID
				if down.Submissions(ref) != 1 {
					t.Errorf("first supplier got %d submissions, want 1", down.Submissions(ref))
				}
				wantB := 0
				if c.status == "SUCCESS" {
					wantB = 1
				}
				if up.Submissions(ref) != wantB {
					t.Errorf("second supplier got %d submissions, want %d", up.Submissions(ref), wantB)
				}
				for code, want := range map[string]int64{
					ledger.SupplierCode("sim-a"): 0, ledger.SupplierCode("sim-b"): c.owedB, ledger.Revenue: c.revenue, ledger.Inflight: 0,
				} {
					if got, err := ledger.Total(ctx, d, code); err != nil || got != want {
						t.Errorf("%s: %d %v, want %d", code, got, err, want)
					}
				}
				verify(t, d)
			})
		})
	}
}

// TestEwalletWebhook: a settled top-up reaches the member's webhook
// receiver as a signed transaction_status naming the req_id as
// partner_reference, through the real delivery worker.
func TestEwalletWebhook(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		type message struct {
			Type             string `json:"webhook_type"`
			Reference        string `json:"reference"`
			PartnerReference string `json:"partner_reference"`
			Status           string `json:"status"`
			SN               string `json:"sn"`
		}
		type received struct {
			h    http.Header
			body []byte
		}
		got := make(chan received, 10)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- received{r.Header.Clone(), b}
			w.Write([]byte(`{"status":200}`))
		}))
		defer recv.Close()
		keys, err := webhook.NewKeyring(make([]byte, webhook.MasterKeySize))
		if err != nil {
			t.Fatal(err)
		}
		hooks := webhook.NewService(d, keys, nil, nil, webhook.ClientOptions{AllowPrivate: true})
		f := newFixture(t, d, options{balance: 500_000, notify: hooks.Poke})
		if err := hooks.SetURL(ctx, f.zorro.ID, recv.URL); err != nil {
			t.Fatal(err)
		}
		secret, err := hooks.Secret(ctx, f.zorro.ID)
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { hooks.Run(runCtx); close(done) }()
		defer func() { stop(); <-done }()

		_, b := f.post(t, "/ewallet/transaction", `{"req_id":"HOOK-1","product_id":"GOPAY","cust_id":"081234567890","amount":"25000"}`)
		a := decode(t, b)
		if a.Data == nil || a.Data.Status != "SUCCESS" {
			t.Fatalf("answer %s", b)
		}
		select {
		case r := <-got:
			if err := webhook.Verify(secret, webhook.HeadersFrom(r.h), r.body, time.Now(), 0); err != nil {
				t.Fatalf("signature: %v", err)
			}
			var m message
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Fatal(err)
			}
			if m.Type != "transaction_status" || m.Reference != a.Data.RefID || m.PartnerReference != "HOOK-1" ||
				m.Status != "success" || m.SN != a.Data.SerialNo {
				t.Fatalf("webhook %s for answer %s", r.body, b)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no webhook arrived")
		}
		verify(t, d)
	})
}
