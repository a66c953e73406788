package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/config"
	"kios/internal/db"
	"kios/internal/ledger"
	"kios/internal/webhook"
)

// kiosCmd runs one kios command and returns its output.
func kiosCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"kios"}, args...), noEnv, &out, io.Discard); err != nil {
		t.Fatalf("kios %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// memberReceiver is a member's webhook endpoint that records what it gets.
type memberReceiver struct {
	srv  *httptest.Server
	msgs chan arrival
}

type arrival struct {
	h    http.Header
	body []byte
}

func newMemberReceiver(t *testing.T) *memberReceiver {
	r := &memberReceiver{msgs: make(chan arrival, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.msgs <- arrival{req.Header.Clone(), b}
		w.Write([]byte(`{"status":200,"message":"Webhook berhasil diproses"}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next returns the next message of kind, checking its signature with secret.
func (r *memberReceiver) next(t *testing.T, kind, secret string) map[string]any {
	t.Helper()
	deadline := time.After(45 * time.Second)
	for {
		select {
		case m := <-r.msgs:
			if err := webhook.Verify(secret, webhook.HeadersFrom(m.h), m.body, time.Now(), 0); err != nil {
				t.Fatalf("signature of %s: %v", m.body, err)
			}
			var v map[string]any
			json.Unmarshal(m.body, &v)
			if v["webhook_type"] == kind {
				return v
			}
		case <-deadline:
			t.Fatalf("no %s webhook arrived", kind)
			return nil
		}
	}
}

// TestTwoKios: kios B runs the simulator; kios A has B as its prepaid
// supplier, with its catalog imported from B. A member of A orders, A
// orders at B, B settles and tells A through A's supplier webhook, A
// settles and tells its member; again with B's webhook to A lost (A learns
// by polling); and a price change at B reaches A's member as A's own
// price_update. Every signature is checked; both ledgers verify.
func TestTwoKios(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dirA, dirB := t.TempDir(), t.TempDir()
			dbA, dbB := databaseArgs(t, target), databaseArgs(t, target)
			argsA := append([]string{"--demo", "--webhook-allow-private", "--data-dir", dirA}, dbA...)
			argsB := append([]string{"--demo", "--webhook-allow-private", "--data-dir", dirB}, dbB...)
			cmdA := func(args ...string) string { return kiosCmd(t, append(append(args, "--data-dir", dirA), dbA...)...) }
			cmdB := func(args ...string) string { return kiosCmd(t, append(append(args, "--data-dir", dirB), dbB...)...) }

			baseB, stopB := startServe(t, argsB...)
			defer stopB()
			infoB := readDemo(t, dirB)
			baseA, stopA := startServe(t, argsA...)
			infoA := readDemo(t, dirA)

			// B sends A's account (B's demo member) its webhooks at A's
			// supplier endpoint, signed with the secret B prints.
			out := cmdB("webhook", "set", "--member", "demo", "--url", baseA+"/hooks/supplier/kiosb")
			secretB := regexp.MustCompile(`signing secret: (whsec_\S+)`).FindStringSubmatch(out)[1]
			cmdA("supplier", "add", "--name", "kiosb", "--kind", "prepaid", "--base-url", baseB, "--api-key", infoB.APIKey,
				"--secret-key", infoB.SecretKey, "--webhook-ips", "127.0.0.1,::1", "--signature-secret", secretB)
			if list := cmdA("supplier", "list"); !strings.Contains(list, "kiosb (prepaid "+baseB) || strings.Contains(list, infoB.SecretKey) || strings.Contains(list, infoB.APIKey) {
				t.Fatalf("supplier list: %s", list)
			}
			out = cmdA("supplier", "import", "kiosb", "--prefix", "B-")
			if !strings.Contains(out, "providers and") || strings.Contains(out, " 0 products added") {
				t.Fatalf("import: %s", out)
			}
			// Importing again changes nothing.
			if again := cmdA("supplier", "import", "kiosb", "--prefix", "B-"); !strings.Contains(again, "0 providers and 0 products added, 0 SKUs added to existing products, 0 costs changed") {
				t.Fatalf("second import: %s", again)
			}
			// A orders through B from its next start; B must know A's new address.
			if err := stopA(); err != nil {
				t.Fatal(err)
			}
			baseA, stopA = startServe(t, argsA...)
			defer stopA()
			cmdB("webhook", "set", "--member", "demo", "--url", baseA+"/hooks/supplier/kiosb")

			// The operator API's import goes through the same importer: a
			// third import, by an operator, finds nothing new either.
			body := `{"supplier":"kiosb","prefix":"B-","comment":"sync from B"}`
			req, _ := http.NewRequest("POST", baseA+"/api/admin/catalog/import", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+infoA.Operator.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var answer struct{ Data map[string]any }
			json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
			imp := answer.Data
			if resp.StatusCode != 200 || imp["providers_added"] != 0.0 || imp["products_added"] != 0.0 || imp["costs_changed"] != 0.0 {
				t.Fatalf("operator import: %d %v", resp.StatusCode, imp)
			}
			req, _ = http.NewRequest("POST", baseA+"/api/admin/catalog/import", strings.NewReader(`{"supplier":"nobody","comment":"x"}`))
			req.Header.Set("Authorization", "Bearer "+infoA.Operator.Token)
			req.Header.Set("Content-Type", "application/json")
			if resp, err = http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("import from an unknown supplier: %d, want 404", resp.StatusCode)
			}

			recv := newMemberReceiver(t)
			out = cmdA("webhook", "set", "--member", "demo", "--url", recv.srv.URL)
			secretA := regexp.MustCompile(`signing secret: (whsec_\S+)`).FindStringSubmatch(out)[1]
			memberA := phpClient{base: baseA, key: infoA.APIKey, secret: infoA.SecretKey}
			atB := phpClient{base: baseB, key: infoB.APIKey, secret: infoB.SecretKey}

			const code = "MLBB-BJ-V3-ALLMLBB_ID_10"
			orderAt := func(pref string) (ref string, bStatus map[string]any) {
				created := memberA.do(t, "POST", "/api/prepaid/transaction/create", map[string]any{
					"target_product_code": "B-" + code, "id": "1122334455", "server": "1234", "partner_reference": pref}, true)["data"].(map[string]any)
				ref = created["reference"].(string)
				msg := recv.next(t, "transaction_status", secretA)
				if msg["reference"] != ref || msg["partner_reference"] != pref || msg["status"] != "success" || msg["sn"] == "N/A" {
					t.Fatalf("A's webhook to its member: %v", msg)
				}
				// B has the order under A's reference, settled with the same SN.
				bStatus = atB.do(t, "GET", "/api/prepaid/transaction?partner_reference="+ref, nil, false)["data"].(map[string]any)
				if bStatus["status"] != "success" || bStatus["sn"] != msg["sn"] {
					t.Fatalf("the order at B: %v, A said %v", bStatus, msg)
				}
				return ref, bStatus
			}

			// 1. B's webhook reaches A (B records it delivered only when A
			// accepted it: A checked B's IP and signature).
			_, st := orderAt("INV-1")
			for i := 0; st["webhook_sent"] != true && i < 200; i++ {
				time.Sleep(50 * time.Millisecond)
				st = atB.do(t, "GET", "/api/prepaid/transaction/"+st["reference"].(string), nil, false)["data"].(map[string]any)
			}
			if st["webhook_sent"] != true {
				t.Fatalf("B's webhook never reached A: %v", st)
			}

			// 2. B's webhook is lost (nothing listens there): A polls.
			cmdB("webhook", "set", "--member", "demo", "--url", "http://127.0.0.1:9/lost")
			if _, st := orderAt("INV-2"); st["webhook_sent"] != false {
				t.Fatalf("the lost webhook was delivered? %v", st)
			}
			cmdB("webhook", "set", "--member", "demo", "--url", baseA+"/hooks/supplier/kiosb")

			// 3. A price change at B reaches A's member as A's price.
			ctx := context.Background()
			b := openData(t, dirB, dbB)
			catB := catalog.NewStore(b, time.Now)
			var sku string
			if err := b.QueryRow(ctx, `SELECT k.sku FROM product_skus k JOIN products p ON p.id = k.product_id
				WHERE p.code = ? AND k.supplier = 'simulator'`, code).Scan(&sku); err != nil {
				t.Fatal(err)
			}
			before, err := catB.Product(ctx, code, "reseller")
			if err != nil {
				t.Fatal(err)
			}
			a := openData(t, dirA, dbA)
			catA := catalog.NewStore(a, time.Now)
			oldA, err := catA.Product(ctx, "B-"+code, "reseller")
			if err != nil || oldA.Cost != before.Price {
				t.Fatalf("A's cost %d is not B's price %d: %v", oldA.Cost, before.Price, err)
			}
			if _, err := catB.ApplyCosts(ctx, "simulator", map[string]int64{sku: before.Cost + 250}); err != nil {
				t.Fatal(err)
			}
			newB := catalog.Rule{PercentBP: 300}.Apply(before.Cost + 250) // B's reseller rule
			wantA := catalog.Rule{PercentBP: 300}.Apply(newB)             // A's reseller rule over B's price
			msg := recv.next(t, "price_update", secretA)
			rows, _ := msg["data"].([]any)
			if len(rows) != 1 {
				t.Fatalf("price_update to A's member: %v", msg)
			}
			row := rows[0].(map[string]any)
			if row["product_code"] != "B-"+code || row["price_old"] != float64(oldA.Price) || row["price_new"] != float64(wantA) {
				t.Fatalf("price_update row %v, want B-%s %d → %d", row, code, oldA.Price, wantA)
			}
			// (A fresh store: catA's cache may hold the product from before.)
			if p, _ := catalog.NewStore(a, time.Now).Product(ctx, "B-"+code, "reseller"); p.Cost != newB || p.Price != wantA {
				t.Fatalf("A's product after the change: cost %d price %d", p.Cost, p.Price)
			}

			for name, d := range map[string]*db.DB{"A": a, "B": b} {
				if r, err := ledger.Verify(ctx, d); err != nil || !r.OK() {
					t.Fatalf("ledger %s: %v %v", name, r, err)
				}
			}
		})
	}
}

// openData opens a running kios's database beside it (SQLite allows it;
// PostgreSQL is shared anyway).
func openData(t *testing.T, dir string, dbArgs []string) *db.DB {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	if len(dbArgs) >= 2 {
		cfg.DatabaseURL = dbArgs[1]
	}
	d, _, err := openDB(context.Background(), cfg, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
