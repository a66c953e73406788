package webhook

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
)

func TestDeliverSigned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		s := newTestService(t, d, c, ClientOptions{})
		var hooked []string
		s.OnDelivered = func(tx *db.Tx, reference string) error {
			hooked = append(hooked, reference)
			return nil
		}
		r := newReceiver(t)
		long := `{"status":200,"message":"` + strings.Repeat("x", 3000) + `"}`
		r.setAnswer(func([]byte) (int, string) { return 200, long })
		m := newMember(t, d)
		if err := s.SetURL(ctx, m, r.srv.URL); err != nil {
			t.Fatal(err)
		}
		secret, err := s.Secret(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		payload := `{"webhook_type":"transaction_status","reference":"TRX1","status":"success"}`
		enqueue(t, s, m, KindTransactionStatus, "TRX1", payload)
		id := lastMessage(t, d)
		c.Add(3 * time.Second) // the attempt's time, not the enqueue's, is signed
		if n := s.deliverDue(ctx); n != 1 {
			t.Fatalf("delivered %d, want 1", n)
		}
		got := r.requests()
		if len(got) != 1 {
			t.Fatalf("receiver got %d requests", len(got))
		}
		if string(got[0].body) != payload {
			t.Errorf("body %q, want the payload", got[0].body)
		}
		if got[0].h.ID != MessageID(id) || got[0].h.Timestamp != strconv.FormatInt(c.Now().Unix(), 10) {
			t.Errorf("headers %+v", got[0].h)
		}
		if err := Verify(secret, got[0].h, got[0].body, c.Now(), 0); err != nil {
			t.Errorf("Verify: %v", err)
		}
		msg := message(t, s, id)
		if msg.Status != StatusDelivered || msg.Attempts != 1 || !msg.DeliveredAt.Equal(c.Now()) {
			t.Errorf("message %+v", msg)
		}
		as, err := s.Attempts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 1 {
			t.Fatalf("%d attempts, want 1", len(as))
		}
		a := as[0]
		if a.N != 1 || a.HTTPStatus != 200 || a.Latency <= 0 || a.Error != "" || a.Response != long[:1024] || !a.At.Equal(c.Now()) {
			t.Errorf("attempt %+v", a)
		}
		if len(hooked) != 1 || hooked[0] != "TRX1" {
			t.Errorf("OnDelivered got %q", hooked)
		}
		// A test message does not call the hook.
		if _, err := s.SendTest(ctx, m); err != nil {
			t.Fatal(err)
		}
		s.deliverDue(ctx)
		if len(hooked) != 1 {
			t.Errorf("OnDelivered called for a test message")
		}
	})
}

// TestOnDeliveredError: a failing hook undoes the record of delivery, and the
// message is tried again once the lease runs out.
func TestOnDeliveredError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		s := newTestService(t, d, c, ClientOptions{})
		s.OnDelivered = func(tx *db.Tx, reference string) error { return errors.New("boom") }
		r := newReceiver(t)
		m := newMember(t, d)
		if err := s.SetURL(ctx, m, r.srv.URL); err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, m, KindTransactionStatus, "TRX1", `{}`)
		id := lastMessage(t, d)
		s.deliverDue(ctx)
		if msg := message(t, s, id); msg.Status != StatusPending {
			t.Fatalf("status %s, want pending", msg.Status)
		}
		if n := s.deliverDue(ctx); n != 0 {
			t.Fatalf("leased message claimed again")
		}
		c.Add(s.lease + time.Second)
		s.OnDelivered = nil
		s.deliverDue(ctx)
		if msg := message(t, s, id); msg.Status != StatusDelivered || len(r.requests()) != 2 {
			t.Fatalf("after the lease: %+v, %d requests", msg, len(r.requests()))
		}
	})
}

var retryCases = []struct {
	name    string
	timeout time.Duration
	answer  func([]byte) (int, string)
}{
	{"http500", 0, func([]byte) (int, string) { return 500, "oops" }},
	{"timeout", 100 * time.Millisecond, func([]byte) (int, string) {
		time.Sleep(400 * time.Millisecond)
		return 200, `{"status":200}`
	}},
	{"body400", 0, func([]byte) (int, string) { return 200, `{"status":400,"message":"Invalid signature"}` }},
}

func TestRetries(t *testing.T) {
	for _, tc := range retryCases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				c := newClock()
				s := newTestService(t, d, c, ClientOptions{Timeout: tc.timeout})
				r := newReceiver(t)
				r.setAnswer(tc.answer)
				m := newMember(t, d)
				if err := s.SetURL(ctx, m, r.srv.URL); err != nil {
					t.Fatal(err)
				}
				enqueue(t, s, m, KindTransactionStatus, "TRX1", `{"webhook_type":"transaction_status"}`)
				id := lastMessage(t, d)
				for i := 0; i <= len(Backoff); i++ {
					if n := s.deliverDue(ctx); n != 1 {
						t.Fatalf("attempt %d: sent %d, want 1", i+1, n)
					}
					msg := message(t, s, id)
					if i == len(Backoff) {
						if msg.Status != StatusFailed || msg.Attempts != i+1 {
							t.Fatalf("after the last attempt: %+v", msg)
						}
						break
					}
					if msg.Status != StatusPending || msg.Attempts != i+1 {
						t.Fatalf("attempt %d: %+v", i+1, msg)
					}
					wait := msg.NextAt.Sub(c.Now())
					lo := time.Duration(float64(Backoff[i]) * (1 - Jitter))
					hi := time.Duration(float64(Backoff[i]) * (1 + Jitter))
					if wait < lo || wait > hi {
						t.Fatalf("attempt %d: retry in %s, want %s ±10%%", i+1, wait, Backoff[i])
					}
					c.Set(msg.NextAt.Add(-time.Millisecond))
					if n := s.deliverDue(ctx); n != 0 {
						t.Fatalf("attempt %d: sent before it was due", i+1)
					}
					c.Set(msg.NextAt)
				}
				as, err := s.Attempts(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if len(as) != len(Backoff)+1 {
					t.Fatalf("%d attempts recorded, want %d", len(as), len(Backoff)+1)
				}
				for _, a := range as {
					if a.Error == "" {
						t.Errorf("attempt %d recorded no error: %+v", a.N, a)
					}
				}
				if tc.name == "timeout" && as[0].HTTPStatus != 0 {
					t.Errorf("timeout recorded HTTP %d", as[0].HTTPStatus)
				}
				if n := s.deliverDue(ctx); n != 0 {
					t.Fatal("a failed message was sent again")
				}

				// An operator redelivers it.
				r.setAnswer(func([]byte) (int, string) { return 204, "" })
				c.Add(time.Hour)
				if err := s.Redeliver(ctx, id); err != nil {
					t.Fatal(err)
				}
				if msg := message(t, s, id); msg.Status != StatusPending || msg.Attempts != 0 {
					t.Fatalf("after Redeliver: %+v", msg)
				}
				if err := s.Redeliver(ctx, id); !errors.Is(err, ErrNotRedeliverable) {
					t.Fatalf("Redeliver(pending): %v", err)
				}
				if n := s.deliverDue(ctx); n != 1 {
					t.Fatalf("redelivery: sent %d", n)
				}
				if msg := message(t, s, id); msg.Status != StatusDelivered || msg.Attempts != 1 {
					t.Fatalf("after redelivery: %+v", msg)
				}
				as, _ = s.Attempts(ctx, id)
				if len(as) != len(Backoff)+2 || as[len(as)-1].N != len(Backoff)+2 || as[len(as)-1].HTTPStatus != 204 {
					t.Fatalf("attempts after redelivery: %+v", as[len(as)-1])
				}
				// A delivered message can be redelivered too.
				if err := s.Redeliver(ctx, id); err != nil {
					t.Fatal(err)
				}
				if n := s.deliverDue(ctx); n != 1 {
					t.Fatalf("second redelivery: sent %d", n)
				}
				if err := s.Redeliver(ctx, 424242); !errors.Is(err, db.ErrNotFound) {
					t.Fatalf("Redeliver(unknown): %v", err)
				}
			})
		})
	}
}

func TestOrderPerReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		s := newTestService(t, d, c, ClientOptions{})
		r := newReceiver(t)
		var firstOK atomic.Bool
		r.setAnswer(func(body []byte) (int, string) {
			if strings.Contains(string(body), "first") && !firstOK.Load() {
				return 503, ""
			}
			return 200, ""
		})
		m := newMember(t, d)
		if err := s.SetURL(ctx, m, r.srv.URL); err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, m, KindTransactionStatus, "TRX1", `{"n":"first"}`)
		first := lastMessage(t, d)
		enqueue(t, s, m, KindTransactionStatus, "TRX1", `{"n":"second"}`)
		second := lastMessage(t, d)
		enqueue(t, s, m, KindTransactionStatus, "TRX2", `{"n":"other"}`)
		other := lastMessage(t, d)

		bodies := func() []string {
			var out []string
			for _, g := range r.requests() {
				out = append(out, string(g.body))
			}
			return out
		}
		s.deliverDue(ctx)
		if msg := message(t, s, other); msg.Status != StatusDelivered {
			t.Fatalf("another reference was held back: %+v", msg)
		}
		for range 3 {
			c.Add(time.Hour)
			s.deliverDue(ctx)
			if msg := message(t, s, second); msg.Status != StatusPending || msg.Attempts != 0 {
				t.Fatalf("the second message overtook the first: %+v", msg)
			}
		}
		firstOK.Store(true)
		c.Add(time.Hour)
		s.deliverDue(ctx)
		if message(t, s, first).Status != StatusDelivered || message(t, s, second).Status != StatusDelivered {
			t.Fatal("both messages should be delivered")
		}
		got := bodies()
		last := got[len(got)-2:]
		if last[0] != `{"n":"first"}` || last[1] != `{"n":"second"}` {
			t.Fatalf("received %q", got)
		}
		for _, b := range got[:len(got)-2] {
			if b == `{"n":"second"}` {
				t.Fatalf("second received before the first was delivered: %q", got)
			}
		}
	})
}

// TestClaimsExclusive runs two delivery loops on one database: every message
// reaches the receiver exactly once.
func TestClaimsExclusive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		counts := map[string]int{}
		r := newReceiver(t)
		r.setAnswer(func([]byte) (int, string) { return 200, "" })
		const members, perMember = 4, 100
		var ids []int64
		s1 := newTestService(t, d, nil, ClientOptions{})
		for range members {
			m := newMember(t, d)
			if err := s1.SetURL(ctx, m, r.srv.URL); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, m)
		}
		s2 := newTestService(t, d, nil, ClientOptions{})
		for _, s := range []*Service{s1, s2} {
			s.Workers = 16
			s.PollInterval = 10 * time.Millisecond
		}
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, s := range []*Service{s1, s2} {
			wg.Add(1)
			go func() { defer wg.Done(); s.Run(runCtx) }()
		}
		err := d.Write(ctx, func(tx *db.Tx) error {
			for i := range perMember {
				for j, m := range ids {
					// Every fifth message shares a reference with the one before.
					ref := "TRX" + string(rune('a'+j)) + strings.Repeat("x", i/5)
					if err := Enqueue(tx, m, KindTransactionStatus, ref, []byte(`{}`), time.Now()); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s1.Poke()
		s2.Poke()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var pending int
			if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_messages WHERE status <> 'delivered'").Scan(&pending); err != nil {
				t.Fatal(err)
			}
			if pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d messages not delivered", pending)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		for _, g := range r.requests() {
			mu.Lock()
			counts[g.h.ID]++
			mu.Unlock()
		}
		if len(counts) != members*perMember {
			t.Fatalf("%d distinct messages received, want %d", len(counts), members*perMember)
		}
		for id, n := range counts {
			if n != 1 {
				t.Errorf("%s received %d times", id, n)
			}
		}
		var attempts int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_attempts").Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		if attempts != members*perMember {
			t.Errorf("%d attempts recorded, want %d", attempts, members*perMember)
		}
	})
}
