package funding_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/ledger"
	"kios/internal/webhook"
)

// statusMessage is a transaction_status webhook as a receiver reads it.
type statusMessage struct {
	Type             string  `json:"webhook_type"`
	Reference        string  `json:"reference"`
	PartnerReference *string `json:"partner_reference"`
	Status           string  `json:"status"`
	SN               string  `json:"sn"`
	Note             string  `json:"note"`
	SentAt           string  `json:"sent_at"`
}

// outbox returns the transaction_status messages written for member, oldest
// first.
func (e *env) outbox(t *testing.T, memberID int64) []statusMessage {
	t.Helper()
	rows, err := e.d.Query(context.Background(), `SELECT kind, reference, payload FROM webhook_messages
		WHERE member_id = ? ORDER BY id`, memberID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []statusMessage
	for rows.Next() {
		var kind, ref, payload string
		if err := rows.Scan(&kind, &ref, &payload); err != nil {
			t.Fatal(err)
		}
		var m statusMessage
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			t.Fatal(err)
		}
		if kind != webhook.KindTransactionStatus || ref != m.Reference {
			t.Fatalf("message kind %q reference %q for %s", kind, ref, payload)
		}
		out = append(out, m)
	}
	return out
}

// hooks returns a webhook service on e's database and clock.
func (e *env) hooks(t *testing.T) *webhook.Service {
	t.Helper()
	keys, err := webhook.NewKeyring(make([]byte, webhook.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return webhook.NewService(e.d, keys, e.clk.Now, nil, webhook.ClientOptions{AllowPrivate: true})
}

// TestFundingWebhooks: each end of a deposit or withdrawal writes one
// transaction_status message to the member's outbox, with the status and
// note the status call shows, in the transaction of the change; a decision
// that loses writes none, and a member without a URL gets none.
func TestFundingWebhooks(t *testing.T) {
	cases := []struct {
		name     string
		withdraw bool
		decide   func(e *env, ref string) error
		status   string
		note     string // the note's start
		balance  int64  // the member's balance after (from 100 000)
	}{
		{name: "deposit confirmed", decide: func(e *env, ref string) error {
			_, err := e.svc.Confirm(context.Background(), ref, "op")
			return err
		}, status: funding.Success, note: "Transaksi berhasil pada 2024/07/12 15:10:35 WIB", balance: 150_007},
		{name: "deposit rejected", decide: func(e *env, ref string) error {
			_, err := e.svc.Reject(context.Background(), ref, "op", "Tidak ada dana masuk")
			return err
		}, status: funding.Expired, note: "Transaksi dibatalkan pada 2024/07/12 15:10:35 WIB: Tidak ada dana masuk", balance: 100_000},
		{name: "deposit expired", decide: func(e *env, ref string) error {
			e.clk.Set(t0.Add(25 * time.Hour))
			n, err := e.svc.ExpireDue(context.Background())
			if err == nil && n != 2 { // both members' deposits
				t.Errorf("expired %d deposits, want 2", n)
			}
			return err
		}, status: funding.Expired, note: "Transaksi kedaluwarsa pada 2024/07/13 15:10:35 WIB", balance: 100_000},
		{name: "withdrawal accepted", withdraw: true, decide: func(e *env, ref string) error {
			_, err := e.svc.AcceptWithdrawal(context.Background(), ref, "op")
			return err
		}, status: funding.Success, note: "Transaksi berhasil pada 2024/07/12 15:10:35 WIB", balance: 50_000},
		{name: "withdrawal rejected: refunded", withdraw: true, decide: func(e *env, ref string) error {
			_, err := e.svc.RejectWithdrawal(context.Background(), ref, "op", "Rekening tidak sesuai")
			return err
		}, status: funding.Failed, note: "Transaksi gagal pada 2024/07/12 15:10:35 WIB: Rekening tidak sesuai", balance: 100_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				poked := 0
				e := newEnv(t, d, funding.Options{Notify: func() { poked++ }, PickCode: func([]int64) int64 { return 7 }})
				m := e.member(t, "zorro", 100_000)
				quiet := e.member(t, "quiet", 100_000)
				if err := e.hooks(t).SetURL(ctx, m.ID, "https://hooks.example.com/kios"); err != nil {
					t.Fatal(err)
				}
				var ref, quietRef string
				for _, who := range []int64{m.ID, quiet.ID} {
					var tr funding.Transaction
					var err error
					if tc.withdraw {
						tr, _, err = e.svc.Withdraw(ctx, who, withdrawal(50_000, "WD-INV-1"))
					} else {
						tr, err = e.svc.Deposit(ctx, who, 50_000, "bca")
					}
					if err != nil {
						t.Fatal(err)
					}
					if who == m.ID {
						ref = tr.Reference
					} else {
						quietRef = tr.Reference
					}
				}
				if got := e.outbox(t, m.ID); len(got) != 0 || poked != 0 {
					t.Fatalf("creation wrote messages %v (poked %d)", got, poked)
				}
				if err := tc.decide(e, ref); err != nil {
					t.Fatal(err)
				}
				// The quiet member's item ends too (expiry took both).
				if tc.name != "deposit expired" {
					if err := tc.decide(e, quietRef); err != nil {
						t.Fatal(err)
					}
				}
				got := e.outbox(t, m.ID)
				if len(got) != 1 {
					t.Fatalf("%d messages, want 1: %+v", len(got), got)
				}
				tr, err := e.svc.Get(ctx, m.ID, ref)
				if err != nil {
					t.Fatal(err)
				}
				msg := got[0]
				if msg.Type != "transaction_status" || msg.Reference != ref || msg.Status != tc.status || msg.Status != tr.Status ||
					msg.Note != tc.note || msg.Note != tr.Note() || msg.SN != "N/A" ||
					msg.SentAt != e.clk.Now().UTC().Format("2006-01-02T15:04:05.000000Z") {
					t.Errorf("message %+v; the status call shows %s %q", msg, tr.Status, tr.Note())
				}
				if tc.withdraw != (msg.PartnerReference != nil) || tc.withdraw && *msg.PartnerReference != "WD-INV-1" {
					t.Errorf("partner_reference %v", msg.PartnerReference)
				}
				if poked == 0 {
					t.Error("Notify was not called")
				}
				if n := e.count(t, "SELECT COUNT(*) FROM webhook_messages WHERE member_id = ?", quiet.ID); n != 0 {
					t.Errorf("a member without a URL got %d messages", n)
				}
				// A second decision loses, and writes nothing.
				if tc.name != "deposit expired" {
					if err := tc.decide(e, ref); fault.CodeOf(err) != fault.Conflict {
						t.Errorf("second decision: %v", err)
					}
				} else if n, _ := e.svc.ExpireDue(ctx); n != 0 {
					t.Errorf("expired again: %d", n)
				}
				if got := e.outbox(t, m.ID); len(got) != 1 {
					t.Errorf("after the losing decision: %d messages", len(got))
				}
				if tr.WebhookSent {
					t.Error("webhook_sent before any delivery")
				}
				if b := e.balance(t, ledger.MemberCode(m.ID)); b != tc.balance {
					t.Errorf("balance %d, want %d", b, tc.balance)
				}
				mustVerify(t, d)
			})
		})
	}
}

// TestFundingWebhookSent: the delivery worker, with funding.MarkWebhookSent
// as its OnDelivered, delivers a deposit's and a withdrawal's status to a
// real receiver, and the status then says webhook_sent.
func TestFundingWebhookSent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		got := make(chan string, 10)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var m statusMessage
			json.Unmarshal(b, &m)
			got <- m.Reference
			w.Write([]byte(`{"status":200,"message":"Webhook berhasil diproses"}`))
		}))
		defer recv.Close()
		hooks := loopbackHooks(t, d)
		e := newEnv(t, d, funding.Options{Notify: hooks.Poke})
		hooks.OnDelivered = funding.MarkWebhookSent
		m := e.member(t, "zorro", 100_000)
		if err := hooks.SetURL(ctx, m.ID, recv.URL); err != nil {
			t.Fatal(err)
		}
		dep, err := e.svc.Deposit(ctx, m.ID, 50_000, "bca")
		if err != nil {
			t.Fatal(err)
		}
		wd, _, err := e.svc.Withdraw(ctx, m.ID, withdrawal(20_000, ""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Confirm(ctx, dep.Reference, "op"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AcceptWithdrawal(ctx, wd.Reference, "op"); err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { hooks.Run(runCtx); close(done) }()
		defer func() { stop(); <-done }()
		seen := map[string]bool{}
		for len(seen) < 2 {
			select {
			case ref := <-got:
				seen[ref] = true
			case <-time.After(20 * time.Second):
				t.Fatalf("received only %v", seen)
			}
		}
		for _, ref := range []string{dep.Reference, wd.Reference} {
			if !seen[ref] {
				t.Errorf("no webhook for %s", ref)
			}
			var tr funding.Transaction
			for range 200 {
				if tr, err = e.svc.Get(ctx, m.ID, ref); err != nil {
					t.Fatal(err)
				}
				if tr.WebhookSent {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if !tr.WebhookSent {
				t.Errorf("%s: webhook_sent never became true", ref)
			}
		}
		mustVerify(t, d)
	})
}

// loopbackHooks returns a webhook service on d with the real clock,
// allowed to post to loopback receivers.
func loopbackHooks(t *testing.T, d *db.DB) *webhook.Service {
	t.Helper()
	keys, err := webhook.NewKeyring(make([]byte, webhook.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return webhook.NewService(d, keys, nil, nil, webhook.ClientOptions{AllowPrivate: true})
}
