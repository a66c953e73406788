package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
)

var now = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// setup creates the system accounts and n member accounts, the i-th funded
// with fund[i] from system:adjust, and returns their ids.
func setup(t testing.TB, d *db.DB, fund ...int64) []int64 {
	t.Helper()
	ids := make([]int64, len(fund))
	err := d.Write(context.Background(), func(tx *db.Tx) error {
		if err := ledger.EnsureSystem(tx, now); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		for i, f := range fund {
			id, err := ledger.EnsureAccount(tx, fmt.Sprintf("test:%d", i), ledger.KindMember, false, now)
			if err != nil {
				return err
			}
			ids[i] = id
			if f > 0 {
				if _, err := ledger.Transfer(tx, "adjustment", "", adj.ID, id, f, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func mustVerify(t testing.TB, d *db.DB) ledger.Report {
	t.Helper()
	r, err := ledger.Verify(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("ledger not sound:\n%s", r)
	}
	return r
}

func balance(t testing.TB, d *db.DB, id int64) int64 {
	t.Helper()
	var b int64
	if err := d.QueryRow(context.Background(), "SELECT balance FROM accounts WHERE id = ?", id).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

var invalidEntries = []struct {
	name string
	e    ledger.Entry
}{
	{"one posting", ledger.Entry{Kind: "x", Postings: []ledger.Posting{{1, 0}}}},
	{"unbalanced", ledger.Entry{Kind: "x", Postings: []ledger.Posting{{1, -5}, {2, 4}}}},
	{"zero amount", ledger.Entry{Kind: "x", Postings: []ledger.Posting{{1, 0}, {2, 0}}}},
	{"no kind", ledger.Entry{Postings: []ledger.Posting{{1, -5}, {2, 5}}}},
	{"overflow", ledger.Entry{Kind: "x", Postings: []ledger.Posting{{1, 1 << 62}, {2, 1 << 62}, {3, -(1 << 62)}, {3, -(1 << 62)}}}},
}

func TestEntryValidate(t *testing.T) {
	for _, c := range invalidEntries {
		if err := c.e.Validate(); !errors.Is(err, ledger.ErrUnbalanced) {
			t.Errorf("%s: Validate = %v, want ErrUnbalanced", c.name, err)
		}
	}
	ok := ledger.Entry{Kind: "x", Postings: []ledger.Posting{{1, -5}, {2, 3}, {3, 2}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("balanced three-legged entry: %v", err)
	}
}

func TestPostMovesMoneyAndRecordsTheEntry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ids := setup(t, d, 1000, 0)
		var entry int64
		err := d.Write(ctx, func(tx *db.Tx) error {
			var err error
			entry, err = ledger.Transfer(tx, "order", "TRX1", ids[0], ids[1], 400, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if b0, b1 := balance(t, d, ids[0]), balance(t, d, ids[1]); b0 != 600 || b1 != 400 {
			t.Fatalf("balances %d, %d; want 600, 400", b0, b1)
		}
		var kind, ref string
		var sum, n int64
		if err := d.QueryRow(ctx, `SELECT e.kind, e.reference, SUM(p.amount), COUNT(*) FROM entries e
			JOIN postings p ON p.entry_id = e.id WHERE e.id = ? GROUP BY e.kind, e.reference`, entry).Scan(&kind, &ref, &sum, &n); err != nil {
			t.Fatal(err)
		}
		if kind != "order" || ref != "TRX1" || sum != 0 || n != 2 {
			t.Fatalf("entry %d: kind=%s ref=%s sum=%d postings=%d", entry, kind, ref, sum, n)
		}
		mustVerify(t, d)
	})
}

func TestInsufficientFundsWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ids := setup(t, d, 100, 0)
		before := mustVerify(t, d)
		err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := ledger.Transfer(tx, "order", "TRX2", ids[0], ids[1], 101, now)
			return err
		})
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("overdraw: %v, want ErrInsufficientFunds", err)
		}
		after := mustVerify(t, d)
		if after.Entries != before.Entries || after.Postings != before.Postings {
			t.Fatalf("a refused entry left rows: %+v → %+v", before, after)
		}
		if b := balance(t, d, ids[0]); b != 100 {
			t.Fatalf("balance %d after refused debit, want 100", b)
		}
		// Exactly the whole balance is allowed.
		if err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := ledger.Transfer(tx, "order", "TRX3", ids[0], ids[1], 100, now)
			return err
		}); err != nil {
			t.Fatalf("debit of the whole balance: %v", err)
		}
	})
}

func TestPostToUnknownAccount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ids := setup(t, d, 100)
		err := d.Write(context.Background(), func(tx *db.Tx) error {
			_, err := ledger.Transfer(tx, "order", "", ids[0], 999999, 10, now)
			return err
		})
		if !errors.Is(err, ledger.ErrNoAccount) {
			t.Fatalf("posting to a missing account: %v", err)
		}
		mustVerify(t, d)
	})
}

func TestVerifyFindsEachViolation(t *testing.T) {
	cases := []struct {
		name   string
		tamper string
		want   string
	}{
		{"balance differs from postings", "UPDATE accounts SET balance = balance + 5 WHERE code = 'test:1'", "test:1: balance"},
		{"entry does not sum to zero", "UPDATE postings SET amount = amount + 7 WHERE id = (SELECT MAX(id) FROM postings)", "postings sum to"},
		{"sum of balances not zero", "UPDATE accounts SET balance = balance + 3 WHERE code = 'test:0'", "balances sum to 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				setup(t, d, 50, 20)
				if err := d.Write(context.Background(), func(tx *db.Tx) error {
					_, err := tx.Exec(c.tamper)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				r, err := ledger.Verify(context.Background(), d)
				if err != nil {
					t.Fatal(err)
				}
				if r.OK() || !strings.Contains(r.String(), c.want) {
					t.Fatalf("Verify after %q:\n%s\nwant a violation mentioning %q", c.tamper, r, c.want)
				}
			})
		})
	}
	t.Run("negative balance", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, d *db.DB) {
			ids := setup(t, d, 50)
			// The CHECK constraint is the second guard: even raw SQL cannot
			// overdraw an account that may not go negative.
			err := d.Write(context.Background(), func(tx *db.Tx) error {
				_, err := tx.Exec("UPDATE accounts SET balance = -1 WHERE id = ?", ids[0])
				return err
			})
			if err == nil {
				t.Fatal("a negative balance was stored")
			}
			mustVerify(t, d)
		})
	})
}

// TestConcurrentDebits: 64 goroutines × 200 debits of random amounts against
// one account funded below the total. The accepted debits must be exactly
// those the funds allow: their sum equals what left the account, and no
// refused debit would have fit in what remained.
func TestConcurrentDebits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const workers, each = 64, 200
		const fund = 1_000_000 // the debits average 150 each: ~1.9M asked for
		ids := setup(t, d, fund, 0)
		var accepted, refused atomic.Int64
		var minRefused atomic.Int64
		minRefused.Store(1 << 62)
		var wg sync.WaitGroup
		errc := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for range each {
					amt := 1 + rng.Int64N(299)
					err := d.Write(ctx, func(tx *db.Tx) error {
						_, err := ledger.Transfer(tx, "order", "", ids[0], ids[1], amt, now)
						return err
					})
					switch {
					case err == nil:
						accepted.Add(amt)
					case errors.Is(err, ledger.ErrInsufficientFunds):
						refused.Add(1)
						for {
							m := minRefused.Load()
							if amt >= m || minRefused.CompareAndSwap(m, amt) {
								break
							}
						}
					default:
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		b0, b1 := balance(t, d, ids[0]), balance(t, d, ids[1])
		if b0 < 0 || b0+b1 != fund || b1 != accepted.Load() {
			t.Fatalf("source %d, sink %d, accepted %d; want source+sink = %d and sink = accepted", b0, b1, accepted.Load(), fund)
		}
		if refused.Load() == 0 {
			t.Fatal("no debit was refused: the test did not exhaust the funds")
		}
		// Once refusals begin, a debit is refused only when it exceeds the
		// balance at that moment; the balance only falls, so the final
		// balance must be smaller than the smallest refused amount.
		if b0 >= minRefused.Load() {
			t.Fatalf("final balance %d could still pay a refused debit of %d", b0, minRefused.Load())
		}
		mustVerify(t, d)
	})
}

// TestConcurrentTransfersConserveMoney: random transfers among 20 accounts
// from 32 goroutines; the total is conserved and every balance sound.
func TestConcurrentTransfersConserveMoney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		fund := make([]int64, 20)
		var total int64
		for i := range fund {
			fund[i] = 10_000
			total += fund[i]
		}
		ids := setup(t, d, fund...)
		var wg sync.WaitGroup
		errc := make(chan error, 32)
		for w := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 11))
				for range 150 {
					a, b := rng.IntN(20), rng.IntN(20)
					if a == b {
						continue
					}
					amt := 1 + rng.Int64N(3000)
					err := d.Write(ctx, func(tx *db.Tx) error {
						_, err := ledger.Transfer(tx, "transfer", "", ids[a], ids[b], amt, now)
						return err
					})
					if err != nil && !errors.Is(err, ledger.ErrInsufficientFunds) {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		var sum int64
		for _, id := range ids {
			b := balance(t, d, id)
			if b < 0 {
				t.Fatalf("account %d went negative: %d", id, b)
			}
			sum += b
		}
		if sum != total {
			t.Fatalf("the 20 accounts hold %d, want %d", sum, total)
		}
		mustVerify(t, d)
	})
}

// TestPostManyLegs covers entries that are not simple transfers: three
// distinct accounts (on PostgreSQL, the one-statement path), an account
// named twice (the statement-per-posting path), and a refusal found on a
// leg after others already moved, which must leave nothing behind.
func TestPostManyLegs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ids := setup(t, d, 1000, 0, 0)
		post := func(ps ...ledger.Posting) (int64, error) {
			var id int64
			err := d.Write(ctx, func(tx *db.Tx) error {
				var err error
				id, err = ledger.Post(tx, ledger.Entry{Kind: "split", Postings: ps}, now)
				return err
			})
			return id, err
		}
		if _, err := post(ledger.Posting{ids[0], -300}, ledger.Posting{ids[2], 100}, ledger.Posting{ids[1], 200}); err != nil {
			t.Fatalf("three legs: %v", err)
		}
		// ids[1] named twice: it receives 50 and pays 20 in one entry.
		id, err := post(ledger.Posting{ids[1], 50}, ledger.Posting{ids[0], -50}, ledger.Posting{ids[1], -20}, ledger.Posting{ids[2], 20})
		if err != nil {
			t.Fatalf("repeated account: %v", err)
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM postings WHERE entry_id = ?", id).Scan(&n); err != nil || n != 4 {
			t.Fatalf("entry %d has %d postings (%v), want 4", id, n, err)
		}
		before := mustVerify(t, d)
		// ids[2] (120) cannot pay 500; ids[0] and ids[1] come first in
		// account order and move before the refusal.
		_, err = post(ledger.Posting{ids[2], -500}, ledger.Posting{ids[0], 250}, ledger.Posting{ids[1], 250})
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("overdrawing leg: %v, want ErrInsufficientFunds", err)
		}
		_, err = post(ledger.Posting{ids[0], -5}, ledger.Posting{999999, 3}, ledger.Posting{ids[1], 2})
		if !errors.Is(err, ledger.ErrNoAccount) {
			t.Fatalf("missing account: %v, want ErrNoAccount", err)
		}
		after := mustVerify(t, d)
		if after.Entries != before.Entries || after.Postings != before.Postings {
			t.Fatalf("refused entries left rows: %+v → %+v", before, after)
		}
		for i, want := range []int64{650, 230, 120} {
			if b := balance(t, d, ids[i]); b != want {
				t.Errorf("account %d holds %d, want %d", i, b, want)
			}
		}
	})
}
