package webhook

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
)

// TestRunRecordsInBatches: Run records finished attempts together; when
// one record fails (its OnDelivered errs), the others in its batch are
// still recorded as delivered and only the failing one stays pending.
func TestRunRecordsInBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestService(t, d, nil, ClientOptions{})
		s.PollInterval = 20 * time.Millisecond
		s.OnDelivered = func(tx *db.Tx, reference string) error {
			if reference == "BAD" {
				return errors.New("boom")
			}
			_, err := tx.Exec("UPDATE webhook_messages SET kind = kind WHERE reference = ?", reference)
			return err
		}
		r := newReceiver(t)
		m := newMember(t, d)
		if err := s.SetURL(ctx, m, r.srv.URL); err != nil {
			t.Fatal(err)
		}
		refs := []string{"BAD"}
		for i := range 40 {
			refs = append(refs, fmt.Sprintf("TRX%d", i))
		}
		for _, ref := range refs {
			enqueue(t, s, m, KindTransactionStatus, ref, `{"webhook_type":"transaction_status"}`)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.Run(runCtx); close(done) }()
		var delivered, pending int
		for range 500 {
			d.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_messages WHERE status = 'delivered'").Scan(&delivered)
			if delivered == len(refs)-1 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		<-done
		d.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_messages WHERE status = 'pending' AND reference = 'BAD'").Scan(&pending)
		if delivered != len(refs)-1 || pending != 1 {
			t.Fatalf("%d delivered (want %d), BAD pending %d", delivered, len(refs)-1, pending)
		}
		var attempts int
		d.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_attempts").Scan(&attempts)
		if attempts != len(refs)-1 {
			t.Fatalf("%d attempts recorded, want %d (the failing one is not)", attempts, len(refs)-1)
		}
	})
}

// TestRecordMixedBatch records, in one statement of each kind, attempts
// that end differently: a delivery, a failure with retries left, a failure
// of the last scheduled attempt, and a delivery of a message redelivered
// after earlier attempts. Each message gets its own next state, and each
// attempt the number after its message's last.
func TestRecordMixedBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		s := newTestService(t, d, c, ClientOptions{})
		m := newMember(t, d)
		if err := s.SetURL(ctx, m, "http://127.0.0.1:1/hook"); err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"OK", "RETRY", "LAST", "AGAIN"} {
			enqueue(t, s, m, KindTransactionStatus, ref, `{"webhook_type":"transaction_status"}`)
		}
		// AGAIN was attempted twice before and redelivered; LAST is at its
		// last scheduled attempt.
		if err := d.Write(ctx, func(tx *db.Tx) error {
			for n := 1; n <= 2; n++ {
				if _, err := tx.Exec(`INSERT INTO webhook_attempts (message_id, n, at, http_status, latency_us)
					SELECT id, ?, 0, 500, 0 FROM webhook_messages WHERE reference = 'AGAIN'`, n); err != nil {
					return err
				}
			}
			_, err := tx.Exec("UPDATE webhook_messages SET attempts = ? WHERE reference = 'LAST'", len(Backoff))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ms, err := s.claim(ctx, 10)
		if err != nil || len(ms) != 4 {
			t.Fatalf("claimed %d: %v", len(ms), err)
		}
		var delivered []string
		s.OnDelivered = func(tx *db.Tx, ref string) error { delivered = append(delivered, ref); return nil }
		var rs []*recording
		ids := map[string]int64{}
		for _, cm := range ms {
			ids[cm.reference] = cm.id
			o := outcome{at: c.Now(), status: 500, err: "HTTP 500", body: []byte("no\x00")}
			if cm.reference == "OK" || cm.reference == "AGAIN" {
				o = outcome{at: c.Now(), status: 200, delivered: true}
			}
			rs = append(rs, &recording{m: cm, o: o})
		}
		if err := d.Write(ctx, func(tx *db.Tx) error { return s.recordTx(tx, rs...) }); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			ref, status string
			attempts    int
			lastN       int
		}{
			{"OK", StatusDelivered, 1, 1},
			{"RETRY", StatusPending, 1, 1},
			{"LAST", StatusFailed, len(Backoff) + 1, 1},
			{"AGAIN", StatusDelivered, 1, 3},
		} {
			msg := message(t, s, ids[tc.ref])
			if msg.Status != tc.status || msg.Attempts != tc.attempts {
				t.Errorf("%s: %s after %d attempts, want %s after %d", tc.ref, msg.Status, msg.Attempts, tc.status, tc.attempts)
			}
			if delivered := tc.status == StatusDelivered; delivered != msg.DeliveredAt.Equal(c.Now()) {
				t.Errorf("%s: delivered at %v", tc.ref, msg.DeliveredAt)
			}
			if tc.ref == "RETRY" {
				wait := msg.NextAt.Sub(c.Now())
				if lo, hi := time.Duration(float64(Backoff[0])*(1-Jitter)), time.Duration(float64(Backoff[0])*(1+Jitter)); wait < lo || wait > hi {
					t.Errorf("RETRY: next attempt in %s, want %s ±10%%", wait, Backoff[0])
				}
			} else if !msg.NextAt.Equal(c.Now()) {
				t.Errorf("%s: next_at moved to %v", tc.ref, msg.NextAt)
			}
			as, err := s.Attempts(ctx, ids[tc.ref])
			if err != nil || len(as) != tc.lastN || as[len(as)-1].N != tc.lastN {
				t.Fatalf("%s: attempts %+v %v", tc.ref, as, err)
			}
			if last := as[len(as)-1]; tc.status != StatusDelivered && (last.Error != "HTTP 500" || last.Response != "no") {
				t.Errorf("%s: attempt recorded as %+v", tc.ref, last)
			}
		}
		if len(delivered) != 2 {
			t.Errorf("OnDelivered ran for %v, want OK and AGAIN", delivered)
		}
		// Recorded messages are released: nothing is claimed twice, and
		// RETRY is claimed again when due.
		if ms, _ := s.claim(ctx, 10); len(ms) != 0 {
			t.Fatalf("claimed %d before any retry was due", len(ms))
		}
		c.Add(2 * Backoff[0])
		if ms, _ := s.claim(ctx, 10); len(ms) != 1 || ms[0].reference != "RETRY" {
			t.Fatalf("claimed %+v when RETRY was due", ms)
		}
	})
}
