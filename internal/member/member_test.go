package member

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/password"
)

func TestMain(m *testing.M) {
	password.Cost = bcrypt.MinCost
	m.Run()
}

var now = time.Date(2026, 11, 21, 8, 0, 0, 123456000, time.UTC)

func newStore(d *db.DB) *Store { return NewStore(d, func() time.Time { return now }) }

func mustAdd(t *testing.T, s *Store, nm NewMember) Member {
	t.Helper()
	if nm.Level == "" {
		nm.Level = "member"
	}
	if nm.Password == "" {
		nm.Password = "password-" + nm.Username
	}
	m, err := s.Add(context.Background(), nm)
	if err != nil {
		t.Fatalf("Add(%s): %v", nm.Username, err)
	}
	return m
}

func count(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantFault(t *testing.T, err error, code fault.Code, field string) {
	t.Helper()
	if fault.CodeOf(err) != code || fault.FieldOf(err) != field {
		t.Fatalf("err = %v; want a %s fault about %q", err, code, field)
	}
}

func TestAdd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		up := mustAdd(t, s, NewMember{Username: "budi"})
		m, err := s.Add(ctx, NewMember{Username: "Siti.Store_2", Level: "reseller", Upline: "BUDI", Password: "rahasia123"})
		if err != nil {
			t.Fatal(err)
		}
		want := Member{ID: m.ID, Username: "siti.store_2", Level: "reseller", UplineID: up.ID, Active: true,
			APIAccess: true, AccountID: m.AccountID, CreatedAt: now}
		if m != want || m.ID == 0 || m.ID == up.ID || m.AccountID == 0 || m.AccountID == up.AccountID {
			t.Fatalf("Add = %+v, want %+v", m, want)
		}
		if up.UplineID != 0 {
			t.Fatalf("member without upline has UplineID %d", up.UplineID)
		}
		for _, get := range []func() (Member, error){
			func() (Member, error) { return s.ByID(ctx, m.ID) },
			func() (Member, error) { return s.ByUsername(ctx, "siti.store_2") },
			func() (Member, error) { return s.ByUsername(ctx, "SITI.Store_2") },
		} {
			if got, err := get(); err != nil || got != m {
				t.Fatalf("read back %+v, %v; want %+v", got, err, m)
			}
		}
		// Each member has its own ledger account, named by its id, that may
		// not go negative.
		for _, mm := range []Member{up, m} {
			err := d.Write(ctx, func(tx *db.Tx) error {
				a, err := ledger.AccountByCode(tx, ledger.MemberCode(mm.ID))
				if err != nil {
					return err
				}
				if a.ID != mm.AccountID || a.Kind != ledger.KindMember || a.AllowNegative || a.Balance != 0 {
					t.Errorf("account of %s: %+v", mm.Username, a)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		var provisional int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM accounts WHERE code LIKE 'member:new:%'").Scan(&provisional); err != nil || provisional != 0 {
			t.Fatalf("%d accounts kept a provisional code (%v)", provisional, err)
		}
		// The password is stored hashed.
		var hash string
		if err := d.QueryRow(ctx, "SELECT password_hash FROM members WHERE id = ?", m.ID).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(hash, "rahasia123") || !password.Check(hash, "rahasia123") {
			t.Fatalf("stored password hash %q", hash)
		}
	})
}

var invalidMembers = []struct {
	name  string
	nm    NewMember
	code  fault.Code
	field string
}{
	{"no username", NewMember{Level: "member", Password: "password1"}, fault.Missing, "username"},
	{"username too short", NewMember{Username: "ab", Level: "member", Password: "password1"}, fault.Invalid, "username"},
	{"username too long", NewMember{Username: strings.Repeat("a", 33), Level: "member", Password: "password1"}, fault.Invalid, "username"},
	{"username with a space", NewMember{Username: "ani s", Level: "member", Password: "password1"}, fault.Invalid, "username"},
	{"username with @", NewMember{Username: "ani@x", Level: "member", Password: "password1"}, fault.Invalid, "username"},
	{"username not ASCII", NewMember{Username: "ánita", Level: "member", Password: "password1"}, fault.Invalid, "username"},
	{"no level", NewMember{Username: "anita", Password: "password1"}, fault.Missing, "level"},
	{"unknown level", NewMember{Username: "anita", Level: "gold", Password: "password1"}, fault.Invalid, "level"},
	{"unknown upline", NewMember{Username: "anita", Level: "member", Upline: "nobody", Password: "password1"}, fault.Invalid, "upline"},
	{"malformed upline", NewMember{Username: "anita", Level: "member", Upline: "no body", Password: "password1"}, fault.Invalid, "upline"},
	{"password too short", NewMember{Username: "anita", Level: "member", Password: "1234567"}, fault.Invalid, "password"},
	{"password too long", NewMember{Username: "anita", Level: "member", Password: strings.Repeat("p", 73)}, fault.Invalid, "password"},
}

func TestAddInvalid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		mustAdd(t, s, NewMember{Username: "budi"})
		for _, tc := range invalidMembers {
			t.Run(tc.name, func(t *testing.T) {
				m, err := s.Add(context.Background(), tc.nm)
				wantFault(t, err, tc.code, tc.field)
				if m != (Member{}) {
					t.Fatalf("Add returned %+v with its error", m)
				}
			})
		}
		if n, a := count(t, d, "members"), count(t, d, "accounts"); n != 1 || a != 1 {
			t.Fatalf("%d members and %d accounts after refused adds, want 1 and 1", n, a)
		}
	})
}

func TestAddDuplicate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		mustAdd(t, s, NewMember{Username: "budi"})
		for _, name := range []string{"budi", "BuDi"} {
			_, err := s.Add(context.Background(), NewMember{Username: name, Level: "member", Password: "password1"})
			wantFault(t, err, fault.Conflict, "username")
		}
		if n, a := count(t, d, "members"), count(t, d, "accounts"); n != 1 || a != 1 {
			t.Fatalf("%d members and %d accounts, want 1 and 1", n, a)
		}
	})
}

// TestAddConcurrently adds one username from many goroutines at once:
// exactly one wins, the others get a conflict, and no account is left over.
func TestAddConcurrently(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStore(d)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Add(context.Background(), NewMember{Username: "rebutan", Level: "member", Password: "password1"})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case fault.CodeOf(err) != fault.Conflict || fault.FieldOf(err) != "username":
				t.Fatalf("concurrent add: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d adds succeeded, want 1", ok)
		}
		if n, a := count(t, d, "members"), count(t, d, "accounts"); n != 1 || a != 1 {
			t.Fatalf("%d members and %d accounts, want 1 and 1", n, a)
		}
	})
}

func TestNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		if _, err := s.ByID(ctx, 99); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("ByID of nobody: %v", err)
		}
		if _, err := s.ByUsername(ctx, "nobody"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("ByUsername of nobody: %v", err)
		}
		if _, err := s.Balance(ctx, 99); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("Balance of nobody: %v", err)
		}
		for name, err := range map[string]error{
			"SetPassword":  s.SetPassword(ctx, 99, "password1"),
			"SetActive":    s.SetActive(ctx, 99, false),
			"SetAPIAccess": s.SetAPIAccess(ctx, 99, false),
			"SetLevel":     s.SetLevel(ctx, 99, "member"),
		} {
			if fault.CodeOf(err) != fault.NotFound {
				t.Fatalf("%s of nobody: %v", name, err)
			}
		}
	})
}

func TestCheckPassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi", Password: "kata-sandi-1"})
		if got, err := s.CheckPassword(ctx, "Budi", "kata-sandi-1"); err != nil || got != m {
			t.Fatalf("right password: %+v, %v", got, err)
		}
		wrong, err1 := s.CheckPassword(ctx, "budi", "kata-sandi-2")
		unknown, err2 := s.CheckPassword(ctx, "nobody", "kata-sandi-1")
		if !errors.Is(err1, ErrBadLogin) || !errors.Is(err2, ErrBadLogin) || err1.Error() != err2.Error() {
			t.Fatalf("wrong password: %v; unknown user: %v; want the same ErrBadLogin", err1, err2)
		}
		if fault.CodeOf(err1) != fault.Unauthorized || wrong != (Member{}) || unknown != (Member{}) {
			t.Fatalf("failed sign-in returned %+v / %+v, code %s", wrong, unknown, fault.CodeOf(err1))
		}

		if err := s.SetPassword(ctx, m.ID, "short"); fault.FieldOf(err) != "password" {
			t.Fatalf("SetPassword(short): %v", err)
		}
		if err := s.SetPassword(ctx, m.ID, "kata-sandi-baru"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword(ctx, "budi", "kata-sandi-1"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("old password after SetPassword: %v", err)
		}
		if _, err := s.CheckPassword(ctx, "budi", "kata-sandi-baru"); err != nil {
			t.Fatalf("new password after SetPassword: %v", err)
		}

		// A member that is off: the right password says so, a wrong one
		// does not.
		if err := s.SetActive(ctx, m.ID, false); err != nil {
			t.Fatal(err)
		}
		if got, err := s.CheckPassword(ctx, "budi", "kata-sandi-baru"); fault.CodeOf(err) != fault.Inactive || got.ID != m.ID {
			t.Fatalf("inactive member, right password: %+v, %v", got, err)
		}
		if _, err := s.CheckPassword(ctx, "budi", "wrong-password"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("inactive member, wrong password: %v", err)
		}
	})
}

func TestSetters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		m := mustAdd(t, s, NewMember{Username: "budi"})
		if err := s.SetActive(ctx, m.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAPIAccess(ctx, m.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetLevel(ctx, m.ID, "h2h"); err != nil {
			t.Fatal(err)
		}
		got, err := s.ByID(ctx, m.ID)
		if err != nil || got.Active || got.APIAccess || got.Level != "h2h" {
			t.Fatalf("after setters: %+v, %v", got, err)
		}
		if err := s.SetActive(ctx, m.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAPIAccess(ctx, m.ID, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ByID(ctx, m.ID); !got.Active || !got.APIAccess {
			t.Fatalf("switched back on: %+v", got)
		}
		wantFault(t, s.SetLevel(ctx, m.ID, "gold"), fault.Invalid, "level")
		wantFault(t, s.SetLevel(ctx, m.ID, ""), fault.Missing, "level")
		if got, _ := s.ByID(ctx, m.ID); got.Level != "h2h" {
			t.Fatalf("refused SetLevel changed the level to %q", got.Level)
		}
	})
}

func TestBalance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		a := mustAdd(t, s, NewMember{Username: "budi"})
		b := mustAdd(t, s, NewMember{Username: "siti"})
		err := d.Write(ctx, func(tx *db.Tx) error {
			if err := ledger.EnsureSystem(tx, now); err != nil {
				return err
			}
			adj, err := ledger.AccountByCode(tx, ledger.Adjust)
			if err != nil {
				return err
			}
			if _, err := ledger.Transfer(tx, "adjustment", "", adj.ID, a.AccountID, 150_000, now); err != nil {
				return err
			}
			_, err = ledger.Transfer(tx, "adjustment", "", adj.ID, b.AccountID, 7_500, now)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			m    Member
			want int64
		}{{a, 150_000}, {b, 7_500}} {
			if got, err := s.Balance(ctx, tc.m.ID); err != nil || got != tc.want {
				t.Fatalf("Balance(%s) = %d, %v; want %d", tc.m.Username, got, err, tc.want)
			}
		}
		if rep, err := ledger.Verify(ctx, d); err != nil || !rep.OK() {
			t.Fatalf("ledger: %v %s", err, rep)
		}
	})
}
