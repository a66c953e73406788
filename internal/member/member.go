// Package member keeps the accounts that trade on kios: members, with their
// level, upline, password and ledger account, and the API credentials they
// call the faces with (key lookup, allow-list, signature check).
package member

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/password"
)

// Member is an account that trades on the platform.
type Member struct {
	ID        int64
	Username  string
	Level     string // a code from the levels table
	UplineID  int64  // the member who referred it; 0 = none
	Active    bool
	APIAccess bool
	AccountID int64 // its ledger account, code ledger.MemberCode(ID)
	CreatedAt time.Time
}

// Store reads and writes members and their credentials.
type Store struct {
	db  *db.DB
	now func() time.Time
	// auth caches Authenticate's answers by key hash for AuthCacheTTL; every
	// change made through this Store empties it.
	auth sync.Map
}

// AuthCacheTTL is how long Authenticate may answer from memory. A change
// made through the same Store (revocation, allow-list, member switched off)
// takes effect at once; one made by another process (the CLI, a second
// kios serve) within this time.
const AuthCacheTTL = time.Second

type authEntry struct {
	cred  Credential
	m     Member
	until time.Time
}

// forgetAuth drops every cached authentication, after a change.
func (s *Store) forgetAuth() { s.auth.Clear() }

// NewStore returns a Store on d that reads the time from now (time.Now when
// nil).
func NewStore(d *db.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: d, now: now}
}

// clock returns the current time as it is stored: UTC, in microseconds.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// NewMember is the input of Add.
type NewMember struct {
	Username string
	Level    string
	Upline   string // the upline's username; empty for none
	Password string
}

// Username rules.
const (
	usernameMin = 3
	usernameMax = 32
)

// NormalizeUsername returns the form in which usernames are stored and
// looked up: lower case. Usernames are therefore case-insensitive.
func NormalizeUsername(s string) string { return strings.ToLower(s) }

// ValidateUsername checks a normalized username: 3 to 32 characters of
// a–z, 0–9, '_', '.' and '-'. It returns a *fault.Error about field.
func ValidateUsername(field, s string) error {
	if s == "" {
		return fault.Field(fault.Missing, field, "is required")
	}
	if len(s) < usernameMin || len(s) > usernameMax {
		return fault.Field(fault.Invalid, field, "must be %d to %d characters", usernameMin, usernameMax)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fault.Field(fault.Invalid, field, "may contain only a-z, 0-9, '_', '.' and '-'")
		}
	}
	return nil
}

// Add creates a member and its ledger account. The username is stored in
// lower case; the level must exist; the upline, when given, must be an
// existing member's username. A username already taken is a fault.Conflict
// about "username".
func (s *Store) Add(ctx context.Context, nm NewMember) (Member, error) {
	return s.CreateWith(ctx, nm, nil)
}

// CreateWith is Add, running also (when not nil) with the new member
// inside the transaction that creates it; an error of also undoes the
// creation.
func (s *Store) CreateWith(ctx context.Context, nm NewMember, also func(tx *db.Tx, m Member) error) (Member, error) {
	m := Member{
		Username:  NormalizeUsername(nm.Username),
		Level:     strings.TrimSpace(nm.Level),
		Active:    true,
		APIAccess: true,
	}
	if err := ValidateUsername("username", m.Username); err != nil {
		return Member{}, err
	}
	if m.Level == "" {
		return Member{}, fault.Field(fault.Missing, "level", "is required")
	}
	upline := NormalizeUsername(nm.Upline)
	if upline != "" {
		if err := ValidateUsername("upline", upline); err != nil {
			return Member{}, fault.Field(fault.Invalid, "upline", "no member %q", nm.Upline)
		}
	}
	// bcrypt is slow; it must not run inside the write, which on SQLite
	// holds the single writer for every other caller.
	hash, err := password.Hash(nm.Password)
	if err != nil {
		return Member{}, err
	}
	now := s.clock()
	m.CreatedAt = now
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		m.ID, m.AccountID, m.UplineID = 0, 0, 0 // the function may run again on PostgreSQL
		if err := checkLevel(tx, m.Level); err != nil {
			return err
		}
		if upline != "" {
			err := tx.QueryRow("SELECT id FROM members WHERE username = ?", upline).Scan(&m.UplineID)
			if errors.Is(err, db.ErrNotFound) {
				return fault.Field(fault.Invalid, "upline", "no member %q", upline)
			}
			if err != nil {
				return err
			}
		}
		if err := insertMember(tx, &m, hash, now); err != nil || also == nil {
			return err
		}
		return also(tx, m)
	})
	if errors.Is(err, db.ErrConflict) {
		return Member{}, &fault.Error{Code: fault.Conflict, Field: "username",
			Detail: fmt.Sprintf("username %q is taken", m.Username), Err: err}
	}
	if err != nil {
		return Member{}, err
	}
	return m, nil
}

// insertMember creates m's ledger account and its row, and sets m.ID and
// m.AccountID.
//
// The account's code names the member's id, which exists only once the
// member row does, while the member row needs the account's id. So the
// account is created under a provisional code, unique to the username
// ("member:new:<username>", which no real code can equal), and renamed to
// ledger.MemberCode once the id is known, all in the same transaction:
// nobody ever sees the provisional code. Two concurrent Adds of one
// username collide on it (or on members.username) and one gets a conflict.
func insertMember(tx *db.Tx, m *Member, hash string, now time.Time) error {
	acct, err := ledger.EnsureAccount(tx, "member:new:"+m.Username, ledger.KindMember, false, now)
	if err != nil {
		return err
	}
	var upline sql.NullInt64
	if m.UplineID != 0 {
		upline = sql.NullInt64{Int64: m.UplineID, Valid: true}
	}
	err = tx.QueryRow(`INSERT INTO members
		(username, level, upline_id, active, api_access, password_hash, account_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.Username, m.Level, upline, m.Active, m.APIAccess, hash, acct, now.UnixMicro(), now.UnixMicro()).Scan(&m.ID)
	if err != nil {
		return err
	}
	if _, err := tx.Exec("UPDATE accounts SET code = ? WHERE id = ?", ledger.MemberCode(m.ID), acct); err != nil {
		return err
	}
	m.AccountID = acct
	return nil
}

// checkLevel returns a fault about "level" unless code is a level.
func checkLevel(tx *db.Tx, code string) error {
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM levels WHERE code = ?", code).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fault.Field(fault.Invalid, "level", "no level %q", code)
	}
	return nil
}

// memberCols are the columns scanMember reads, in its order.
const memberCols = "id, username, level, upline_id, active, api_access, account_id, created_at"

// scanner is what *db.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// scanMember reads memberCols, then extra, from row.
func scanMember(row scanner, extra ...any) (Member, error) {
	var (
		m       Member
		upline  sql.NullInt64
		created int64
	)
	dest := append([]any{&m.ID, &m.Username, &m.Level, &upline, &m.Active, &m.APIAccess, &m.AccountID, &created}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Member{}, err
	}
	m.UplineID = upline.Int64
	m.CreatedAt = time.UnixMicro(created).UTC()
	return m, nil
}

var errNoMember = fault.New(fault.NotFound, "no such member")

// ByUsername returns the member with username (in any case); fault.NotFound
// when there is none.
func (s *Store) ByUsername(ctx context.Context, username string) (Member, error) {
	m, err := scanMember(s.db.QueryRow(ctx, "SELECT "+memberCols+" FROM members WHERE username = ?",
		NormalizeUsername(username)))
	if errors.Is(err, db.ErrNotFound) {
		return Member{}, errNoMember
	}
	return m, err
}

// ByID returns the member with id; fault.NotFound when there is none.
func (s *Store) ByID(ctx context.Context, id int64) (Member, error) {
	m, err := scanMember(s.db.QueryRow(ctx, "SELECT "+memberCols+" FROM members WHERE id = ?", id))
	if errors.Is(err, db.ErrNotFound) {
		return Member{}, errNoMember
	}
	return m, err
}

// ErrBadLogin is the answer to an unknown username or a wrong password,
// the same for both so that it does not reveal which usernames exist.
var ErrBadLogin = fault.New(fault.Unauthorized, "wrong username or password")

// CheckPassword returns the member whose username and password these are,
// or ErrBadLogin. An unknown username costs as much time as a wrong
// password. When the password is right but the member is switched off, it
// returns the member together with a fault.Inactive error, so that a
// sign-in page can say why; nobody without the password learns it.
func (s *Store) CheckPassword(ctx context.Context, username, pw string) (Member, error) {
	var hash string
	m, err := scanMember(s.db.QueryRow(ctx, "SELECT "+memberCols+", password_hash FROM members WHERE username = ?",
		NormalizeUsername(username)), &hash)
	if errors.Is(err, db.ErrNotFound) {
		password.CheckAbsent(pw)
		return Member{}, ErrBadLogin
	}
	if err != nil {
		return Member{}, err
	}
	if !password.Check(hash, pw) {
		return Member{}, ErrBadLogin
	}
	if !m.Active {
		return m, fault.New(fault.Inactive, "the member is switched off")
	}
	return m, nil
}

// SetPassword replaces member id's password, after checking the password
// rules.
func (s *Store) SetPassword(ctx context.Context, id int64, pw string) error {
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	return s.update(ctx, id, "password_hash = ?", hash)
}

// SetActive switches member id on or off. A member that is off cannot sign
// in, and the faces refuse its API calls.
func (s *Store) SetActive(ctx context.Context, id int64, on bool) error {
	return s.update(ctx, id, "active = ?", on)
}

// SetAPIAccess allows or refuses member id's API calls.
func (s *Store) SetAPIAccess(ctx context.Context, id int64, on bool) error {
	return s.update(ctx, id, "api_access = ?", on)
}

// SetLevel moves member id to the level with code, which must exist.
func (s *Store) SetLevel(ctx context.Context, id int64, level string) error {
	level = strings.TrimSpace(level)
	if level == "" {
		return fault.Field(fault.Missing, "level", "is required")
	}
	now := s.clock()
	defer s.forgetAuth()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		if err := checkLevel(tx, level); err != nil {
			return err
		}
		return updateMember(tx, id, "level = ?", level, now)
	})
}

// update sets one column of member id, in a write of its own.
func (s *Store) update(ctx context.Context, id int64, set string, v any) error {
	now := s.clock()
	defer s.forgetAuth()
	return s.db.Write(ctx, func(tx *db.Tx) error { return updateMember(tx, id, set, v, now) })
}

// updateMember runs "UPDATE members SET <set>, updated_at" on member id;
// fault.NotFound when there is no such member.
func updateMember(tx *db.Tx, id int64, set string, v any, now time.Time) error {
	n, err := tx.ExecAffected("UPDATE members SET "+set+", updated_at = ? WHERE id = ?", v, now.UnixMicro(), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return errNoMember
	}
	return nil
}

// Balance returns member id's balance in rupiah, read from its ledger
// account outside any write.
func (s *Store) Balance(ctx context.Context, memberID int64) (int64, error) {
	var b int64
	err := s.db.QueryRow(ctx, `SELECT a.balance FROM members m JOIN accounts a ON a.id = m.account_id
		WHERE m.id = ?`, memberID).Scan(&b)
	if errors.Is(err, db.ErrNotFound) {
		return 0, errNoMember
	}
	return b, err
}
