package order

import (
	"context"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/supplier/simulator"
)

// inflightOfOrder reads the stripe an order recorded.
func inflightOfOrder(t *testing.T, d *db.DB, ref string) int64 {
	t.Helper()
	var id int64
	if err := d.QueryRow(context.Background(), "SELECT inflight FROM orders WHERE reference = ?", ref).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestReplayAfterTheBalanceIsSpent: a request repeating an earlier order's
// partner_reference is answered with that order even when the balance no
// longer covers the price (on PostgreSQL the batched charge is refused
// before its gate and the transaction finds the key); a new key is refused
// for the balance, and nothing is charged twice.
func TestReplayAfterTheBalanceIsSpent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 1000, simulator.Config{})
		first, replayed, err := w.svc.Create(ctx, w.member, req("GAME-10", "12345678", "INV-9"))
		if err != nil || replayed {
			t.Fatalf("first: %v %v", replayed, err)
		}
		if id := inflightOfOrder(t, d, first.Reference); id == 0 {
			t.Fatal("the order recorded no inflight stripe")
		}
		again, replayed, err := w.svc.Create(ctx, w.member, req("GAME-10", "12345678", "INV-9"))
		if err != nil || !replayed || again.Reference != first.Reference {
			t.Fatalf("replay: %q %v %v, want %q replayed", again.Reference, replayed, err, first.Reference)
		}
		_, _, err = w.svc.Create(ctx, w.member, req("GAME-10", "12345678", "INV-10"))
		if fault.CodeOf(err) != fault.Insufficient {
			t.Fatalf("new key on an empty balance: %v, want %s", err, fault.Insufficient)
		}
		var keys int
		d.QueryRow(ctx, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'INV-10'").Scan(&keys)
		if keys != 0 {
			t.Fatal("a refused order kept its partner_reference")
		}
		if b := w.balance(t, ledger.MemberCode(w.member.ID)); b != 0 {
			t.Fatalf("balance %d, want 0 after one charge", b)
		}
		w.settle(t)
		if got := w.get(t, first.Reference); got.Status != Success {
			t.Fatalf("status %s", got.Status)
		}
		verify(t, d)
	})
}

// TestCreateWhenEveryStripeIsHeld: on PostgreSQL, when every inflight
// stripe a charge may draw is held by other transactions, the order is
// written by the transaction of the other path, which waits for its
// reference's stripe; it is charged once and settles from that stripe.
func TestCreateWhenEveryStripeIsHeld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.Postgres {
			t.Skip("SQLite has no batched charge: every order is written by the transaction")
		}
		ctx := context.Background()
		w := newWorld(t, d, 5000, simulator.Config{})
		var ids []int64
		for i := range ledger.ChargeStripes {
			id, err := w.svc.accountID(ctx, ledger.StripeCode(ledger.Inflight, i), ledger.KindSystem, false)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		locked, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			held <- d.Write(ctx, func(tx *db.Tx) error {
				rows, err := tx.Query("SELECT id FROM accounts WHERE id = ANY (?::bigint[]) FOR UPDATE", ids)
				if err != nil {
					return err
				}
				rows.Close()
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		type result struct {
			o   Order
			err error
		}
		done := make(chan result, 1)
		go func() {
			o, _, err := w.svc.Create(ctx, w.member, req("GAME-10", "12345678", ""))
			done <- result{o, err}
		}()
		// The order waits for the stripe of its reference; let it queue,
		// then let it through.
		time.Sleep(300 * time.Millisecond)
		close(release)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		var code string
		var balance int64
		if err := d.QueryRow(ctx, "SELECT code, balance FROM accounts WHERE id = ?", inflightOfOrder(t, d, r.o.Reference)).
			Scan(&code, &balance); err != nil {
			t.Fatal(err)
		}
		if want := ledger.Stripe(ledger.Inflight, r.o.Reference); code != want || balance != 1000 {
			t.Fatalf("the order's stripe is %s holding %d, want %s holding 1000", code, balance, want)
		}
		w.settle(t)
		if got := w.get(t, r.o.Reference); got.Status != Success {
			t.Fatalf("status %s", got.Status)
		}
		if b := w.balance(t, ledger.Inflight); b != 0 {
			t.Fatalf("inflight holds %d after settling", b)
		}
		verify(t, d)
	})
}

// TestOrderWithoutRecordedStripe: an order written before orders recorded
// their inflight stripe (orders.inflight = 0, its price in the stripe of
// its reference) settles from that stripe, and one that fails is refunded
// from it.
func TestOrderWithoutRecordedStripe(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 5000, simulator.Config{})
		var refs []string
		for _, customer := range []string{"12345678", "12340000"} { // …0000: the simulator's definite failure
			o, _, err := w.svc.Create(ctx, w.member, req("GAME-DEAR", customer, ""))
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, o.Reference)
		}
		// Make them look as they would have before migration 0021.
		for _, ref := range refs {
			if err := d.Write(ctx, func(tx *db.Tx) error {
				var recorded int64
				if err := tx.QueryRow("SELECT inflight FROM orders WHERE reference = ?", ref).Scan(&recorded); err != nil {
					return err
				}
				legacy, err := ledger.EnsureAccount(tx, ledger.Stripe(ledger.Inflight, ref), ledger.KindSystem, false, time.Now())
				if err != nil {
					return err
				}
				if legacy != recorded {
					if _, err := ledger.Transfer(tx, "test", ref, recorded, legacy, 1000, time.Now()); err != nil {
						return err
					}
				}
				_, err = tx.Exec("UPDATE orders SET inflight = 0 WHERE reference = ?", ref)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		w.settle(t)
		if got := w.get(t, refs[0]); got.Status != Success {
			t.Fatalf("first: %s", got.Status)
		}
		if got := w.get(t, refs[1]); got.Status != Failed {
			t.Fatalf("second: %s, want failed (no second supplier at the price)", got.Status)
		}
		if b := w.balance(t, ledger.Inflight); b != 0 {
			t.Fatalf("inflight holds %d", b)
		}
		if b := w.balance(t, ledger.MemberCode(w.member.ID)); b != 4000 {
			t.Fatalf("balance %d, want 4000 (one charge kept, one refunded)", b)
		}
		verify(t, d)
	})
}
