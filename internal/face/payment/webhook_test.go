package payment_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/incoming"
	"kios/internal/ledger"
	"kios/internal/payment"
	"kios/internal/webhook"
)

// received is one request a store's callback URL got.
type received struct {
	method, path, contentType string
	headers                   webhook.Headers
	body                      []byte
}

// callbackReceiver is a store's callback endpoint on loopback: it keeps
// every request and answers 200 {"status":"ok"}.
type callbackReceiver struct {
	srv  *httptest.Server
	got  chan received
	mu   sync.Mutex
	seen int
}

func newCallbackReceiver(t *testing.T) *callbackReceiver {
	t.Helper()
	r := &callbackReceiver{got: make(chan received, 16)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.seen++
		r.mu.Unlock()
		r.got <- received{method: req.Method, path: req.URL.Path, contentType: req.Header.Get("Content-Type"),
			headers: webhook.HeadersFrom(req.Header), body: body}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *callbackReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen
}

// TestPaymentStatusWebhookDelivered: an invoice created over HTTP and paid
// through the matcher sends one payment_status message to the store's
// callback URL, carried by the real delivery worker (webhook.Service.Run)
// over loopback, signed so that webhook.Verify accepts it with the
// owner's secret and refuses it with another; a replayed payment sends
// nothing more.
func TestPaymentStatusWebhookDelivered(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		recv := newCallbackReceiver(t)
		st, err := f.payments.Stores().Add(ctx, payment.NewStore{MemberID: f.owner.ID, Name: "Toko Callback",
			StaticQRIS: staticDANA, CallbackURL: recv.srv.URL + "/kios/callback", FeePercentBP: 100})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); f.hooks.Run(runCtx) }()
		defer func() { stop(); <-done }()

		_, body := f.do(t, "POST", "/api/create_payment.php", "application/x-www-form-urlencoded", f.bearer(),
			strings.NewReader(fmt.Sprintf("store_id=%d&amount=10000&customer_name=John+Doe", st.ID)))
		_, cr := pinCreate(t, body)
		select {
		case r := <-recv.got:
			t.Fatalf("a message before payment: %s", r.body)
		case <-time.After(100 * time.Millisecond):
		}
		f.clock.Add(10 * time.Minute)
		rec := incoming.Record{Channel: fmt.Sprintf("qris:%d", st.ID), Amount: cr.Data.Total, ReceivedAt: f.clock.Now(), ExternalID: "acq-77"}
		res, err := f.incoming.Post(ctx, rec, "test", nil)
		if err != nil || res.Status != incoming.Matched || res.Reference != cr.Data.Invoice {
			t.Fatalf("pay: %+v %v", res, err)
		}

		var r received
		select {
		case r = <-recv.got:
		case <-time.After(20 * time.Second):
			t.Fatal("no payment_status message reached the callback URL")
		}
		if r.method != "POST" || r.path != "/kios/callback" || r.contentType != "application/json" {
			t.Fatalf("request %s %s (%s)", r.method, r.path, r.contentType)
		}
		secret, err := f.hooks.Secret(ctx, f.owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := webhook.Verify(secret, r.headers, r.body, f.clock.Now(), 0); err != nil {
			t.Fatalf("Verify with the owner's secret: %v", err)
		}
		wrong, _ := webhook.NewSecret()
		if err := webhook.Verify(wrong, r.headers, r.body, f.clock.Now(), 0); !errors.Is(err, webhook.ErrNoSignature) {
			t.Fatalf("Verify with another secret = %v, want ErrNoSignature", err)
		}
		var msgID int64
		if err := d.QueryRow(ctx, "SELECT id FROM webhook_messages WHERE reference = ?", cr.Data.Invoice).Scan(&msgID); err != nil {
			t.Fatal(err)
		}
		if r.headers.ID != webhook.MessageID(msgID) {
			t.Fatalf("webhook-id %q, want %q", r.headers.ID, webhook.MessageID(msgID))
		}
		got := strings.ReplaceAll(string(r.body), cr.Data.Invoice, "INV20231201123456")
		got = strings.Replace(got, fmt.Sprintf(`"store_id":%d,`, st.ID), `"store_id":1,`, 1)
		got = strings.Replace(got, fmt.Sprintf(`"unique_code":%d,"total_amount":%d`, cr.Data.UniqueCode, cr.Data.Total), `"unique_code":387,"total_amount":10387`, 1)
		golden(t, "webhook_payment_status.json", got)

		// The same record again moves nothing and sends nothing.
		if res, err := f.incoming.Post(ctx, rec, "test", nil); err != nil || !res.Replayed {
			t.Fatalf("replay: %+v %v", res, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			m, err := f.hooks.Message(ctx, msgID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == webhook.StatusDelivered {
				if m.Attempts != 1 {
					t.Fatalf("delivered after %d attempts, want 1", m.Attempts)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message %+v not recorded delivered", m)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM webhook_messages").Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d messages in the outbox (%v), want 1", n, err)
		}
		stop()
		<-done
		if c := recv.count(); c != 1 {
			t.Fatalf("callback URL got %d requests, want 1", c)
		}
		fee := payment.Store{FeePercentBP: 100}.Fee(cr.Data.Total)
		if bal, _ := ledger.Balance(ctx, d, ledger.MemberCode(f.owner.ID)); bal != cr.Data.Total-fee {
			t.Fatalf("owner balance %d, want %d", bal, cr.Data.Total-fee)
		}
		rep, err := ledger.Verify(ctx, d)
		if err != nil || !rep.OK() {
			t.Fatalf("ledger: %v %s", err, rep)
		}
	})
}
