// Package operator keeps the platform's staff: operators, their roles,
// passwords, and the bearer tokens they call the operator API with.
package operator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/password"
	"kios/internal/token"
)

// Role is what an operator may do.
type Role string

// The roles.
const (
	Admin   Role = "admin"   // everything
	Finance Role = "finance" // money: the review queue, adjustments, incoming funds
	Catalog Role = "catalog" // providers, products, prices
	Viewer  Role = "viewer"  // read only
)

// Roles lists every role, most powerful first.
var Roles = []Role{Admin, Finance, Catalog, Viewer}

// ParseRole returns the role named s, in any case; anything else is a
// fault.Invalid about "role".
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range Roles {
		if r == known {
			return r, nil
		}
	}
	return "", fault.Field(fault.Invalid, "role", "%q is not one of admin, finance, catalog, viewer", s)
}

// Operator is a member of the platform's staff.
type Operator struct {
	ID        int64
	Username  string
	Role      Role
	Active    bool
	CreatedAt time.Time
}

// Token describes an operator's API token, without the token itself: kios
// keeps only its SHA-256.
type Token struct {
	ID         int64
	OperatorID int64
	Name       string // what it is for ("cli", "console", a script's name)
	CreatedAt  time.Time
	Revoked    bool
}

// TokenPrefix starts every operator token, so that one found in a log or a
// repository is recognisable; 40 base62 characters follow it.
const (
	TokenPrefix  = "kop_"
	tokenRandLen = 40
	maxTokenName = 64
)

// Errors of sign-in and token checks, the same whatever the reason, so that
// they reveal neither which usernames nor which tokens exist.
var (
	// ErrBadLogin answers an unknown username or a wrong password.
	ErrBadLogin = fault.New(fault.Unauthorized, "wrong username or password")
	// ErrBadToken answers a token that is unknown or revoked, or whose
	// operator is switched off.
	ErrBadToken = fault.New(fault.Unauthorized, "invalid operator token")

	errNoOperator = fault.New(fault.NotFound, "no such operator")
	errNoToken    = fault.New(fault.NotFound, "no such token")
)

// Store reads and writes operators and their tokens.
type Store struct {
	db  *db.DB
	now func() time.Time
}

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

// validateUsername checks a lower-cased username: 3 to 32 characters of
// a–z, 0–9, '_', '.' and '-' (the rules of member usernames).
func validateUsername(s string) error {
	if s == "" {
		return fault.Field(fault.Missing, "username", "is required")
	}
	if len(s) < 3 || len(s) > 32 {
		return fault.Field(fault.Invalid, "username", "must be 3 to 32 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fault.Field(fault.Invalid, "username", "may contain only a-z, 0-9, '_', '.' and '-'")
		}
	}
	return nil
}

// Add creates an active operator. The username is stored in lower case
// (usernames are case-insensitive); one already taken is a fault.Conflict
// about "username".
func (s *Store) Add(ctx context.Context, username string, role Role, pw string) (Operator, error) {
	op := Operator{Username: strings.ToLower(username), Active: true}
	if err := validateUsername(op.Username); err != nil {
		return Operator{}, err
	}
	var err error
	if op.Role, err = ParseRole(string(role)); err != nil {
		return Operator{}, err
	}
	hash, err := password.Hash(pw) // slow: before the write, never inside it
	if err != nil {
		return Operator{}, err
	}
	op.CreatedAt = s.clock()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`INSERT INTO operators (username, role, password_hash, active, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			op.Username, string(op.Role), hash, op.Active, op.CreatedAt.UnixMicro()).Scan(&op.ID)
	})
	if errors.Is(err, db.ErrConflict) {
		return Operator{}, &fault.Error{Code: fault.Conflict, Field: "username",
			Detail: fmt.Sprintf("username %q is taken", op.Username), Err: err}
	}
	if err != nil {
		return Operator{}, err
	}
	return op, nil
}

// operatorCols are the columns scanOperator reads, in its order; the alias
// o is the operators table.
const operatorCols = "o.id, o.username, o.role, o.active, o.created_at"

// scanner is what *db.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func scanOperator(row scanner, extra ...any) (Operator, error) {
	var (
		op      Operator
		role    string
		created int64
	)
	if err := row.Scan(append([]any{&op.ID, &op.Username, &role, &op.Active, &created}, extra...)...); err != nil {
		return Operator{}, err
	}
	op.Role = Role(role)
	op.CreatedAt = time.UnixMicro(created).UTC()
	return op, nil
}

// ByUsername returns the operator with username (in any case);
// fault.NotFound when there is none.
func (s *Store) ByUsername(ctx context.Context, username string) (Operator, error) {
	op, err := scanOperator(s.db.QueryRow(ctx, "SELECT "+operatorCols+" FROM operators o WHERE o.username = ?",
		strings.ToLower(username)))
	if errors.Is(err, db.ErrNotFound) {
		return Operator{}, errNoOperator
	}
	return op, err
}

// ByID returns the operator with id; fault.NotFound when there is none.
func (s *Store) ByID(ctx context.Context, id int64) (Operator, error) {
	op, err := scanOperator(s.db.QueryRow(ctx, "SELECT "+operatorCols+" FROM operators o WHERE o.id = ?", id))
	if errors.Is(err, db.ErrNotFound) {
		return Operator{}, errNoOperator
	}
	return op, err
}

// CheckPassword returns the operator whose username and password these
// are, or ErrBadLogin; an unknown username costs as much time as a wrong
// password. When the password is right but the operator is switched off it
// returns the operator with a fault.Inactive error.
func (s *Store) CheckPassword(ctx context.Context, username, pw string) (Operator, error) {
	var hash string
	op, err := scanOperator(s.db.QueryRow(ctx, "SELECT "+operatorCols+", o.password_hash FROM operators o WHERE o.username = ?",
		strings.ToLower(username)), &hash)
	if errors.Is(err, db.ErrNotFound) {
		password.CheckAbsent(pw)
		return Operator{}, ErrBadLogin
	}
	if err != nil {
		return Operator{}, err
	}
	if !password.Check(hash, pw) {
		return Operator{}, ErrBadLogin
	}
	if !op.Active {
		return op, fault.New(fault.Inactive, "the operator is switched off")
	}
	return op, nil
}

// SetPassword replaces operator id's password, after checking the password
// rules.
func (s *Store) SetPassword(ctx context.Context, id int64, pw string) error {
	hash, err := password.Hash(pw)
	if err != nil {
		return err
	}
	return s.update(ctx, id, "password_hash = ?", hash)
}

// SetActive switches operator id on or off. An operator that is off can
// neither sign in nor use its tokens; they work again when it is switched
// back on, unless revoked meanwhile.
func (s *Store) SetActive(ctx context.Context, id int64, on bool) error {
	return s.update(ctx, id, "active = ?", on)
}

// SetRole changes operator id's role.
func (s *Store) SetRole(ctx context.Context, id int64, role Role) error {
	r, err := ParseRole(string(role))
	if err != nil {
		return err
	}
	return s.update(ctx, id, "role = ?", string(r))
}

func (s *Store) update(ctx context.Context, id int64, set string, v any) error {
	return s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected("UPDATE operators SET "+set+" WHERE id = ?", v, id)
		if err == nil && n == 0 {
			err = errNoOperator
		}
		return err
	})
}

// IssueToken creates an API token for operator id and returns it: "kop_"
// and 40 base62 characters. This is the only time it exists in plain; kios
// keeps its SHA-256. name says what it is for. An operator that is switched
// off gets no token (fault.Inactive).
func (s *Store) IssueToken(ctx context.Context, operatorID int64, name string) (string, error) {
	name = strings.TrimSpace(name)
	if len(name) > maxTokenName {
		return "", fault.Field(fault.Invalid, "name", "must be at most %d bytes", maxTokenName)
	}
	tok := TokenPrefix + token.New(tokenRandLen)
	hash := token.Hash(tok)
	now := s.clock()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var active bool
		err := tx.QueryRow("SELECT active FROM operators WHERE id = ?", operatorID).Scan(&active)
		if errors.Is(err, db.ErrNotFound) {
			return errNoOperator
		}
		if err != nil {
			return err
		}
		if !active {
			return fault.New(fault.Inactive, "the operator is switched off")
		}
		_, err = tx.Exec("INSERT INTO operator_tokens (operator_id, token_hash, name, created_at) VALUES (?, ?, ?, ?)",
			operatorID, hash, name, now.UnixMicro())
		return err
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// Authenticate returns the operator whose token tok is. A token that is
// unknown or revoked, or whose operator is switched off, is ErrBadToken.
// It is one indexed read and no write.
func (s *Store) Authenticate(ctx context.Context, tok string) (Operator, error) {
	if len(tok) != len(TokenPrefix)+tokenRandLen || !strings.HasPrefix(tok, TokenPrefix) {
		return Operator{}, ErrBadToken
	}
	op, err := scanOperator(s.db.QueryRow(ctx, "SELECT "+operatorCols+
		" FROM operator_tokens t JOIN operators o ON o.id = t.operator_id"+
		" WHERE t.token_hash = ? AND t.revoked_at IS NULL", token.Hash(tok)))
	if errors.Is(err, db.ErrNotFound) {
		return Operator{}, ErrBadToken
	}
	if err != nil {
		return Operator{}, err
	}
	if !op.Active {
		return Operator{}, ErrBadToken
	}
	return op, nil
}

// Tokens lists operator id's tokens, revoked ones included, oldest first.
func (s *Store) Tokens(ctx context.Context, operatorID int64) ([]Token, error) {
	rows, err := s.db.Query(ctx, `SELECT id, operator_id, name, created_at, revoked_at FROM operator_tokens
		WHERE operator_id = ? ORDER BY id`, operatorID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var (
			t       Token
			created int64
			revoked sql.NullInt64
		)
		if err := rows.Scan(&t.ID, &t.OperatorID, &t.Name, &created, &revoked); err != nil {
			return nil, err
		}
		t.CreatedAt = time.UnixMicro(created).UTC()
		t.Revoked = revoked.Valid
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the token with id tokenID (as listed by Tokens) of
// operator operatorID; it stops working at once. Tokens are named by id
// because their value is never stored. Revoking a revoked token again
// succeeds and changes nothing; a token that does not exist, or is another
// operator's, is fault.NotFound.
func (s *Store) RevokeToken(ctx context.Context, operatorID, tokenID int64) error {
	now := s.clock()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected(`UPDATE operator_tokens SET revoked_at = ?
			WHERE id = ? AND operator_id = ? AND revoked_at IS NULL`, now.UnixMicro(), tokenID, operatorID)
		if err != nil || n > 0 {
			return err
		}
		var found int
		if err := tx.QueryRow("SELECT COUNT(*) FROM operator_tokens WHERE id = ? AND operator_id = ?",
			tokenID, operatorID).Scan(&found); err != nil {
			return err
		}
		if found == 0 {
			return errNoToken
		}
		return nil
	})
}
