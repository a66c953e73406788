package incoming

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"kios/internal/dbtest"
	"kios/internal/payment"
)

// BenchmarkMatch posts, from 64 goroutines, incoming records that each
// pay one open invoice (one transaction per record: the record, the
// invoice, the ledger entry). The invoices are made before the timer.
func BenchmarkMatch(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			dsn := dbtest.DSN(b, target)
			if dsn == "" {
				b.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			f := newFixture(b, dbtest.Open(b, dsn))
			ctx := context.Background()
			totals := make([]int64, b.N)
			var wg sync.WaitGroup
			var next atomic.Int64
			for range 64 {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						inv, _, err := f.payments.Create(ctx, f.owner.ID, payment.NewInvoice{StoreID: f.store.ID, Amount: 10_000 + i%9_000*1_000})
						if err != nil {
							b.Error(err)
							return
						}
						totals[i] = inv.Total
					}
				})
			}
			wg.Wait()
			next.Store(0)
			var unmatched atomic.Int64
			b.ResetTimer()
			for range 64 {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						res, err := f.svc.Post(ctx, Record{Channel: f.qris(), Amount: totals[i], ReceivedAt: f.clock.Now(),
							ExternalID: fmt.Sprint("bench-", i)}, "bench", nil)
						if err != nil {
							b.Error(err)
							return
						}
						if res.Status != Matched {
							unmatched.Add(1)
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if unmatched.Load() != 0 {
				b.Fatalf("%d records unmatched", unmatched.Load())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
