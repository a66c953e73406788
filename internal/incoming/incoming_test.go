package incoming

import (
	"context"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/payment"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)

type fixture struct {
	d        *db.DB
	clock    *testClock
	payments *payment.Service
	funds    *funding.Service
	svc      *Service
	owner    member.Member
	store    payment.Store
}

func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := &testClock{t: t0}
	owner, err := member.NewStore(d, clock.Now).Add(ctx, member.NewMember{Username: "budi", Level: "member", Password: "rahasia123"})
	if err != nil {
		t.Fatal(err)
	}
	stores := payment.NewStores(d, clock.Now)
	st, err := stores.Add(ctx, payment.NewStore{MemberID: owner.ID, Name: "Toko Budi", FeeFlat: 100, Lifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	payments, err := payment.New(d, stores, payment.Options{Now: clock.Now, Grace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	funds := funding.New(d, funding.Options{Now: clock.Now})
	if err := funds.Prepare(ctx, funding.DemoBanks()); err != nil {
		t.Fatal(err)
	}
	return &fixture{d: d, clock: clock, payments: payments, funds: funds,
		svc: New(d, payments, funds, clock.Now, nil), owner: owner, store: st}
}

func (f *fixture) invoice(t testing.TB, amount int64) payment.Invoice {
	t.Helper()
	inv, _, err := f.payments.Create(context.Background(), f.owner.ID, payment.NewInvoice{StoreID: f.store.ID, Amount: amount})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func (f *fixture) qris() string { return "qris:" + itoa(f.store.ID) }

func verify(t *testing.T, d *db.DB) {
	t.Helper()
	rep, err := ledger.Verify(context.Background(), d)
	if err != nil || !rep.OK() {
		t.Fatalf("ledger: %v %s", err, rep)
	}
}

// TestMatchInvoice: the exact amount pays once; off by one is unmatched;
// the same external_id posted 10 times at once credits once; within the
// grace period it pays the expired invoice (late); after it, unmatched.
func TestMatchInvoice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		a := f.invoice(t, 10_000)
		res, err := f.svc.Post(ctx, Record{Channel: f.qris(), Amount: a.Total + 1, ReceivedAt: f.clock.Now(), ExternalID: "m-1"}, "feed", nil)
		if err != nil || res.Status != Unmatched || res.Reason == "" {
			t.Fatalf("off by one: %+v %v", res, err)
		}

		var wg sync.WaitGroup
		results := make([]Result, 10)
		errs := make([]error, 10)
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = f.svc.Post(ctx, Record{Channel: f.qris(), Amount: a.Total, ReceivedAt: f.clock.Now(), ExternalID: "m-2"}, "feed", nil)
			})
		}
		wg.Wait()
		fresh := 0
		for i, r := range results {
			if errs[i] != nil || r.Status != Matched || r.Reference != a.Invoice || r.ID != results[0].ID {
				t.Fatalf("post %d: %+v %v", i, r, errs[i])
			}
			if !r.Replayed {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d posts were not replays, want 1", fresh)
		}
		if bal, _ := ledger.Balance(ctx, d, ledger.MemberCode(f.owner.ID)); bal != a.Total-100 {
			t.Fatalf("owner credited %d, want %d once", bal, a.Total-100)
		}
		// A second, different record of the same amount: the invoice is paid.
		res, err = f.svc.Post(ctx, Record{Channel: f.qris(), Amount: a.Total, ReceivedAt: f.clock.Now(), ExternalID: "m-3"}, "feed", nil)
		if err != nil || res.Status != Unmatched {
			t.Fatalf("second payment: %+v %v", res, err)
		}
		// The same external_id with another amount is refused.
		if _, err := f.svc.Post(ctx, Record{Channel: f.qris(), Amount: 1, ReceivedAt: f.clock.Now(), ExternalID: "m-2"}, "feed", nil); fault.CodeOf(err) != fault.Conflict {
			t.Fatalf("reused external_id: %v", err)
		}

		b := f.invoice(t, 20_000)
		c := f.invoice(t, 30_000)
		f.clock.Add(40 * time.Minute)
		res, err = f.svc.Post(ctx, Record{Channel: f.qris(), Amount: b.Total, ReceivedAt: f.clock.Now(), ExternalID: "m-4"}, "feed", nil)
		if err != nil || res.Status != Matched || res.Reference != b.Invoice {
			t.Fatalf("within the grace period: %+v %v", res, err)
		}
		if got, _ := f.payments.Get(ctx, b.Invoice); !got.Late || got.Status != payment.Paid {
			t.Fatalf("late invoice: %+v", got)
		}
		f.clock.Add(31 * time.Minute)
		res, err = f.svc.Post(ctx, Record{Channel: f.qris(), Amount: c.Total, ReceivedAt: f.clock.Now(), ExternalID: "m-5"}, "feed", nil)
		if err != nil || res.Status != Unmatched {
			t.Fatalf("after the grace period: %+v %v", res, err)
		}
		_, got, err := f.svc.Get(ctx, res.ID)
		if err != nil || got.Status != Unmatched || got.Reason == "" {
			t.Fatalf("unmatched record kept: %+v %v", got, err)
		}
		verify(t, d)
	})
}

// TestMatchDeposit: a bank record completes the deposit with that price
// through funding's Confirm, once.
func TestMatchDeposit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		dep, err := f.funds.Deposit(ctx, f.owner.ID, 50_000, "bca")
		if err != nil {
			t.Fatal(err)
		}
		if res, err := f.svc.Post(ctx, Record{Channel: "bank:bni", Amount: dep.Price, ReceivedAt: f.clock.Now(), ExternalID: "b-0"}, "feed", nil); err != nil || res.Status != Unmatched {
			t.Fatalf("other bank: %+v %v", res, err)
		}
		var wg sync.WaitGroup
		results := make([]Result, 5)
		errs := make([]error, 5)
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = f.svc.Post(ctx, Record{Channel: "bank:bca", Amount: dep.Price, ReceivedAt: f.clock.Now(), ExternalID: "b-1"}, "feed", nil)
			})
		}
		wg.Wait()
		for i, r := range results {
			if errs[i] != nil || r.Status != Matched || r.Reference != dep.Reference {
				t.Fatalf("post %d: %+v %v", i, r, errs[i])
			}
		}
		if bal, _ := ledger.Balance(ctx, d, ledger.MemberCode(f.owner.ID)); bal != dep.Price {
			t.Fatalf("balance %d, want %d", bal, dep.Price)
		}
		verify(t, d)
	})
}

// TestResumeAfterCrash: a bank record left matching (the process died
// after confirming, or before) is finished by Resume, and counts as
// matched when its own Confirm went through.
func TestResumeAfterCrash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		dep, _ := f.funds.Deposit(ctx, f.owner.ID, 50_000, "bca")
		ch := channel{bank: "bca"}
		res, err := f.svc.write(ctx, Record{Channel: "bank:bca", Amount: dep.Price, ReceivedAt: f.clock.Now(), ExternalID: "c-1"}, ch, "feed", nil)
		if err != nil || res.Status != Matching {
			t.Fatalf("write: %+v %v", res, err)
		}
		// The confirmation went through, then the process died.
		if _, err := f.funds.Confirm(ctx, dep.Reference, Actor(res.ID)); err != nil {
			t.Fatal(err)
		}
		if n, err := f.svc.Resume(ctx); err != nil || n != 1 {
			t.Fatalf("Resume = %d, %v", n, err)
		}
		_, got, _ := f.svc.Get(ctx, res.ID)
		if got.Status != Matched || got.Reference != dep.Reference {
			t.Fatalf("after resume: %+v", got)
		}
		verify(t, d)
	})
}

var recordErrorCases = []struct {
	name  string
	r     Record
	field string
}{
	{"no channel", Record{Amount: 1, ExternalID: "x"}, "channel"},
	{"bad channel", Record{Channel: "qris:abc", Amount: 1, ExternalID: "x"}, "channel"},
	{"bank code in capitals", Record{Channel: "bank:BCA", Amount: 1, ExternalID: "x"}, "channel"},
	{"zero amount", Record{Channel: "bank:bca", ExternalID: "x"}, "amount"},
	{"no external_id", Record{Channel: "bank:bca", Amount: 1}, "external_id"},
	{"future", Record{Channel: "bank:bca", Amount: 1, ExternalID: "x", ReceivedAt: t0.Add(time.Hour)}, "received_at"},
}

func TestRecordRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		for _, c := range recordErrorCases {
			if c.r.ReceivedAt.IsZero() {
				c.r.ReceivedAt = t0
			}
			if _, err := f.svc.Post(context.Background(), c.r, "feed", nil); fault.FieldOf(err) != c.field {
				t.Errorf("%s: %v, want a fault about %s", c.name, err, c.field)
			}
		}
		var n int
		if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM incoming_funds").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%d records written by refused posts", n)
		}
	})
}

func itoa(n int64) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestRacingPayments: ten different records of one invoice's total posted
// at once (the invoice is found before it is settled, so they race between
// the two): exactly one pays it, the other nine are kept unmatched, and
// the owner is credited once.
func TestRacingPayments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		a := f.invoice(t, 25_000)
		var wg sync.WaitGroup
		results := make([]Result, 10)
		errs := make([]error, 10)
		for i := range results {
			wg.Go(func() {
				results[i], errs[i] = f.svc.Post(ctx, Record{Channel: f.qris(), Amount: a.Total, ReceivedAt: f.clock.Now(),
					ExternalID: "race-" + itoa(int64(i))}, "feed", nil)
			})
		}
		wg.Wait()
		matched := 0
		for i, r := range results {
			switch {
			case errs[i] != nil:
				t.Fatalf("post %d: %v", i, errs[i])
			case r.Status == Matched && r.Reference == a.Invoice:
				matched++
			case r.Status != Unmatched || r.Reference != "":
				t.Fatalf("post %d: %+v", i, r)
			}
			if _, got, err := f.svc.Get(ctx, r.ID); err != nil || got.Status != r.Status {
				t.Fatalf("record %d stored as %+v, %v; answered %+v", r.ID, got, err, r)
			}
		}
		if matched != 1 {
			t.Fatalf("%d records paid the invoice, want 1", matched)
		}
		if bal, _ := ledger.Balance(ctx, d, ledger.MemberCode(f.owner.ID)); bal != a.Total-100 {
			t.Fatalf("owner credited %d, want %d once", bal, a.Total-100)
		}
		verify(t, d)
	})
}
