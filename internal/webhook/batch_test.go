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
