package payment_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"kios/internal/dbtest"
)

// BenchmarkCreatePayment drives POST /api/create_payment.php over
// loopback HTTP from 64 concurrent clients, with amounts spread so that
// unique codes do not run out. Run with -bench CreatePayment; the
// PostgreSQL half needs KIOS_TEST_POSTGRES_URL.
func BenchmarkCreatePayment(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			dsn := dbtest.DSN(b, target)
			if dsn == "" {
				b.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			f := newFixture(b, dbtest.Open(b, dsn))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var n atomic.Int64
			// 64 clients: RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Sprintf("store_id=%d&amount=%d", f.store.ID, 10_000+i%5_000*1_000)
					req, _ := http.NewRequest("POST", f.srv.URL+"/api/create_payment.php", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", "Bearer "+f.key)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "invoices/s")
		})
	}
}
