package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/dbtest"
	"kios/internal/ledger"
)

// TestTwoServersDeliverEachWebhookOnce: two `kios serve` processes share
// one PostgreSQL database, both running delivery workers; 300 orders are
// placed through both. Every order's webhook reaches the receiver, none is
// answered twice: each webhook-id gets exactly one request, except the
// tenth of them the receiver refuses once (HTTP 500), which get exactly two
// — the genuine retry. The outbox's attempt records match the requests,
// and both processes delivered some of the webhooks (each names itself in
// its User-Agent).
func TestTwoServersDeliverEachWebhookOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes and waits for retries")
	}
	const orders = 300
	dir := t.TempDir()
	dsn := dbtest.DSN(t, "postgres")
	if dsn == "" {
		t.Skip("PostgreSQL only: SQLite is one process's file, and KIOS_TEST_POSTGRES_URL is not set")
	}
	args := []string{"--demo", "--webhook-allow-private", "--data-dir", dir, "--database", dsn,
		"--rate", "100000", "--rate-burst", "100000"}
	recv := newReceiver(t)
	forced := func(id string) bool {
		n, _ := strconv.Atoi(strings.TrimPrefix(id, "msg_"))
		return n%10 == 0
	}
	recv.setAnswer(func(id string, n int) int {
		if n == 1 && forced(id) {
			return 500
		}
		return 200
	})
	// One after the other: the second reuses the demo data and the master
	// key file the first created.
	a := startChild(t, args...)
	b := startChild(t, args...)
	info := readDemo(t, dir)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"kios", "webhook", "set", "--member", "demo", "--url", recv.url,
		"--data-dir", dir, "--database", dsn}, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("webhook set: %v\n%s", err, out.String())
	}

	refs := make(chan string, orders)
	var wg sync.WaitGroup
	for w := range 8 {
		base := []string{a.base, b.base}[w%2]
		wg.Go(func() {
			c := phpClient{base: base, key: info.APIKey, secret: info.SecretKey}
			for i := w; i < orders; i += 8 {
				data := c.do(t, "POST", "/api/prepaid/transaction/create", map[string]any{
					"target_product_code": "MLBB-BJ-V3-ALLMLBB_ID_5", "id": "1122334455", "server": "1234",
					"partner_reference": fmt.Sprintf("TWO-%d", i)}, true)["data"].(map[string]any)
				refs <- data["reference"].(string)
			}
		})
	}
	wg.Wait()
	close(refs)
	want := map[string]bool{}
	for r := range refs {
		want[r] = true
	}
	if len(want) != orders {
		t.Fatalf("%d distinct references for %d orders", len(want), orders)
	}

	delivered := func(g []received) map[string]string { // reference → webhook-id, for 200 answers
		out := map[string]string{}
		for _, r := range g {
			if r.status != 200 {
				continue
			}
			var m struct{ Reference string }
			json.Unmarshal(r.body, &m)
			out[m.Reference] = r.header.Get("webhook-id")
		}
		return out
	}
	recv.waitFor(t, 90*time.Second, "every order's webhook", func(g []received) bool { return len(delivered(g)) >= orders })
	time.Sleep(2 * time.Second) // room for a duplicate to show itself
	a.stop()
	b.stop()

	got := recv.requests()
	per := map[string][]int{} // webhook-id → statuses answered
	for _, r := range got {
		id := r.header.Get("webhook-id")
		per[id] = append(per[id], r.status)
	}
	refsSeen := delivered(got)
	for ref := range want {
		if refsSeen[ref] == "" {
			t.Errorf("%s: no webhook delivered", ref)
		}
	}
	nForced := 0
	for id, statuses := range per {
		wantStatuses := "[200]"
		if forced(id) {
			wantStatuses = "[500 200]"
			nForced++
		}
		if fmt.Sprint(statuses) != wantStatuses {
			t.Errorf("%s answered %v, want %s", id, statuses, wantStatuses)
		}
	}
	if len(per) != orders || nForced == 0 {
		t.Errorf("%d webhook-ids (%d retried), want %d with some retried", len(per), nForced, orders)
	}
	byInstance := map[string]int{} // User-Agent → requests
	for _, r := range got {
		byInstance[r.header.Get("User-Agent")]++
	}
	if len(byInstance) != 2 {
		t.Errorf("requests by User-Agent: %v, want some from each of two processes", byInstance)
	}
	for ua := range byInstance {
		if !regexp.MustCompile(`^kios-webhook/1 \([0-9a-f]{8}\)$`).MatchString(ua) {
			t.Errorf("User-Agent %q does not name the process", ua)
		}
	}
	d := dbtest.Open(t, dsn)
	var attempts, pending int
	if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM webhook_attempts").Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM webhook_messages WHERE status <> 'delivered'").Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if attempts != len(got) || pending != 0 {
		t.Errorf("%d attempts recorded for %d requests; %d messages not delivered", attempts, len(got), pending)
	}
	r, err := ledger.Verify(context.Background(), d)
	if err != nil || !r.OK() {
		t.Fatalf("ledger verify: %v\n%s", err, r)
	}
	t.Logf("%d orders through two processes: %d requests, %d genuine retries; requests by process %v", orders, len(got), nForced, byInstance)
}
