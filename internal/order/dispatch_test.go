package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
)

// gate is a supplier whose calls wait until the test opens the gate and
// then answer as the simulator behind it does, or fail when the test kills
// them (a process that died mid-call).
type gate struct {
	sim   *simulator.Simulator
	open  chan struct{} // closed: every call goes through
	one   chan struct{} // each value lets one call through
	dead  chan struct{}
	calls atomic.Int64 // calls started
}

func newGate(sim *simulator.Simulator) *gate {
	return &gate{sim: sim, open: make(chan struct{}), one: make(chan struct{}), dead: make(chan struct{})}
}

func (g *gate) wait(ctx context.Context) error {
	g.calls.Add(1)
	select {
	case <-g.open:
		return nil
	case <-g.one:
		return nil
	case <-g.dead:
		return errors.New("killed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) Submit(ctx context.Context, o supplier.Order) (supplier.Result, error) {
	if err := g.wait(ctx); err != nil {
		return supplier.Result{}, err
	}
	return g.sim.Submit(ctx, o)
}

func (g *gate) Status(ctx context.Context, ref string) (supplier.Result, error) {
	if err := g.wait(ctx); err != nil {
		return supplier.Result{}, err
	}
	return g.sim.Status(ctx, ref)
}

// eventually fails the test unless cond holds within 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// running starts svc.Run until the test ends and returns once the loop
// accepts dispatches.
func running(t *testing.T, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "the worker loop", func() bool {
		svc.mu.Lock()
		defer svc.mu.Unlock()
		return svc.running > 0
	})
}

type jobRow struct {
	phase string
	lease int64
}

func jobOf(t *testing.T, d *db.DB, orderID int64) jobRow {
	t.Helper()
	var j jobRow
	if err := d.QueryRow(context.Background(), "SELECT phase, lease_until FROM fulfilment_jobs WHERE order_id = ?", orderID).Scan(&j.phase, &j.lease); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestInlineDispatch: while the worker loop runs, a new order goes
// straight to a free worker slot, its job recorded as claimed (phase poll,
// leased) in the order's own transaction; with every slot busy it is
// queued unleased and the loop claims it when a slot frees. Each order is
// submitted once and settles.
func TestInlineDispatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 5000, simulator.Config{})
		g := newGate(w.simA)
		svc := NewService(d, w.cat, supplier.Set{"sim-a": g, "sim-b": w.simB}, w.clk.Now,
			slog.New(slog.NewTextHandler(os.Stderr, nil)), Config{Workers: 2})
		running(t, svc)
		lease := w.clk.Now().Add(2 * time.Minute).UnixMicro()
		var orders []Order
		for i := range 3 {
			o, _, err := svc.Create(ctx, w.member, req("GAME-10", fmt.Sprintf("1234567%d", i), ""))
			if err != nil {
				t.Fatal(err)
			}
			orders = append(orders, o)
		}
		eventually(t, "two supplier calls", func() bool { return g.calls.Load() == 2 })
		for i, want := range []jobRow{{"poll", lease}, {"poll", lease}, {"submit", 0}} {
			if got := jobOf(t, d, orders[i].ID); got != want {
				t.Errorf("order %d: job %+v, want %+v", i, got, want)
			}
		}
		close(g.open)
		eventually(t, "the orders to settle", func() bool { n, _ := svc.QueueDepth(ctx); return n == 0 })
		for _, o := range orders {
			o = w.get(t, o.Reference)
			if o.Status != Success || w.simA.Submissions(o.Reference) != 1 {
				t.Errorf("%s: %s after %d submissions, want success after 1", o.Reference, o.Status, w.simA.Submissions(o.Reference))
			}
			if got := fmt.Sprint(statuses(t, w, o)); got != "[processing@ success@sim-a]" {
				t.Errorf("%s: events %s", o.Reference, got)
			}
		}
		var events int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM order_events").Scan(&events); err != nil || events != 0 {
			t.Errorf("%d rows in order_events (%v), want none for plain successes", events, err)
		}
		if got := w.balance(t, "system:revenue"); got != 300 {
			t.Errorf("revenue %d, want 300", got)
		}
		verify(t, d)
	})
}

// TestQueuedJobWithFewSlotsFree: with every slot but one busy, a job that
// was queued because no slot was free is claimed soon, not only once a
// quarter of the slots are free again.
func TestQueuedJobWithFewSlotsFree(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 50_000, simulator.Config{})
		g := newGate(w.simA)
		svc := NewService(d, w.cat, supplier.Set{"sim-a": g, "sim-b": w.simB}, w.clk.Now,
			slog.New(slog.NewTextHandler(os.Stderr, nil)), Config{Workers: 8})
		running(t, svc)
		var last Order
		for i := range 9 {
			o, _, err := svc.Create(ctx, w.member, req("GAME-10", fmt.Sprintf("7%07d", i), ""))
			if err != nil {
				t.Fatal(err)
			}
			last = o
		}
		eventually(t, "eight supplier calls", func() bool { return g.calls.Load() == 8 })
		if j := jobOf(t, d, last.ID); j.phase != "submit" || j.lease != 0 {
			t.Fatalf("the ninth order's job %+v, want queued", j)
		}
		g.one <- struct{}{} // one slot frees; a quarter of 8 would be 2
		eventually(t, "the queued order's call", func() bool { return g.calls.Load() == 9 })
		close(g.open)
		eventually(t, "the orders to settle", func() bool { n, _ := svc.QueueDepth(ctx); return n == 0 })
		if o := w.get(t, last.Reference); o.Status != Success || w.simA.Submissions(o.Reference) != 1 {
			t.Fatalf("%s after %d submissions", o.Status, w.simA.Submissions(o.Reference))
		}
		verify(t, d)
	})
}

// TestInlineDispatchCrash: a process dispatched an order at creation and
// died during the supplier call. Another worker may take the job only after
// the lease, then asks for its status first: whether or not the dead call
// reached the supplier, the order is submitted exactly once.
func TestInlineDispatchCrash(t *testing.T) {
	for _, reached := range []bool{true, false} {
		t.Run(fmt.Sprintf("submission reached the supplier: %v", reached), func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				w := newWorld(t, d, 5000, simulator.Config{})
				g := newGate(w.simA)
				dying := NewService(d, w.cat, supplier.Set{"sim-a": g}, w.clk.Now,
					slog.New(slog.NewTextHandler(os.Stderr, nil)), Config{Workers: 1})
				running(t, dying)
				// Cleanups run last first: the call dies, then the loop
				// that waits for it stops.
				t.Cleanup(func() { close(g.dead) })
				o, _, err := dying.Create(ctx, w.member, req("GAME-10", "12345678", ""))
				if err != nil {
					t.Fatal(err)
				}
				eventually(t, "the supplier call", func() bool { return g.calls.Load() == 1 })
				if reached {
					w.simA.Submit(ctx, supplier.Order{Reference: o.Reference, Customer: "12345678"})
				}
				if jobs, _ := w.svc.claim(ctx, 10); len(jobs) != 0 {
					t.Fatalf("a job dispatched at creation was claimed during its lease: %+v", jobs)
				}
				w.clk.Add(3 * time.Minute)
				w.settle(t) // the other process's worker
				if got := w.get(t, o.Reference); got.Status != Success {
					t.Fatalf("status %s", got.Status)
				}
				if n := w.simA.Submissions(o.Reference); n != 1 {
					t.Fatalf("%d submissions, want exactly 1", n)
				}
				verify(t, d)
			})
		})
	}
}

// TestSettlementsAreIsolated: many successes recorded at once (written in
// shared transactions on PostgreSQL) settle each order once; one whose
// booking fails leaves its order processing with its job and holds back no
// other; one for an order settled meanwhile books nothing, even twice.
func TestSettlementsAreIsolated(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 50_000, simulator.Config{})
		var orders []Order
		for i := range 30 {
			o, _, err := w.svc.Create(ctx, w.member, req("GAME-10", fmt.Sprintf("5%07d", i), ""))
			if err != nil {
				t.Fatal(err)
			}
			orders = append(orders, o)
		}
		jobs, err := w.svc.claim(ctx, 100)
		if err != nil || len(jobs) != 30 {
			t.Fatalf("claim: %d jobs, %v", len(jobs), err)
		}
		bad := jobs[7].reference
		jobs[7].price = 1_000_000_000 // more than inflight holds: the booking is refused
		// An operator failed one order (and refunded it) while its job was
		// out; the success recorded for it afterwards, twice, books nothing.
		gone := jobs[3]
		if err := d.Write(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec("UPDATE orders SET status = 'failed' WHERE id = ?", gone.orderID); err != nil {
				return err
			}
			// From the stripe the order recorded: on PostgreSQL a chained
			// charge credits any free stripe, not its reference's.
			if gone.inflight == 0 {
				t.Error("the claimed job does not name its inflight stripe")
			}
			_, err := ledger.Transfer(tx, "order_refund", gone.reference, gone.inflight, gone.account, gone.price, time.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, gone)
		done := make(chan struct{})
		for _, j := range jobs {
			go func() {
				w.svc.record(j, supplier.Result{Outcome: supplier.Success, SN: "SN-" + j.reference}, nil)
				done <- struct{}{}
			}()
		}
		for range jobs {
			<-done
		}
		for _, o := range orders {
			got := w.get(t, o.Reference)
			want, sn := Success, "SN-"+o.Reference
			switch o.Reference {
			case bad:
				want, sn = Processing, ""
			case gone.reference:
				want, sn = Failed, ""
			}
			if got.Status != want || got.SN != sn {
				t.Errorf("%s: %s %q, want %s %q", o.Reference, got.Status, got.SN, want, sn)
			}
		}
		if n, _ := w.svc.QueueDepth(ctx); n != 1 {
			t.Errorf("%d jobs left, want the failed one's", n)
		}
		if got := w.balance(t, ledger.Inflight); got != 1000 {
			t.Errorf("inflight holds %d, want the unsettled order's 1000", got)
		}
		if got := w.balance(t, ledger.Revenue); got != 28*100 {
			t.Errorf("revenue %d, want %d", got, 28*100)
		}
		verify(t, d)
	})
}

// TestAwaitTopupGetsTheSettledState: a top-up dispatched at creation and
// settled in this process wakes its waiter with the state the settlement
// wrote, field for field what a read of the top-up then returns, and with
// the balance its charge left.
func TestAwaitTopupGetsTheSettledState(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, 1_000_000, simulator.Config{})
		if err := catalog.LoadDemoEwallets(ctx, w.cat); err != nil {
			t.Fatal(err)
		}
		svc := NewService(d, w.cat, supplier.Set{"simulator": w.simA}, w.clk.Now,
			slog.New(slog.NewTextHandler(os.Stderr, nil)), Config{})
		running(t, svc)
		for i, c := range []struct{ cust, status string }{{"081234567890", Success}, {"081234560000", Failed}} { // ...0000: the simulator fails it
			cust := c.cust
			tp, _, err := svc.CreateTopup(ctx, w.member, TopupRequest{ReqID: fmt.Sprintf("R-%d", i), ProductCode: "GOPAY", Customer: cust, Amount: 50_000})
			if err != nil {
				t.Fatal(err)
			}
			got, err := svc.AwaitTopup(ctx, tp, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			read, err := svc.TopupByReqID(ctx, w.member.ID, tp.ReqID)
			if err != nil {
				t.Fatal(err)
			}
			// The answer to the charging request carries the balance its
			// charge left; a read of the top-up knows nothing of it.
			if want := 1_000_000 - int64(i+1)*51_500; !got.Charged || got.BalanceAfter != want {
				t.Errorf("%s: charged %v, balance after %d, want %d", cust, got.Charged, got.BalanceAfter, want)
			}
			got.Charged, got.BalanceAfter = false, 0
			if got.Status != c.status || got != read {
				t.Errorf("%s: awaited\n%+v\nread\n%+v", cust, got, read)
			}
		}
		verify(t, d)
	})
}
