package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
)

// benchAccounts is how many member accounts the transfer benchmarks move
// money between. A payments platform has many members and one member rarely
// has two orders in flight at once, so each transfer picks its two accounts
// at random from a pool large enough that concurrent transfers seldom meet on
// a row; they still do now and then, as they would in production, and on
// PostgreSQL such a meeting makes one wait for the other's commit.
const benchAccounts = 1024

// benchFund is what every benchmark account starts with: far more than any
// benchmark can move out of it, so that every guarded debit succeeds.
const benchFund = 1_000_000_000_000

// BenchmarkTransfer measures durable, guarded ledger transfers: each op is
// one db.Write running one ledger.Transfer between two member accounts (a
// guarded debit and a credit, an entry and its postings), committed durably
// (SQLite: WAL with synchronous=FULL, group-committed; PostgreSQL:
// synchronous_commit as the server has it, on by default), by 1, 16 and 64
// concurrent writers.
//
//	go test -run '^$' -bench Transfer -benchtime 5s ./internal/ledger/
func BenchmarkTransfer(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			for _, writers := range []int{1, 16, 64} {
				b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
					benchTransfers(b, target, writers, false)
				})
			}
		})
	}
}

// BenchmarkTransferHotAccount is BenchmarkTransfer with every transfer
// crediting one account, as every order created credits system:inflight. On
// SQLite that costs nothing extra (there is one writer anyway); on PostgreSQL
// each transfer holds that row's lock from its update until its commit is
// durable, so the transfers queue behind each other's fsync.
func BenchmarkTransferHotAccount(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			for _, writers := range []int{1, 16, 64} {
				b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
					benchTransfers(b, target, writers, true)
				})
			}
		})
	}
}

func benchTransfers(b *testing.B, target string, writers int, hot bool) {
	dsn := dbtest.DSN(b, target)
	if dsn == "" {
		b.Skip("KIOS_TEST_POSTGRES_URL is not set")
	}
	// On SQLite, count the commits and the writes they carry.
	var batches, batched atomic.Int64
	var counting atomic.Bool
	d, err := db.Open(context.Background(), dsn, db.Options{OnBatch: func(n int) {
		if counting.Load() {
			batches.Add(1)
			batched.Add(int64(n))
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	fund := make([]int64, benchAccounts)
	for i := range fund {
		fund[i] = benchFund
	}
	ids := setup(b, d, fund...)
	var sink int64
	if hot {
		if err := d.Write(context.Background(), func(tx *db.Tx) error {
			a, err := ledger.AccountByCode(tx, ledger.Inflight)
			sink = a.ID
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}

	ctx := context.Background()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	counting.Store(true)
	b.ResetTimer()
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for next.Add(1) <= int64(b.N) {
				fi := rng.IntN(len(ids))
				from, to := ids[fi], sink
				if !hot {
					ti := rng.IntN(len(ids) - 1)
					if ti >= fi {
						ti++ // any account but from
					}
					to = ids[ti]
				}
				amount := 1 + rng.Int64N(10_000)
				err := d.Write(ctx, func(tx *db.Tx) error {
					_, err := ledger.Transfer(tx, "transfer", "bench", from, to, amount, now)
					return err
				})
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	counting.Store(false)
	if p := failed.Load(); p != nil {
		b.Fatalf("transfer: %v", *p)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "transfers/s")
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(batched.Load())/float64(n), "writes/commit")
	}
	r := mustVerify(b, d)
	if r.Entries < int64(b.N) {
		b.Fatalf("%d entries after %d transfers", r.Entries, b.N)
	}
}
