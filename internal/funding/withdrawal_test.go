package funding_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/ledger"
)

func withdrawal(amount int64, pr string) funding.WithdrawalRequest {
	return funding.WithdrawalRequest{Amount: amount, Bank: "bca", AccountNumber: "1234567890",
		AccountName: "Zorro Saputra", PartnerReference: pr}
}

var wdRE = regexp.MustCompile(`^WD240712\d{11}$`)

// TestWithdrawalHeldThenPaidOrReturned: the amount leaves the balance at
// once; accepting sends it to world:bank, rejecting brings it back.
func TestWithdrawalHeldThenPaidOrReturned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 500_000)
		mcode := ledger.MemberCode(m.ID)

		w, replayed, err := e.svc.Withdraw(ctx, m.ID, funding.WithdrawalRequest{Amount: 100_000, Bank: " BCA ",
			AccountNumber: "123-456 7890", AccountName: " Zorro Saputra ", PartnerReference: "INV-1"})
		if err != nil || replayed {
			t.Fatal(err, replayed)
		}
		if !wdRE.MatchString(w.Reference) || w.Type != "withdraw" || w.Provider != "WITHDRAW" ||
			w.Product != "Tarik Saldo Rp. 100.000" || w.Price != 100_000 || w.Via != "Bank BCA" || w.Channel != "bca" ||
			w.AccountNumber != "1234567890" || w.AccountName != "Zorro Saputra" || w.PartnerReference != "INV-1" ||
			w.Status != "processing" || !w.CreatedAt.Equal(t0) || !w.ExpiredAt.IsZero() {
			t.Fatalf("withdrawal = %+v", w)
		}
		if e.balance(t, mcode) != 400_000 || e.balance(t, ledger.Payout) != 100_000 {
			t.Fatal("the amount was not held at once")
		}
		if got, err := e.svc.ByPartnerReference(ctx, m.ID, "INV-1"); err != nil || got != w {
			t.Fatalf("ByPartnerReference = %+v, %v", got, err)
		}

		e.clk.Set(t0.Add(time.Hour))
		got, err := e.svc.AcceptWithdrawal(ctx, w.Reference, "ani")
		if err != nil || got.Status != "success" || got.Note() != "Transaksi berhasil pada 2024/07/12 16:10:35 WIB" {
			t.Fatalf("accept: %+v %v", got, err)
		}
		if e.balance(t, mcode) != 400_000 || e.balance(t, ledger.Payout) != 0 || e.balance(t, ledger.BankCode("bca")) != 100_000 {
			t.Fatal("accepting did not pay out from system:payout to world:bank:bca")
		}
		_, err = e.svc.AcceptWithdrawal(ctx, w.Reference, "ani")
		wantFault(t, "accept twice", err, fault.Conflict, "")
		_, err = e.svc.RejectWithdrawal(ctx, w.Reference, "ani", "")
		wantFault(t, "reject after accept", err, fault.Conflict, "")

		w2, _, err := e.svc.Withdraw(ctx, m.ID, withdrawal(50_000, ""))
		if err != nil || w2.PartnerReference != "" {
			t.Fatal(err)
		}
		if e.balance(t, mcode) != 350_000 {
			t.Fatal("second withdrawal not held")
		}
		got, err = e.svc.RejectWithdrawal(ctx, w2.Reference, "ani", "nama pemilik rekening tidak cocok")
		if err != nil || got.Status != "failed" ||
			got.Note() != "Transaksi gagal pada 2024/07/12 16:10:35 WIB: nama pemilik rekening tidak cocok" {
			t.Fatalf("reject: %+v %q %v", got, got.Note(), err)
		}
		if e.balance(t, mcode) != 400_000 || e.balance(t, ledger.Payout) != 0 {
			t.Fatal("rejecting did not return the held amount")
		}
		h, _ := e.svc.History(ctx, w2.Reference)
		if len(h) != 2 || h[0].Status != "processing" || h[1].Status != "failed" || h[1].Actor != "ani" ||
			h[1].Note != "nama pemilik rekening tidak cocok" {
			t.Fatalf("history %+v", h)
		}
		_, err = e.svc.AcceptWithdrawal(ctx, "WD24071200000000000", "ani")
		wantFault(t, "unknown withdrawal", err, fault.NotFound, "")
		// A deposit's reference is not a withdrawal.
		dep, _ := e.svc.Deposit(ctx, m.ID, 10_000, "bca")
		_, err = e.svc.AcceptWithdrawal(ctx, dep.Reference, "ani")
		wantFault(t, "accept a deposit as a withdrawal", err, fault.NotFound, "")
		mustVerify(t, d)
	})
}

// TestConcurrentAcceptAndReject: accept and reject of one withdrawal at the
// same instant move money once.
func TestConcurrentAcceptAndReject(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 3_000_000)
		const n = 20
		refs := make([]string, n)
		for i := range n {
			w, _, err := e.svc.Withdraw(ctx, m.ID, withdrawal(int64(10_000*(i+1)), ""))
			if err != nil {
				t.Fatal(err)
			}
			refs[i] = w.Reference
		}
		held := int64(10_000 * n * (n + 1) / 2)
		accepted := make([]error, n)
		rejected := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { <-start; _, accepted[i] = e.svc.AcceptWithdrawal(ctx, refs[i], "ani") })
			wg.Go(func() { <-start; _, rejected[i] = e.svc.RejectWithdrawal(ctx, refs[i], "budi", "") })
		}
		close(start)
		wg.Wait()
		var paid int64
		for i := range n {
			a, r := fault.CodeOf(accepted[i]), fault.CodeOf(rejected[i])
			switch {
			case a == "" && r == fault.Conflict:
				paid += int64(10_000 * (i + 1))
			case a == fault.Conflict && r == "":
			default:
				t.Fatalf("withdrawal %d: accept %v, reject %v; want exactly one to win", i, accepted[i], rejected[i])
			}
			if c := e.count(t, "SELECT COUNT(*) FROM entries WHERE reference = ?", refs[i]); c != 2 {
				t.Fatalf("withdrawal %d has %d entries, want 2 (hold and one decision)", i, c)
			}
		}
		if got := e.balance(t, ledger.MemberCode(m.ID)); got != 3_000_000-paid {
			t.Fatalf("balance %d, want %d (held %d, paid %d)", got, 3_000_000-paid, held, paid)
		}
		if e.balance(t, ledger.Payout) != 0 || e.balance(t, ledger.BankCode("bca")) != paid {
			t.Fatal("payout or world:bank:bca wrong")
		}
		mustVerify(t, d)
	})
}

// TestWithdrawNeverOverdraws: insufficient balance writes nothing; fifty
// withdrawals at once against a balance for 25 → exactly 25.
func TestWithdrawNeverOverdraws(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 500_000)
		counts := func() string {
			return fmt.Sprint(e.count(t, "SELECT COUNT(*) FROM withdrawals"), e.count(t, "SELECT COUNT(*) FROM withdrawal_keys"),
				e.count(t, "SELECT COUNT(*) FROM entries"), e.count(t, "SELECT COUNT(*) FROM funding_status"))
		}
		before := counts()
		_, _, err := e.svc.Withdraw(ctx, m.ID, withdrawal(500_001, "INV-BIG"))
		wantFault(t, "over the balance", err, fault.Insufficient, "amount")
		if after := counts(); after != before || e.balance(t, ledger.MemberCode(m.ID)) != 500_000 {
			t.Fatalf("a refused withdrawal wrote something: %s → %s", before, after)
		}
		// The key of a refused request stays free.
		if _, _, err := e.svc.Withdraw(ctx, m.ID, withdrawal(20_000, "INV-BIG")); err != nil {
			t.Fatal(err)
		}

		const n = 50
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, _, errs[i] = e.svc.Withdraw(ctx, m.ID, withdrawal(20_000, "")) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch fault.CodeOf(err) {
			case "":
				ok++
			case fault.Insufficient:
			default:
				t.Fatal(err)
			}
		}
		if ok != 24 || e.balance(t, ledger.MemberCode(m.ID)) != 0 || e.balance(t, ledger.Payout) != 500_000 {
			t.Fatalf("%d of %d accepted, balance %d; want 24 and 0", ok, n, e.balance(t, ledger.MemberCode(m.ID)))
		}
		mustVerify(t, d)
	})
}

func TestWithdrawFieldErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 500_000)
		mod := func(f func(r *funding.WithdrawalRequest)) funding.WithdrawalRequest {
			r := withdrawal(10_000, "")
			f(&r)
			return r
		}
		cases := []struct {
			name  string
			req   funding.WithdrawalRequest
			code  fault.Code
			field string
		}{
			{"zero amount", mod(func(r *funding.WithdrawalRequest) { r.Amount = 0 }), fault.Invalid, "amount"},
			{"negative amount", mod(func(r *funding.WithdrawalRequest) { r.Amount = -1 }), fault.Invalid, "amount"},
			{"no bank", mod(func(r *funding.WithdrawalRequest) { r.Bank = " " }), fault.Missing, "bank"},
			{"unknown bank", mod(func(r *funding.WithdrawalRequest) { r.Bank = "gringotts" }), fault.Invalid, "bank"},
			{"bank qris", mod(func(r *funding.WithdrawalRequest) { r.Bank = "qris" }), fault.Invalid, "bank"},
			{"no account number", mod(func(r *funding.WithdrawalRequest) { r.AccountNumber = "" }), fault.Missing, "account_number"},
			{"letters in account number", mod(func(r *funding.WithdrawalRequest) { r.AccountNumber = "12345abc" }), fault.Invalid, "account_number"},
			{"short account number", mod(func(r *funding.WithdrawalRequest) { r.AccountNumber = "1234" }), fault.Invalid, "account_number"},
			{"long account number", mod(func(r *funding.WithdrawalRequest) { r.AccountNumber = strings.Repeat("1", 21) }), fault.Invalid, "account_number"},
			{"no account name", mod(func(r *funding.WithdrawalRequest) { r.AccountName = "  " }), fault.Missing, "account_name"},
			{"long account name", mod(func(r *funding.WithdrawalRequest) { r.AccountName = strings.Repeat("a", 65) }), fault.Invalid, "account_name"},
			{"control character", mod(func(r *funding.WithdrawalRequest) { r.AccountName = "a\nb" }), fault.Invalid, "account_name"},
			{"long partner reference", mod(func(r *funding.WithdrawalRequest) { r.PartnerReference = strings.Repeat("x", 65) }), fault.Invalid, "partner_reference"},
		}
		for _, c := range cases {
			_, _, err := e.svc.Withdraw(ctx, m.ID, c.req)
			wantFault(t, c.name, err, c.code, c.field)
		}
		_, _, err := e.svc.Withdraw(ctx, m.ID+100, withdrawal(10_000, ""))
		wantFault(t, "unknown member", err, fault.NotFound, "")
		if e.count(t, "SELECT COUNT(*) FROM withdrawals") != 0 {
			t.Fatal("a refused withdrawal was recorded")
		}
		// 64 characters (not bytes) is fine; a configured bank is fine.
		if _, _, err := e.svc.Withdraw(ctx, m.ID, withdrawal(10_000, strings.Repeat("é", 64))); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetBank(ctx, funding.Bank{Code: "bsi", AccountNumber: "7000123456", AccountName: "PT Kios", Active: true}, "ani"); err != nil {
			t.Fatal(err)
		}
		w, _, err := e.svc.Withdraw(ctx, m.ID, mod(func(r *funding.WithdrawalRequest) { r.Bank = "bsi" }))
		if err != nil || w.Via != "Bank BSI" {
			t.Fatalf("%+v %v", w, err)
		}
		if _, err := e.svc.AcceptWithdrawal(ctx, w.Reference, "ani"); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, d)
	})
}

// TestWithdrawPartnerReference: the same key and request replays the first
// withdrawal, a different request is refused, twenty identical requests at
// once make one withdrawal, and after 24 hours the key is free.
func TestWithdrawPartnerReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d, funding.Options{})
		m := e.member(t, "zorro", 500_000)
		other := e.member(t, "budi", 500_000)
		mcode := ledger.MemberCode(m.ID)

		first, replayed, err := e.svc.Withdraw(ctx, m.ID, withdrawal(100_000, "INV12345678"))
		if err != nil || replayed {
			t.Fatal(err, replayed)
		}
		e.clk.Set(t0.Add(23 * time.Hour))
		// The same request, spelled differently, is the same request.
		again, replayed, err := e.svc.Withdraw(ctx, m.ID, funding.WithdrawalRequest{Amount: 100_000, Bank: "BCA",
			AccountNumber: "1234-567-890", AccountName: "Zorro Saputra ", PartnerReference: "INV12345678"})
		if err != nil || !replayed || again != first {
			t.Fatalf("replay: %+v %v %v\nwant %+v", again, replayed, err, first)
		}
		if e.balance(t, mcode) != 400_000 {
			t.Fatal("a replay charged again")
		}
		for _, r := range []funding.WithdrawalRequest{withdrawal(100_001, "INV12345678"),
			{Amount: 100_000, Bank: "bni", AccountNumber: "1234567890", AccountName: "Zorro Saputra", PartnerReference: "INV12345678"},
			{Amount: 100_000, Bank: "bca", AccountNumber: "1234567891", AccountName: "Zorro Saputra", PartnerReference: "INV12345678"},
			{Amount: 100_000, Bank: "bca", AccountNumber: "1234567890", AccountName: "Zorro", PartnerReference: "INV12345678"},
		} {
			_, _, err := e.svc.Withdraw(ctx, m.ID, r)
			wantFault(t, fmt.Sprintf("same key, other request %+v", r), err, fault.Conflict, "partner_reference")
		}
		// Another member's keys are its own.
		if w, replayed, err := e.svc.Withdraw(ctx, other.ID, withdrawal(100_000, "INV12345678")); err != nil || replayed || w.Reference == first.Reference {
			t.Fatalf("another member's key: %+v %v %v", w, replayed, err)
		}
		// After the replay, the withdrawal decided: a replay shows it as it is now.
		if _, err := e.svc.AcceptWithdrawal(ctx, first.Reference, "ani"); err != nil {
			t.Fatal(err)
		}
		if w, replayed, err := e.svc.Withdraw(ctx, m.ID, withdrawal(100_000, "INV12345678")); err != nil || !replayed || w.Status != "success" {
			t.Fatalf("replay after accept: %+v %v %v", w, replayed, err)
		}

		// 24 hours after it was bound, the key is free: a different request makes a new withdrawal.
		e.clk.Set(t0.Add(24 * time.Hour))
		w, replayed, err := e.svc.Withdraw(ctx, m.ID, withdrawal(30_000, "INV12345678"))
		if err != nil || replayed || w.Reference == first.Reference {
			t.Fatalf("after 24 h: %+v %v %v", w, replayed, err)
		}
		if got, _ := e.svc.ByPartnerReference(ctx, m.ID, "INV12345678"); got.Reference != w.Reference {
			t.Fatalf("ByPartnerReference gives %s, want the newest %s", got.Reference, w.Reference)
		}
		if e.balance(t, mcode) != 370_000 {
			t.Fatalf("balance %d, want 370000", e.balance(t, mcode))
		}

		// Twenty identical requests at the same instant: one withdrawal, one charge.
		const n = 20
		results := make([]funding.Transaction, n)
		replays := make([]bool, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], replays[i], errs[i] = e.svc.Withdraw(ctx, m.ID, withdrawal(70_000, "INV-AT-ONCE"))
			})
		}
		close(start)
		wg.Wait()
		fresh := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			if results[i].Reference != results[0].Reference || results[i].Status != "processing" {
				t.Fatalf("request %d got %+v, request 0 got %+v", i, results[i], results[0])
			}
			if !replays[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%d requests were not replays, want 1", fresh)
		}
		if e.balance(t, mcode) != 300_000 || e.count(t, "SELECT COUNT(*) FROM withdrawals WHERE partner_reference = 'INV-AT-ONCE'") != 1 {
			t.Fatal("twenty identical requests charged more than once")
		}
		_, err = e.svc.Get(ctx, other.ID, results[0].Reference)
		wantFault(t, "another member's withdrawal", err, fault.NotFound, "")
		_, err = e.svc.ByPartnerReference(ctx, other.ID, "INV-AT-ONCE")
		wantFault(t, "another member's key", err, fault.NotFound, "")
		mustVerify(t, d)
	})
}
