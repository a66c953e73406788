package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
	"kios/internal/webhook"
)

// TestWebhookSurvivesKill: kios settles an order and its webhook's first
// attempt fails (the receiver answers 500); kios is then killed with
// SIGKILL before any retry. A new kios on the same data delivers the
// webhook at its retry time, with the same webhook-id and body, signed with
// the member's secret (opened with the same master key file), and the
// status call then says webhook_sent.
func TestWebhookSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes and waits for a retry")
	}
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dsn, dbArgs := databaseDSN(t, target, dir)
			args := append([]string{"--demo", "--webhook-allow-private", "--data-dir", dir}, dbArgs...)
			recv := newReceiver(t)
			recv.setAnswer(func(string, int) int { return 500 })

			first := startChild(t, args...)
			info := readDemo(t, dir)
			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"kios", "webhook", "set", "--member", "demo", "--url", recv.url, "--data-dir", dir}, dbArgs...), noEnv, &out, io.Discard); err != nil {
				t.Fatalf("webhook set: %v\n%s", err, out.String())
			}
			m := regexp.MustCompile(`signing secret: (whsec_\S+)`).FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no secret printed:\n%s", out.String())
			}
			secret := m[1]

			c := phpClient{base: first.base, key: info.APIKey, secret: info.SecretKey}
			ref := c.do(t, "POST", "/api/prepaid/transaction/create", map[string]any{
				"target_product_code": "MLBB-BJ-V3-ALLMLBB_ID_5", "id": "1122334455", "server": "1234"}, true)["data"].(map[string]any)["reference"].(string)
			firstTry := recv.waitFor(t, 30*time.Second, "the first attempt", func(g []received) bool { return len(g) >= 1 })[0]

			// Kill once the failed attempt is recorded (its retry is then
			// scheduled about 10 s later), so the restart finds the
			// message pending and not leased.
			d := dbtest.Open(t, dsn)
			waitAttempts(t, d, 1)
			first.kill(t)
			if n := len(recv.requests()); n != 1 {
				t.Fatalf("%d requests before the restart, want 1", n)
			}

			recv.setAnswer(func(string, int) int { return 200 })
			second := startChild(t, args...)
			got := recv.waitFor(t, 40*time.Second, "the retry after the restart", func(g []received) bool { return len(g) >= 2 })
			retry := got[1]
			if retry.header.Get("webhook-id") != firstTry.header.Get("webhook-id") || !bytes.Equal(retry.body, firstTry.body) {
				t.Fatalf("the retry is another message:\n%v %s\n%v %s", firstTry.header, firstTry.body, retry.header, retry.body)
			}
			if err := webhook.Verify(secret, webhook.HeadersFrom(retry.header), retry.body, time.Now(), 0); err != nil {
				t.Fatalf("the retry's signature does not verify: %v", err)
			}
			var msg map[string]any
			json.Unmarshal(retry.body, &msg)
			if msg["webhook_type"] != "transaction_status" || msg["reference"] != ref || msg["status"] != "success" {
				t.Fatalf("webhook body %s", retry.body)
			}
			c.base = second.base
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
			second.stop()
			if len(recv.requests()) != 2 {
				t.Fatalf("%d requests in all, want 2", len(recv.requests()))
			}
			r, err := ledger.Verify(context.Background(), d)
			if err != nil || !r.OK() {
				t.Fatalf("ledger verify: %v\n%s", err, r)
			}
		})
	}
}

// waitAttempts waits until the outbox has recorded n delivery attempts.
func waitAttempts(t *testing.T, d *db.DB, n int) {
	t.Helper()
	for range 300 {
		var got int
		if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM webhook_attempts").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fewer than %d attempts recorded", n)
}
