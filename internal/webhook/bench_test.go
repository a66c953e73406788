package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
)

// BenchmarkDelivery measures deliveries per second: b.N transaction_status
// messages (for 64 members, each about its own reference) wait in the
// outbox; the timer runs while one Run loop with 64 deliveries in flight
// claims, signs, posts them to a receiver on loopback that answers 200 at
// once, and records every attempt and delivery. Writing the messages is not
// timed (orders write them as they settle). cpu-µs/delivery is the CPU
// time of this process (worker, receiver and database driver; on SQLite
// also the database) per delivery while the timer runs.
//
//	go test -run '^$' -bench Delivery -benchtime 20000x ./internal/webhook/
func BenchmarkDelivery(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			dsn := dbtest.DSN(b, target)
			if dsn == "" {
				b.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			benchDelivery(b, dbtest.Open(b, dsn), 64)
		})
	}
}

func benchDelivery(b *testing.B, d *db.DB, inFlight int) {
	ctx := context.Background()
	var received atomic.Int64
	done := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"status":200,"message":"Webhook berhasil diproses"}`))
		if received.Add(1) == int64(b.N) {
			close(done)
		}
	}))
	defer recv.Close()
	keys, err := NewKeyring(make([]byte, MasterKeySize))
	if err != nil {
		b.Fatal(err)
	}
	s := NewService(d, keys, nil, nil, ClientOptions{AllowPrivate: true})
	s.Workers = inFlight
	members := make([]int64, 64)
	for i := range members {
		members[i] = newMember(b, d)
		if err := s.SetURL(ctx, members[i], recv.URL); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	for start := 0; start < b.N; start += 500 {
		err := d.Write(ctx, func(tx *db.Tx) error {
			for i := start; i < min(start+500, b.N); i++ {
				ref := fmt.Sprintf("TRX%011d", i)
				body := fmt.Sprintf(`{"webhook_type":"transaction_status","reference":%q,"status":"success","sn":"N/A"}`, ref)
				if err := Enqueue(tx, members[i%len(members)], KindTransactionStatus, ref, []byte(body), now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	finished := make(chan struct{})
	b.ResetTimer()
	cpu := cpuTime()
	go func() { s.Run(runCtx); close(finished) }()
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d delivered", received.Load(), b.N)
	}
	stop()
	<-finished // the last deliveries are recorded
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	if cpu := cpuTime() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_messages WHERE status = 'delivered'").Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n != b.N || received.Load() != int64(b.N) {
		b.Fatalf("%d delivered, %d received, of %d", n, received.Load(), b.N)
	}
}
