package payment

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/qris"
)

// testClock is a clock tests move by hand.
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

type invoiceFixture struct {
	d     *db.DB
	clock *testClock
	svc   *Service
	store Store
}

func newInvoiceFixture(t *testing.T, d *db.DB, ns NewStore, opt Options) *invoiceFixture {
	t.Helper()
	clock := &testClock{t: t0}
	m := addMember(t, d, "budi")
	ns.MemberID = m.ID
	if ns.Name == "" {
		ns.Name = "Toko Budi"
	}
	stores := NewStores(d, clock.Now)
	st, err := stores.Add(context.Background(), ns)
	if err != nil {
		t.Fatal(err)
	}
	opt.Now = clock.Now
	svc, err := New(d, stores, opt)
	if err != nil {
		t.Fatal(err)
	}
	return &invoiceFixture{d: d, clock: clock, svc: svc, store: st}
}

// TestCreateInvoice checks an invoice's fields: the total, the dynamic
// QRIS made from the store's static one with tag 54 = total, the fee of
// the store's rule, the expiry of the store's lifetime.
func TestCreateInvoice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newInvoiceFixture(t, d, NewStore{StaticQRIS: staticDANA, FeeFlat: 100, FeePercentBP: 70, Lifetime: 30 * time.Minute}, Options{})
		ctx := context.Background()
		inv, replayed, err := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 10_000,
			Description: "Pembelian Produk A", CustomerName: "John Doe"})
		if err != nil || replayed {
			t.Fatalf("Create: %v %v", replayed, err)
		}
		if inv.UniqueCode < 1 || inv.UniqueCode > 999 || inv.Total != 10_000+inv.UniqueCode {
			t.Fatalf("code %d total %d", inv.UniqueCode, inv.Total)
		}
		if len(inv.Invoice) != len("INV")+8+11 || inv.Invoice[:11] != "INV20261121" {
			t.Fatalf("invoice number %q", inv.Invoice)
		}
		if want := 100 + (inv.Total*70+5_000)/10_000; inv.Fee != want {
			t.Fatalf("fee %d, want %d", inv.Fee, want)
		}
		if !inv.ExpiredAt.Equal(t0.Add(30 * time.Minute)) {
			t.Fatalf("expired_at %s", inv.ExpiredAt)
		}
		checkQR(t, inv.QRContent, inv.Total)
		p, _ := qris.Parse(inv.QRContent)
		if name, _ := p.Get(qris.TagMerchantName); name != "Warung Sayur Bu Sugeng" {
			t.Fatalf("merchant name %q", name)
		}
		got, err := f.svc.Get(ctx, inv.Invoice)
		if err != nil || got.Total != inv.Total || got.StoreName != "Toko Budi" || got.QRContent != inv.QRContent || got.StatusAt(f.clock.Now()) != Unpaid {
			t.Fatalf("Get: %+v %v", got, err)
		}
		if got.StatusAt(inv.ExpiredAt) != Expired {
			t.Fatal("an unpaid invoice past expired_at is not reported expired")
		}
	})
}

// checkQR asserts that payload is a valid dynamic QRIS for total.
func checkQR(t *testing.T, payload string, total int64) {
	t.Helper()
	if err := qris.Validate(payload); err != nil {
		t.Fatalf("qr_content does not validate: %v", err)
	}
	p, err := qris.Parse(payload)
	if err != nil || p.IsStatic() {
		t.Fatalf("qr_content is not dynamic: %v", err)
	}
	if v, _ := p.Get(qris.TagAmount); v != itoa(total) {
		t.Fatalf("tag 54 = %q, want %d", v, total)
	}
}

// TestSandboxPayloadSaysSo: a store without a static QRIS gets a valid
// payload whose merchant name says it is a sandbox one.
func TestSandboxPayloadSaysSo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newInvoiceFixture(t, d, NewStore{Sandbox: true}, Options{})
		inv, _, err := f.svc.Create(context.Background(), f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 25_000})
		if err != nil {
			t.Fatal(err)
		}
		checkQR(t, inv.QRContent, inv.Total)
		p, _ := qris.Parse(inv.QRContent)
		if name, _ := p.Get(qris.TagMerchantName); name[:7] != "SANDBOX" {
			t.Fatalf("merchant name %q does not say sandbox", name)
		}
	})
}

var createErrorCases = []struct {
	name  string
	in    NewInvoice
	code  fault.Code
	field string
}{
	{"amount below minimum", NewInvoice{Amount: 999}, fault.BelowMinimum, "amount"},
	{"amount above maximum", NewInvoice{Amount: MaxAmount + 1}, fault.AboveMaximum, "amount"},
	{"description too long", NewInvoice{Amount: 5_000, Description: string(make([]rune, 101))}, fault.Invalid, "description"},
	{"customer name with control", NewInvoice{Amount: 5_000, CustomerName: "a\x00b"}, fault.Invalid, "customer_name"},
	{"merchant_ref with space", NewInvoice{Amount: 5_000, MerchantRef: "a b"}, fault.Invalid, "merchant_ref"},
	{"unknown store", NewInvoice{StoreID: 999, Amount: 5_000}, fault.NotFound, "store_id"},
}

func TestCreateInvoiceRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newInvoiceFixture(t, d, NewStore{}, Options{})
		ctx := context.Background()
		for _, c := range createErrorCases {
			if c.in.StoreID == 0 {
				c.in.StoreID = f.store.ID
			}
			_, _, err := f.svc.Create(ctx, f.store.MemberID, c.in)
			if fault.CodeOf(err) != c.code || fault.FieldOf(err) != c.field {
				t.Errorf("%s: %v, want %s about %s", c.name, err, c.code, c.field)
			}
		}
		other := addMember(t, d, "sari")
		if _, _, err := f.svc.Create(ctx, other.ID, NewInvoice{StoreID: f.store.ID, Amount: 5_000}); fault.CodeOf(err) != fault.NotFound {
			t.Errorf("another member's store: %v", err)
		}
		if err := f.svc.stores.SetActive(ctx, f.store.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 5_000}); fault.CodeOf(err) != fault.Inactive {
			t.Errorf("inactive store: %v", err)
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM invoices").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d invoices written by refused requests", n)
		}
	})
}

// TestMerchantRef: the same key and request replays; another request is
// refused; after 24 hours the key is free.
func TestMerchantRef(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newInvoiceFixture(t, d, NewStore{Lifetime: 48 * time.Hour}, Options{})
		ctx := context.Background()
		req := NewInvoice{StoreID: f.store.ID, Amount: 10_000, MerchantRef: "ORD-1"}
		var wg sync.WaitGroup
		got := make([]Invoice, 10)
		errs := make([]error, 10)
		for i := range got {
			wg.Go(func() { got[i], _, errs[i] = f.svc.Create(ctx, f.store.MemberID, req) })
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i].Invoice != got[0].Invoice {
				t.Fatalf("concurrent replay %d: %v %s vs %s", i, errs[i], got[i].Invoice, got[0].Invoice)
			}
		}
		diff := req
		diff.Amount = 20_000
		if _, _, err := f.svc.Create(ctx, f.store.MemberID, diff); fault.CodeOf(err) != fault.Conflict || fault.FieldOf(err) != "merchant_ref" {
			t.Fatalf("different request: %v", err)
		}
		f.clock.Add(24*time.Hour + time.Second)
		again, replayed, err := f.svc.Create(ctx, f.store.MemberID, diff)
		if err != nil || replayed || again.Invoice == got[0].Invoice {
			t.Fatalf("after 24h: %v %v", replayed, err)
		}
		var n int
		d.QueryRow(ctx, "SELECT COUNT(*) FROM invoices").Scan(&n)
		if n != 2 {
			t.Fatalf("%d invoices, want 2", n)
		}
	})
}

// TestUniqueCodesExhaustAndGrace: 2,000 concurrent invoices of one amount
// on a store with codes 1–999 → exactly 999 succeed with distinct totals,
// the rest are refused; expired totals stay blocked through the grace
// period, then are free.
func TestUniqueCodesExhaustAndGrace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newInvoiceFixture(t, d, NewStore{Lifetime: 10 * time.Minute}, Options{Grace: time.Hour})
		ctx := context.Background()
		const n = 2_000
		var wg sync.WaitGroup
		invs := make([]Invoice, n)
		errs := make([]error, n)
		sem := make(chan struct{}, 256)
		for i := range n {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				invs[i], _, errs[i] = f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 50_000})
			})
		}
		wg.Wait()
		totals := map[int64]bool{}
		refused := 0
		for i, err := range errs {
			switch {
			case err == nil:
				if totals[invs[i].Total] {
					t.Fatalf("total %d given twice", invs[i].Total)
				}
				totals[invs[i].Total] = true
			case errors.Is(err, ErrCodesExhausted):
				refused++
			default:
				t.Fatalf("create %d: %v", i, err)
			}
		}
		if len(totals) != 999 || refused != n-999 {
			t.Fatalf("%d succeeded, %d refused; want 999 and %d", len(totals), refused, n-999)
		}
		// All expire; their totals stay blocked through the grace period.
		f.clock.Add(10 * time.Minute)
		if k, err := f.svc.ExpireDue(ctx); err != nil || k != 999 {
			t.Fatalf("ExpireDue = %d, %v", k, err)
		}
		f.clock.Add(time.Hour - time.Second)
		if _, _, err := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 50_000}); !errors.Is(err, ErrCodesExhausted) {
			t.Fatalf("within the grace period: %v, want exhausted", err)
		}
		// Another amount has its own totals (except where they overlap).
		if _, _, err := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 60_000}); err != nil {
			t.Fatalf("another amount: %v", err)
		}
		f.clock.Add(time.Second)
		inv, _, err := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 50_000})
		if err != nil || !totals[inv.Total] {
			t.Fatalf("after the grace period: %v (total %d)", err, inv.Total)
		}
	})
}

// TestPayment: settlement through the ledger, late payment within the
// grace period, no payment after it, a paid total freed.
func TestPayment(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newInvoiceFixture(t, d, NewStore{FeeFlat: 250, FeePercentBP: 70, Lifetime: 10 * time.Minute}, Options{Grace: time.Hour})
		ctx := context.Background()
		pay := func(amount int64, at time.Time) (Invoice, error) {
			var inv Invoice
			err := d.Write(ctx, func(tx *db.Tx) error {
				var err error
				inv, err = f.svc.PayTx(tx, Payment{StoreID: f.store.ID, Amount: amount, ReceivedAt: at, By: "test"})
				return err
			})
			return inv, err
		}
		a, _, err := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 10_000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pay(a.Total+1, f.clock.Now()); !errors.Is(err, ErrNoMatch) {
			t.Fatalf("off by one: %v", err)
		}
		paid, err := pay(a.Total, f.clock.Now())
		if err != nil || paid.Invoice != a.Invoice || paid.Late {
			t.Fatalf("exact amount: %+v %v", paid, err)
		}
		if _, err := pay(a.Total, f.clock.Now()); !errors.Is(err, ErrNoMatch) {
			t.Fatalf("second payment of a paid invoice: %v", err)
		}
		fee := 250 + (a.Total*70+5_000)/10_000
		if bal, _ := ledger.Balance(ctx, d, ledger.MemberCode(f.store.MemberID)); bal != a.Total-fee {
			t.Fatalf("owner balance %d, want %d", bal, a.Total-fee)
		}
		if rev, _ := ledger.Total(ctx, d, ledger.Revenue); rev != fee {
			t.Fatalf("revenue %d, want %d", rev, fee)
		}
		if w, _ := ledger.Balance(ctx, d, QRISAccount(f.store.ID)); w != -a.Total {
			t.Fatalf("world:qris %d, want %d", w, -a.Total)
		}
		var kinds, refs int
		d.QueryRow(ctx, "SELECT COUNT(*), COUNT(DISTINCT reference) FROM entries WHERE kind = 'payment'").Scan(&kinds, &refs)
		if kinds != 1 || refs != 1 {
			t.Fatalf("%d payment entries", kinds)
		}
		got, _ := f.svc.Get(ctx, a.Invoice)
		if got.Status != Paid || !got.PaidAt.Equal(t0) || got.PaidBy != "test" {
			t.Fatalf("paid invoice: %+v", got)
		}

		// Late: expired, paid within the grace period.
		b, _, _ := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 20_000})
		c, _, _ := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 30_000})
		f.clock.Add(10 * time.Minute)
		f.svc.ExpireDue(ctx)
		f.clock.Add(30 * time.Minute)
		late, err := pay(b.Total, f.clock.Now())
		if err != nil || late.Invoice != b.Invoice || !late.Late || late.Status != Paid {
			t.Fatalf("within the grace period: %+v %v", late, err)
		}
		// After the grace period: nothing.
		f.clock.Add(31 * time.Minute)
		if _, err := pay(c.Total, f.clock.Now()); !errors.Is(err, ErrNoMatch) {
			t.Fatalf("after the grace period: %v", err)
		}
		// Money received before an invoice existed does not pay it.
		e, _, _ := f.svc.Create(ctx, f.store.MemberID, NewInvoice{StoreID: f.store.ID, Amount: 40_000})
		if _, err := pay(e.Total, f.clock.Now().Add(-time.Minute)); !errors.Is(err, ErrNoMatch) {
			t.Fatalf("money older than the invoice: %v", err)
		}
		rep, err := ledger.Verify(ctx, d)
		if err != nil || !rep.OK() {
			t.Fatalf("ledger: %v %s", err, rep)
		}
	})
}

func itoa(n int64) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int64) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}
