package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
)

// clock is a settable clock for the Service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 7, 2, 13, 11, 43, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// received is one request a receiver got.
type received struct {
	h    Headers
	body []byte
}

// receiver is a loopback webhook endpoint whose answer a test sets.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(body []byte) (int, string)
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{answer: func([]byte) (int, string) { return 200, `{"status":200,"message":"ok"}` }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{HeadersFrom(req.Header), body})
		answer := r.answer
		r.mu.Unlock()
		code, text := answer(body)
		w.WriteHeader(code)
		io.WriteString(w, text)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setAnswer(f func(body []byte) (int, string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func testKeyring(t *testing.T) *Keyring {
	k, err := NewKeyring(make([]byte, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestService(t *testing.T, d *db.DB, c *clock, opts ClientOptions) *Service {
	opts.AllowPrivate = true
	now := time.Now
	if c != nil {
		now = c.Now
	}
	return NewService(d, testKeyring(t), now, nil, opts)
}

var memberSeq sync.Mutex
var memberN int

// newMember inserts a member (with its ledger account) and returns its id.
func newMember(t testing.TB, d *db.DB) int64 {
	t.Helper()
	memberSeq.Lock()
	memberN++
	n := memberN
	memberSeq.Unlock()
	var id int64
	err := d.Write(context.Background(), func(tx *db.Tx) error {
		acc, err := tx.InsertID("INSERT INTO accounts (code, kind, created_at) VALUES (?, 'member', 0)", fmt.Sprintf("member:wh%d", n))
		if err != nil {
			return err
		}
		id, err = tx.InsertID(`INSERT INTO members (username, level, password_hash, account_id, created_at, updated_at)
			VALUES (?, 'member', 'x', ?, 0, 0)`, fmt.Sprintf("wh%d", n), acc)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func enqueue(t *testing.T, s *Service, member int64, kind, ref, payload string) {
	t.Helper()
	err := s.db.Write(context.Background(), func(tx *db.Tx) error {
		return Enqueue(tx, member, kind, ref, []byte(payload), s.now())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func lastMessage(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var id int64
	if err := d.QueryRow(context.Background(), "SELECT COALESCE(MAX(id), 0) FROM webhook_messages").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func message(t *testing.T, s *Service, id int64) Message {
	t.Helper()
	m, err := s.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNoURLRecordsNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newTestService(t, d, newClock(), ClientOptions{})
		m := newMember(t, d)
		enqueue(t, s, m, KindTransactionStatus, "TRX1", `{"webhook_type":"transaction_status"}`)
		if id := lastMessage(t, d); id != 0 {
			t.Fatalf("no endpoint: message %d recorded", id)
		}
		// A secret but no URL, then a URL cleared: still nothing.
		if _, err := s.Secret(ctx, m); err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, m, KindTransactionStatus, "TRX1", `{}`)
		if err := s.SetURL(ctx, m, "http://example.com/hook"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetURL(ctx, m, ""); err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, m, KindTransactionStatus, "TRX1", `{}`)
		if id := lastMessage(t, d); id != 0 {
			t.Fatalf("no URL: message %d recorded", id)
		}
		if _, err := s.SendTest(ctx, m); !errors.Is(err, ErrNoURL) {
			t.Fatalf("SendTest without URL: %v, want ErrNoURL", err)
		}
		if err := s.SetURL(ctx, m, "ftp://example.com/"); !errors.Is(err, ErrUnsupportedScheme) {
			t.Fatalf("SetURL(ftp): %v", err)
		}
		if err := s.SetURL(ctx, 999999, "http://example.com/"); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("SetURL(unknown member): %v", err)
		}
		err := d.Write(ctx, func(tx *db.Tx) error {
			return Enqueue(tx, m, KindTest, "", []byte("not json"), s.now())
		})
		if !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("Enqueue(not JSON): %v", err)
		}
	})
}

func TestOutboxRotation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := newClock()
		s := newTestService(t, d, c, ClientOptions{})
		r := newReceiver(t)
		m := newMember(t, d)
		if err := s.SetURL(ctx, m, r.srv.URL); err != nil {
			t.Fatal(err)
		}
		old, err := s.Secret(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		// Setting the URL again keeps the secret.
		if err := s.SetURL(ctx, m, r.srv.URL+"/again"); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.Secret(ctx, m); again != old {
			t.Fatal("SetURL changed the secret")
		}
		fresh, err := s.RotateSecret(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if cur, _ := s.Secret(ctx, m); cur != fresh || fresh == old {
			t.Fatal("RotateSecret did not make the new secret current")
		}

		send := func() received {
			t.Helper()
			if _, err := s.SendTest(ctx, m); err != nil {
				t.Fatal(err)
			}
			if n := s.deliverDue(ctx); n != 1 {
				t.Fatalf("delivered %d, want 1", n)
			}
			got := r.requests()
			return got[len(got)-1]
		}
		got := send()
		for _, secret := range []string{old, fresh} {
			if err := Verify(secret, got.h, got.body, c.Now(), 0); err != nil {
				t.Errorf("within 24 h: %v", err)
			}
		}
		c.Add(RotationGrace - time.Minute)
		got = send()
		if err := Verify(old, got.h, got.body, c.Now(), 0); err != nil {
			t.Errorf("just before 24 h, old secret: %v", err)
		}
		c.Add(2 * time.Minute)
		got = send()
		if err := Verify(fresh, got.h, got.body, c.Now(), 0); err != nil {
			t.Errorf("after 24 h, new secret: %v", err)
		}
		if err := Verify(old, got.h, got.body, c.Now(), 0); !errors.Is(err, ErrNoSignature) {
			t.Errorf("after 24 h, old secret: %v, want ErrNoSignature", err)
		}
	})
}
