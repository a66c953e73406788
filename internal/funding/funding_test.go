package funding_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/password"
	"kios/internal/rupiah"
)

func TestMain(m *testing.M) {
	password.Cost = 4 // bcrypt.MinCost: these tests are about money, not hashes
	os.Exit(m.Run())
}

// t0 is 2024-07-12 15:10:35 WIB.
var t0 = time.Date(2024, 7, 12, 8, 10, 35, 0, time.UTC)

// clock is a settable clock shared by the service and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

// env is one test's service on a fresh database.
type env struct {
	d       *db.DB
	clk     *clock
	svc     *funding.Service
	members *member.Store
}

func newEnv(t *testing.T, d *db.DB, opt funding.Options) *env {
	t.Helper()
	e := &env{d: d, clk: &clock{t: t0}}
	opt.Now = e.clk.Now
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.svc = funding.New(d, opt)
	e.members = member.NewStore(d, e.clk.Now)
	if err := e.svc.Prepare(context.Background(), funding.DemoBanks()); err != nil {
		t.Fatal(err)
	}
	return e
}

// member adds a member funded with balance rupiah from system:adjust.
func (e *env) member(t *testing.T, name string, balance int64) member.Member {
	t.Helper()
	ctx := context.Background()
	m, err := e.members.Add(ctx, member.NewMember{Username: name, Level: "reseller", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if err := e.d.Write(ctx, func(tx *db.Tx) error {
			adj, err := ledger.AccountByCode(tx, ledger.Adjust)
			if err != nil {
				return err
			}
			_, err = ledger.Transfer(tx, "adjustment", "TEST", adj.ID, m.AccountID, balance, e.clk.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (e *env) balance(t *testing.T, code string) int64 {
	t.Helper()
	b, err := ledger.Balance(context.Background(), e.d, code)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func mustVerify(t *testing.T, d *db.DB) {
	t.Helper()
	r, err := ledger.Verify(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("ledger verify:\n%s", r)
	}
}

func wantFault(t *testing.T, what string, err error, code fault.Code, field string) {
	t.Helper()
	if fault.CodeOf(err) != code || fault.FieldOf(err) != field {
		t.Errorf("%s: err = %v; want a %s fault about %q", what, err, code, field)
	}
}

var refRE = regexp.MustCompile(`^DEP240712\d{11}$`)

func TestDepositIsRecordedUnpaidAndMovesNoMoney(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 0)

		dep, err := e.svc.Deposit(ctx, m.ID, 500_000, " BCA ")
		if err != nil {
			t.Fatal(err)
		}
		if !refRE.MatchString(dep.Reference) || dep.Type != "deposit" || dep.Provider != "DEPOSIT" ||
			dep.Product != "Isi Saldo Rp. 500.000" || dep.Via != "Bank BCA" || dep.Channel != "bca" ||
			dep.Status != "unpaid" || dep.Amount != 500_000 || dep.UniqueCode < 1 || dep.UniqueCode > 999 ||
			dep.Price != 500_000+dep.UniqueCode || !dep.CreatedAt.Equal(t0) || !dep.ExpiredAt.Equal(t0.Add(24*time.Hour)) ||
			dep.AccountNumber != "8830123456" || dep.AccountName != "PT Kios Digital Demo" {
			t.Fatalf("deposit = %+v", dep)
		}
		got, err := e.svc.Get(ctx, m.ID, dep.Reference)
		if err != nil || got != dep {
			t.Fatalf("Get = %+v, %v\nwant %+v", got, err, dep)
		}
		if want := fmt.Sprintf("Menunggu pembayaran Rp %s melalui Bank BCA sebelum 2024/07/13 15:10:35 WIB",
			rupiah.Format(dep.Price)); got.Note() != want {
			t.Errorf("note %q, want %q", got.Note(), want)
		}
		h, err := e.svc.History(ctx, dep.Reference)
		if err != nil || len(h) != 1 || h[0].Status != "unpaid" || !h[0].At.Equal(t0) || h[0].Actor != fmt.Sprintf("member:%d", m.ID) {
			t.Fatalf("history = %+v, %v", h, err)
		}
		q, err := e.svc.Deposit(ctx, m.ID, 10_000, "qris")
		if err != nil || q.Via != "QRIS" || q.AccountNumber != "" || q.Price <= 10_000 {
			t.Fatalf("qris deposit = %+v, %v", q, err)
		}
		if e.balance(t, ledger.MemberCode(m.ID)) != 0 || e.count(t, "SELECT COUNT(*) FROM entries") != 0 {
			t.Fatal("creating a deposit moved money")
		}

		// Another member's reference is not found, like an unknown one.
		other := e.member(t, "budi", 0)
		_, err = e.svc.Get(ctx, other.ID, dep.Reference)
		wantFault(t, "another member's deposit", err, fault.NotFound, "")
		_, err = e.svc.Get(ctx, m.ID, "DEP24071200000000000")
		wantFault(t, "unknown reference", err, fault.NotFound, "")
		mustVerify(t, d)
	})
}

func TestDepositRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 0)
		if err := e.svc.SetBank(ctx, funding.Bank{Code: "bni", AccountNumber: "0123456789", AccountName: "PT Kios", Active: false}, "ani"); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			amount int64
			via    string
			code   fault.Code
			field  string
		}{
			{9_999, "bca", fault.BelowMinimum, "amount"},
			{0, "bca", fault.BelowMinimum, "amount"},
			{-5, "bca", fault.BelowMinimum, "amount"},
			{10_000_001, "bca", fault.AboveMaximum, "amount"},
			{50_000, "", fault.Missing, "via"},
			{50_000, "paypal", fault.Invalid, "via"},
			{50_000, "bni", fault.Invalid, "via"}, // switched off by an operator
		}
		for _, c := range cases {
			_, err := e.svc.Deposit(ctx, m.ID, c.amount, c.via)
			wantFault(t, fmt.Sprintf("Deposit(%d, %q)", c.amount, c.via), err, c.code, c.field)
		}
		_, err := e.svc.Deposit(ctx, m.ID+100, 50_000, "bca")
		wantFault(t, "unknown member", err, fault.NotFound, "")
		if _, err := e.svc.Deposit(ctx, m.ID, 10_000, "bca"); err != nil {
			t.Errorf("the minimum itself was refused: %v", err)
		}
		if _, err := e.svc.Deposit(ctx, m.ID, 10_000_000, "mandiri"); err != nil {
			t.Errorf("the maximum itself was refused: %v", err)
		}
		if n := e.count(t, "SELECT COUNT(*) FROM deposits"); n != 2 {
			t.Errorf("%d deposits written, want 2", n)
		}

		// Configured limits.
		e2 := newEnv(t, d, funding.Options{MinDeposit: 50_000, MaxDeposit: 100_000})
		if _, err := e2.svc.Deposit(ctx, m.ID, 49_999, "bca"); fault.CodeOf(err) != fault.BelowMinimum {
			t.Errorf("below a configured minimum: %v", err)
		}
		if min, max := e2.svc.Limits(); min != 50_000 || max != 100_000 {
			t.Errorf("Limits = %d, %d", min, max)
		}
	})
}

// TestConcurrentDepositsGetDistinctPrices: 500 deposits of one amount on
// one channel at once get 500 different prices.
func TestConcurrentDepositsGetDistinctPrices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 0)
		const n = 500
		prices := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				dep, err := e.svc.Deposit(ctx, m.ID, 100_000, "bca")
				prices[i], errs[i] = dep.Price, err
			})
		}
		wg.Wait()
		seen := map[int64]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("deposit %d: %v", i, errs[i])
			}
			if prices[i] <= 100_000 || prices[i] > 100_999 || seen[prices[i]] {
				t.Fatalf("deposit %d: price %d out of range or repeated", i, prices[i])
			}
			seen[prices[i]] = true
		}
		if got := e.count(t, "SELECT COUNT(DISTINCT price) FROM deposits WHERE channel = 'bca' AND status = 'unpaid'"); got != n {
			t.Fatalf("%d distinct open prices, want %d", got, n)
		}
		// Another channel has codes of its own.
		if _, err := e.svc.Deposit(ctx, m.ID, 100_000, "bri"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestUniqueCodesRunOut: 1000 deposits of one amount at once → 999 are
// recorded with distinct prices, the last is refused clearly; a paid one
// frees its price.
func TestUniqueCodesRunOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 0)
		const n = 1000
		deps := make([]funding.Transaction, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { deps[i], errs[i] = e.svc.Deposit(ctx, m.ID, 100_000, "bca") })
		}
		wg.Wait()
		seen := map[int64]bool{}
		var refused []error
		var first funding.Transaction
		for i := range n {
			if errs[i] != nil {
				refused = append(refused, errs[i])
				continue
			}
			if seen[deps[i].Price] {
				t.Fatalf("price %d given twice", deps[i].Price)
			}
			seen[deps[i].Price] = true
			first = deps[i]
		}
		if len(seen) != 999 || len(refused) != 1 || !errors.Is(refused[0], funding.ErrCodesExhausted) {
			t.Fatalf("%d recorded, refusals %v; want 999 and one ErrCodesExhausted", len(seen), refused)
		}
		wantFault(t, "the 1000th", refused[0], fault.Conflict, "amount")

		// An amount whose range half overlaps takes the free half.
		dep, err := e.svc.Deposit(ctx, m.ID, 100_500, "bca")
		if err != nil || dep.Price < 101_000 {
			t.Fatalf("overlapping amount: %+v, %v", dep, err)
		}
		// A paid deposit frees its price for the next one.
		if _, err := e.svc.Confirm(ctx, first.Reference, "test"); err != nil {
			t.Fatal(err)
		}
		dep, err = e.svc.Deposit(ctx, m.ID, 100_000, "bca")
		if err != nil || dep.Price != first.Price {
			t.Fatalf("after a confirmation: %+v, %v; want price %d", dep, err, first.Price)
		}
		if e.balance(t, ledger.MemberCode(m.ID)) != first.Price {
			t.Fatal("wrong credit")
		}
		mustVerify(t, d)
	})
}

// TestExpiry drives the clock past expired_at: the deposit expires, cannot
// be confirmed, and its price stays reserved for the grace period.
func TestExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		want := int64(655)
		e := newEnv(t, d, funding.Options{PickCode: func(free []int64) int64 { return want }})
		m := e.member(t, "zorro", 0)
		a, err := e.svc.Deposit(ctx, m.ID, 500_000, "bca")
		if err != nil || a.Price != 500_655 {
			t.Fatalf("%+v %v", a, err)
		}
		e.clk.Set(t0.Add(time.Hour))
		want = 1
		b, err := e.svc.Deposit(ctx, m.ID, 500_000, "bca")
		if err != nil || b.Price != 500_001 {
			t.Fatalf("%+v %v", b, err)
		}

		e.clk.Set(a.ExpiredAt.Add(-time.Microsecond))
		if n, err := e.svc.ExpireDue(ctx); n != 0 || err != nil {
			t.Fatalf("before expired_at: %d expired, %v", n, err)
		}
		e.clk.Set(a.ExpiredAt.Add(time.Second))
		// Past expired_at but not yet swept: already not confirmable.
		_, err = e.svc.Confirm(ctx, a.Reference, "ani")
		wantFault(t, "confirm past expired_at", err, fault.Conflict, "")
		if n, err := e.svc.ExpireDue(ctx); n != 1 || err != nil {
			t.Fatalf("at expired_at: %d expired, %v; want 1", n, err)
		}
		got, err := e.svc.Get(ctx, m.ID, a.Reference)
		if err != nil || got.Status != "expired" || !got.StatusAt.Equal(a.ExpiredAt) ||
			got.Note() != "Transaksi kedaluwarsa pada 2024/07/13 15:10:35 WIB" {
			t.Fatalf("after expiry: %+v (%q), %v", got, got.Note(), err)
		}
		_, err = e.svc.Confirm(ctx, a.Reference, "ani")
		wantFault(t, "confirm an expired deposit", err, fault.Conflict, "")
		if e.balance(t, ledger.MemberCode(m.ID)) != 0 {
			t.Fatal("an expired deposit was credited")
		}
		h, _ := e.svc.History(ctx, a.Reference)
		if len(h) != 2 || h[1].Status != "expired" || h[1].Actor != "system" {
			t.Fatalf("history %+v", h)
		}

		// Within the grace period the expired price is not handed out again.
		want = 655
		c, err := e.svc.Deposit(ctx, m.ID, 500_000, "bca")
		if err != nil || c.Price == 500_655 {
			t.Fatalf("within the grace period: %+v, %v", c, err)
		}
		e.clk.Set(a.ExpiredAt.Add(time.Hour + time.Second))
		c, err = e.svc.Deposit(ctx, m.ID, 500_000, "bca")
		if err != nil || c.Price != 500_655 {
			t.Fatalf("after the grace period: %+v, %v", c, err)
		}

		// The worker loop: b expires while it runs, and it stops on cancel.
		e.clk.Set(b.ExpiredAt)
		wctx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { e.svc.RunExpiry(wctx, 10*time.Millisecond); close(stopped) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := e.svc.Find(ctx, b.Reference)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status == "expired" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the expiry worker did not expire the deposit")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Fatal("RunExpiry did not stop on cancel")
		}
		mustVerify(t, d)
	})
}

// TestConfirmCreditsPriceOnce: two, then ten, confirmations of one deposit
// at the same instant credit its price once; the others get a conflict.
func TestConfirmCreditsPriceOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 0)
		var credited int64
		for _, callers := range []int{2, 10} {
			dep, err := e.svc.Deposit(ctx, m.ID, 250_000, "bni")
			if err != nil {
				t.Fatal(err)
			}
			errs := make([]error, callers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					<-start
					_, errs[i] = e.svc.Confirm(ctx, dep.Reference, fmt.Sprintf("op%d", i))
				})
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch fault.CodeOf(err) {
				case "":
					ok++
				case fault.Conflict:
				default:
					t.Fatalf("confirm: %v", err)
				}
			}
			credited += dep.Price
			if ok != 1 {
				t.Fatalf("%d callers: %d confirmations succeeded, want 1", callers, ok)
			}
			if got := e.balance(t, ledger.MemberCode(m.ID)); got != credited {
				t.Fatalf("%d callers: balance %d, want %d", callers, got, credited)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM entries WHERE reference = ?", dep.Reference); n != 1 {
				t.Fatalf("%d entries for one deposit", n)
			}
			got, _ := e.svc.Find(ctx, dep.Reference)
			if got.Status != "success" || got.Note() != "Transaksi berhasil pada 2024/07/12 15:10:35 WIB" {
				t.Fatalf("after confirm: %+v %q", got, got.Note())
			}
		}
		if got := e.balance(t, ledger.BankCode("bni")); got != -credited {
			t.Fatalf("world:bank:bni = %d, want %d", got, -credited)
		}
		_, err := e.svc.Confirm(ctx, "DEP24071200000000000", "ani")
		wantFault(t, "unknown reference", err, fault.NotFound, "")
		dep, _ := e.svc.Deposit(ctx, m.ID, 20_000, "bca")
		_, err = e.svc.Confirm(ctx, dep.Reference, " ")
		wantFault(t, "nobody confirms", err, fault.Missing, "by")
		mustVerify(t, d)
	})
}

func TestRejectDeposit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 0)
		dep, _ := e.svc.Deposit(ctx, m.ID, 75_000, "mandiri")
		got, err := e.svc.Reject(ctx, dep.Reference, "ani", "tidak ada transfer masuk")
		if err != nil || got.Status != "expired" || got.Note() != "Transaksi dibatalkan pada 2024/07/12 15:10:35 WIB: tidak ada transfer masuk" {
			t.Fatalf("reject: %+v %q %v", got, got.Note(), err)
		}
		_, err = e.svc.Confirm(ctx, dep.Reference, "ani")
		wantFault(t, "confirm after reject", err, fault.Conflict, "")
		_, err = e.svc.Reject(ctx, dep.Reference, "ani", "")
		wantFault(t, "reject twice", err, fault.Conflict, "")
		if e.count(t, "SELECT COUNT(*) FROM entries") != 0 {
			t.Fatal("a rejection moved money")
		}
		h, _ := e.svc.History(ctx, dep.Reference)
		if len(h) != 2 || h[1].Actor != "ani" || h[1].Note != "tidak ada transfer masuk" {
			t.Fatalf("history %+v", h)
		}
	})
}

func TestBanksSeedAndEdit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		// A second Prepare with other values keeps what is stored.
		if err := e.svc.Prepare(ctx, []funding.Bank{{Code: "bca", AccountNumber: "1111111111", AccountName: "X"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetBank(ctx, funding.Bank{Code: "bsi", AccountNumber: "7000123456", AccountName: "PT Kios", Active: true}, "ani"); err != nil {
			t.Fatal(err)
		}
		banks, err := e.svc.Banks(ctx)
		if err != nil || len(banks) != 5 || banks[0].Code != "bca" || banks[0].AccountNumber != "8830123456" ||
			banks[1].Code != "bni" || banks[3].Code != "bsi" || banks[3].Name != "Bank BSI" {
			t.Fatalf("banks = %+v, %v", banks, err)
		}
		m := e.member(t, "zorro", 0)
		dep, err := e.svc.Deposit(ctx, m.ID, 10_000, "bsi")
		if err != nil || dep.Via != "Bank BSI" {
			t.Fatalf("deposit via a bank added later: %+v, %v", dep, err)
		}
		if _, err := e.svc.Confirm(ctx, dep.Reference, "ani"); err != nil {
			t.Fatal(err)
		}
		// The payer keeps the account they were told after it changes.
		bca, _ := e.svc.Deposit(ctx, m.ID, 10_000, "bca")
		if err := e.svc.SetBank(ctx, funding.Bank{Code: "bca", AccountNumber: "9999999999", AccountName: "PT Baru", Active: true}, "ani"); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.svc.Find(ctx, bca.Reference); got.AccountNumber != "8830123456" {
			t.Fatalf("a deposit's destination changed with the configuration: %+v", got)
		}
		for _, b := range []funding.Bank{
			{Code: "qris", AccountNumber: "12345", AccountName: "x"},
			{Code: "B C A", AccountNumber: "12345", AccountName: "x"},
			{Code: "bca", AccountNumber: "12ab5", AccountName: "x"},
			{Code: "bca", AccountNumber: "12345", AccountName: ""},
		} {
			if err := e.svc.SetBank(ctx, b, "ani"); fault.CodeOf(err) != fault.Invalid && fault.CodeOf(err) != fault.Missing {
				t.Errorf("SetBank(%+v) = %v", b, err)
			}
		}
		mustVerify(t, d)
	})
}
