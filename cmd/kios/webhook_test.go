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

	"kios/internal/webhook"
)

// TestOrderWebhookEndToEnd: a member sets a webhook URL with the CLI while
// kios serves; an order settles; the member's receiver gets a signed
// transaction_status, and the status call then says webhook_sent.
func TestOrderWebhookEndToEnd(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			got := make(chan *http.Request, 10)
			bodies := make(chan []byte, 10)
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- r
				bodies <- b
				w.Write([]byte(`{"status":200,"message":"Webhook berhasil diproses"}`))
			}))
			defer recv.Close()

			dir := t.TempDir()
			dbArgs := databaseArgs(t, target)
			base, stop := startServe(t, append([]string{"--demo", "--webhook-allow-private", "--data-dir", dir}, dbArgs...)...)
			defer stop()
			info := readDemo(t, dir)

			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"kios", "webhook", "set", "--member", "demo", "--url", recv.URL, "--data-dir", dir}, dbArgs...), noEnv, &out, io.Discard); err != nil {
				t.Fatalf("webhook set: %v\n%s", err, out.String())
			}
			m := regexp.MustCompile(`signing secret: (whsec_\S+)`).FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no secret printed:\n%s", out.String())
			}
			secret := m[1]

			c := phpClient{base: base, key: info.APIKey, secret: info.SecretKey}
			created := c.do(t, "POST", "/api/prepaid/transaction/create", map[string]any{
				"target_product_code": "MLBB-BJ-V3-ALLMLBB_ID_5", "id": "1122334455", "server": "1234", "partner_reference": "INV-77"}, true)["data"].(map[string]any)
			ref := created["reference"].(string)

			var r *http.Request
			var body []byte
			select {
			case r = <-got:
				body = <-bodies
			case <-time.After(30 * time.Second):
				t.Fatal("no webhook arrived")
			}
			if err := webhook.Verify(secret, webhook.HeadersFrom(r.Header), body, time.Now(), 0); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
			var msg map[string]any
			json.Unmarshal(body, &msg)
			if msg["webhook_type"] != "transaction_status" || msg["reference"] != ref || msg["partner_reference"] != "INV-77" ||
				msg["status"] != "success" || !strings.HasPrefix(msg["note"].(string), "Transaksi berhasil pada ") {
				t.Fatalf("webhook body: %s", body)
			}
			var st map[string]any
			for range 100 {
				st = c.do(t, "GET", "/api/prepaid/transaction/"+ref, nil, false)["data"].(map[string]any)
				if st["webhook_sent"] == true {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if st["webhook_sent"] != true {
				t.Fatalf("webhook_sent never became true: %v", st)
			}
		})
	}
}

// TestFundingWebhookEndToEnd: a deposit made on the prepaid face and
// confirmed with the CLI, and a withdrawal rejected with the CLI, each
// reach the member's receiver as a signed transaction_status while kios
// serves; the status call then says webhook_sent for both (serve routes the
// delivery to the funding records by reference).
func TestFundingWebhookEndToEnd(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			type delivery struct {
				h    webhook.Headers
				body []byte
			}
			got := make(chan delivery, 10)
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- delivery{webhook.HeadersFrom(r.Header), b}
				w.Write([]byte(`{"status":200,"message":"Webhook berhasil diproses"}`))
			}))
			defer recv.Close()

			dir := t.TempDir()
			dbArgs := databaseArgs(t, target)
			base, stop := startServe(t, append([]string{"--demo", "--webhook-allow-private", "--data-dir", dir}, dbArgs...)...)
			defer stop()
			info := readDemo(t, dir)
			kios := func(args ...string) string {
				t.Helper()
				var out bytes.Buffer
				if err := run(context.Background(), append(append(append([]string{"kios"}, args...), "--data-dir", dir), dbArgs...), noEnv, &out, io.Discard); err != nil {
					t.Fatalf("kios %v: %v\n%s", args, err, out.String())
				}
				return out.String()
			}
			m := regexp.MustCompile(`signing secret: (whsec_\S+)`).FindStringSubmatch(kios("webhook", "set", "--member", "demo", "--url", recv.URL))
			if m == nil {
				t.Fatal("no secret printed")
			}
			secret := m[1]

			c := phpClient{base: base, key: info.APIKey, secret: info.SecretKey}
			dep := c.do(t, "POST", "/api/prepaid/transaction/deposit", map[string]any{"amount": 50000, "via": "bca"}, true)["data"].(map[string]any)["reference"].(string)
			wd := c.do(t, "POST", "/api/prepaid/transaction/withdraw", map[string]any{"amount": 20000, "bank": "bca",
				"account_number": "1234567890", "account_name": "Demo", "partner_reference": "WD-INV-9"}, true)["data"].(map[string]any)["reference"].(string)
			kios("deposit", "confirm", dep)
			kios("withdrawal", "reject", wd, "--reason", "Rekening tidak sesuai")

			want := map[string]string{dep: "success", wd: "failed"}
			for range 2 {
				var dl delivery
				select {
				case dl = <-got:
				case <-time.After(30 * time.Second):
					t.Fatal("a webhook did not arrive")
				}
				if err := webhook.Verify(secret, dl.h, dl.body, time.Now(), 0); err != nil {
					t.Fatalf("signature does not verify: %v", err)
				}
				var msg map[string]any
				json.Unmarshal(dl.body, &msg)
				ref, _ := msg["reference"].(string)
				if msg["webhook_type"] != "transaction_status" || want[ref] == "" || msg["status"] != want[ref] {
					t.Fatalf("unexpected webhook %s", dl.body)
				}
				st := c.do(t, "GET", "/api/prepaid/transaction/"+ref, nil, false)["data"].(map[string]any)
				if msg["note"] != st["note"] || msg["status"] != st["status"] || msg["partner_reference"] != st["partner_reference"] {
					t.Fatalf("webhook %s differs from the status call %v", dl.body, st)
				}
				delete(want, ref)
			}
			for _, ref := range []string{dep, wd} {
				var st map[string]any
				for range 100 {
					st = c.do(t, "GET", "/api/prepaid/transaction/"+ref, nil, false)["data"].(map[string]any)
					if st["webhook_sent"] == true {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if st["webhook_sent"] != true {
					t.Fatalf("%s: webhook_sent never became true: %v", ref, st)
				}
			}
		})
	}
}
