package operator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/password"
	"kios/internal/token"
)

func TestMain(m *testing.M) {
	password.Cost = bcrypt.MinCost
	m.Run()
}

var now = time.Date(2026, 11, 21, 8, 0, 0, 5000, time.UTC)

func newStore(d *db.DB) *Store { return NewStore(d, func() time.Time { return now }) }

func mustAdd(t *testing.T, s *Store, username string, role Role) Operator {
	t.Helper()
	op, err := s.Add(context.Background(), username, role, "password-"+username)
	if err != nil {
		t.Fatalf("Add(%s): %v", username, err)
	}
	return op
}

func wantFault(t *testing.T, err error, code fault.Code, field string) {
	t.Helper()
	if fault.CodeOf(err) != code || fault.FieldOf(err) != field {
		t.Fatalf("err = %v; want a %s fault about %q", err, code, field)
	}
}

var parseRoleTests = []struct {
	in   string
	want Role
	ok   bool
}{
	{"admin", Admin, true},
	{"finance", Finance, true},
	{"catalog", Catalog, true},
	{"viewer", Viewer, true},
	{" Finance ", Finance, true},
	{"VIEWER", Viewer, true},
	{"", "", false},
	{"root", "", false},
	{"admins", "", false},
	{"view er", "", false},
}

func TestParseRole(t *testing.T) {
	for _, tc := range parseRoleTests {
		got, err := ParseRole(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !tc.ok && (fault.CodeOf(err) != fault.Invalid || fault.FieldOf(err) != "role" || got != "") {
			t.Errorf("ParseRole(%q) = %q, %v; want an invalid role fault", tc.in, got, err)
		}
	}
}

func TestAddEachRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		for _, r := range Roles {
			name := "op-" + string(r)
			op := mustAdd(t, s, strings.ToUpper(name), r)
			want := Operator{ID: op.ID, Username: name, Role: r, Active: true, CreatedAt: now}
			if op != want || op.ID == 0 {
				t.Fatalf("Add = %+v, want %+v", op, want)
			}
			for _, get := range []func() (Operator, error){
				func() (Operator, error) { return s.ByUsername(ctx, name) },
				func() (Operator, error) { return s.ByUsername(ctx, strings.ToUpper(name)) },
				func() (Operator, error) { return s.ByID(ctx, op.ID) },
			} {
				if got, err := get(); err != nil || got != op {
					t.Fatalf("read back %+v, %v; want %+v", got, err, op)
				}
			}
		}
	})
}

func TestAddInvalid(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		mustAdd(t, s, "admin", Admin)
		for _, tc := range []struct {
			username string
			role     Role
			pw       string
			code     fault.Code
			field    string
		}{
			{"ani", "root", "password1", fault.Invalid, "role"},
			{"ani", "", "password1", fault.Invalid, "role"},
			{"", Viewer, "password1", fault.Missing, "username"},
			{"an", Viewer, "password1", fault.Invalid, "username"},
			{"ani dan", Viewer, "password1", fault.Invalid, "username"},
			{"ani", Viewer, "pendek", fault.Invalid, "password"},
			{"ani", Viewer, strings.Repeat("x", 73), fault.Invalid, "password"},
			{"admin", Viewer, "password1", fault.Conflict, "username"},
			{"ADMIN", Finance, "password1", fault.Conflict, "username"},
		} {
			op, err := s.Add(ctx, tc.username, tc.role, tc.pw)
			wantFault(t, err, tc.code, tc.field)
			if op != (Operator{}) {
				t.Fatalf("refused Add returned %+v", op)
			}
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM operators").Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d operators after refused adds (%v), want 1", n, err)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		op := mustAdd(t, s, "rina", Finance)
		if got, err := s.CheckPassword(ctx, "Rina", "password-rina"); err != nil || got != op {
			t.Fatalf("right password: %+v, %v", got, err)
		}
		_, err1 := s.CheckPassword(ctx, "rina", "password-rin")
		_, err2 := s.CheckPassword(ctx, "nobody", "password-rina")
		if !errors.Is(err1, ErrBadLogin) || !errors.Is(err2, ErrBadLogin) || fault.CodeOf(err1) != fault.Unauthorized {
			t.Fatalf("wrong password: %v; unknown operator: %v; want ErrBadLogin", err1, err2)
		}
		if err := s.SetPassword(ctx, op.ID, "short"); fault.FieldOf(err) != "password" {
			t.Fatalf("SetPassword(short): %v", err)
		}
		if err := s.SetPassword(ctx, op.ID, "sandi-baru-123"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword(ctx, "rina", "password-rina"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("old password: %v", err)
		}
		if _, err := s.CheckPassword(ctx, "rina", "sandi-baru-123"); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if err := s.SetActive(ctx, op.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckPassword(ctx, "rina", "sandi-baru-123"); fault.CodeOf(err) != fault.Inactive {
			t.Fatalf("inactive operator, right password: %v", err)
		}
		if _, err := s.CheckPassword(ctx, "rina", "wrong-password"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("inactive operator, wrong password: %v", err)
		}
		var hash string
		if err := d.QueryRow(ctx, "SELECT password_hash FROM operators WHERE id = ?", op.ID).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(hash, "sandi-baru-123") || !password.Check(hash, "sandi-baru-123") {
			t.Fatalf("stored hash %q", hash)
		}
	})
}

func TestTokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		op := mustAdd(t, s, "admin", Admin)
		other := mustAdd(t, s, "budi", Viewer)
		tok, err := s.IssueToken(ctx, op.ID, " cli ")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, "kop_") || len(tok) != 44 || strings.Trim(tok[4:], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("token %q is not kop_ and 40 base62 characters", tok)
		}
		tok2, err := s.IssueToken(ctx, op.ID, "script")
		if err != nil || tok2 == tok {
			t.Fatalf("second token %q, %v", tok2, err)
		}
		if got, err := s.Authenticate(ctx, tok); err != nil || got != op {
			t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, op)
		}

		// Stored hashed.
		var stored, name string
		if err := d.QueryRow(ctx, "SELECT token_hash, name FROM operator_tokens WHERE operator_id = ? ORDER BY id", op.ID).Scan(&stored, &name); err != nil {
			t.Fatal(err)
		}
		if stored != token.Hash(tok) || strings.Contains(stored, tok[4:]) || name != "cli" {
			t.Fatalf("stored token_hash %q, name %q", stored, name)
		}

		for label, bad := range map[string]string{
			"empty":          "",
			"unknown":        "kop_" + token.New(40),
			"no prefix":      tok[4:],
			"other prefix":   "kap_" + tok[4:],
			"its hash":       stored,
			"one char off":   tok[:43] + map[bool]string{true: "b", false: "a"}[tok[43] == 'a'],
			"with a newline": tok + "\n",
		} {
			if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrBadToken) || fault.CodeOf(err) != fault.Unauthorized {
				t.Fatalf("Authenticate(%s) = %v, want ErrBadToken", label, err)
			}
		}

		list, err := s.Tokens(ctx, op.ID)
		if err != nil || len(list) != 2 || list[0].Name != "cli" || list[1].Name != "script" || list[0].Revoked || !list[0].CreatedAt.Equal(now) {
			t.Fatalf("Tokens = %+v, %v", list, err)
		}
		if err := s.RevokeToken(ctx, other.ID, list[0].ID); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("revoking another operator's token: %v", err)
		}
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatalf("token after another operator tried to revoke it: %v", err)
		}
		if err := s.RevokeToken(ctx, op.ID, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrBadToken) {
			t.Fatalf("revoked token: %v", err)
		}
		if _, err := s.Authenticate(ctx, tok2); err != nil {
			t.Fatalf("the other token after a revocation: %v", err)
		}
		if err := s.RevokeToken(ctx, op.ID, list[0].ID); err != nil {
			t.Fatalf("revoking again: %v", err)
		}
		if err := s.RevokeToken(ctx, op.ID, 999); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("revoking a token that does not exist: %v", err)
		}
		if list, _ := s.Tokens(ctx, op.ID); !list[0].Revoked || list[1].Revoked {
			t.Fatalf("Tokens after revoking the first: %+v", list)
		}

		// An operator switched off: its tokens stop working, and it gets no
		// new one; switched back on, the unrevoked token works again.
		if err := s.SetActive(ctx, op.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok2); !errors.Is(err, ErrBadToken) {
			t.Fatalf("token of an inactive operator: %v", err)
		}
		if _, err := s.IssueToken(ctx, op.ID, "x"); fault.CodeOf(err) != fault.Inactive {
			t.Fatalf("IssueToken for an inactive operator: %v", err)
		}
		if err := s.SetActive(ctx, op.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok2); err != nil {
			t.Fatalf("token after switching back on: %v", err)
		}

		if _, err := s.IssueToken(ctx, 999, "x"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("IssueToken for nobody: %v", err)
		}
		if _, err := s.IssueToken(ctx, op.ID, strings.Repeat("n", 65)); fault.FieldOf(err) != "name" {
			t.Fatalf("IssueToken with a long name: %v", err)
		}
	})
}

func TestSetRoleAndNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newStore(d)
		op := mustAdd(t, s, "rina", Viewer)
		if err := s.SetRole(ctx, op.ID, Catalog); err != nil {
			t.Fatal(err)
		}
		tok, err := s.IssueToken(ctx, op.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Authenticate(ctx, tok); err != nil || got.Role != Catalog {
			t.Fatalf("after SetRole: %+v, %v", got, err)
		}
		wantFault(t, s.SetRole(ctx, op.ID, "root"), fault.Invalid, "role")
		if _, err := s.ByUsername(ctx, "nobody"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("ByUsername(nobody): %v", err)
		}
		if _, err := s.ByID(ctx, 999); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("ByID(999): %v", err)
		}
		for name, err := range map[string]error{
			"SetPassword": s.SetPassword(ctx, 999, "password1"),
			"SetActive":   s.SetActive(ctx, 999, true),
			"SetRole":     s.SetRole(ctx, 999, Admin),
		} {
			if fault.CodeOf(err) != fault.NotFound {
				t.Fatalf("%s(999): %v", name, err)
			}
		}
		if list, err := s.Tokens(ctx, 999); err != nil || len(list) != 0 {
			t.Fatalf("Tokens(999) = %v, %v", list, err)
		}
	})
}
