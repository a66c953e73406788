// Package session keeps the sign-in sessions of kios's web pages: a random
// token in the browser's cookie, and in the database only its SHA-256, who
// it signs in (a member or an operator) and when it expires.
package session

import (
	"context"
	"errors"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/token"
)

// Kind is who a session signs in.
type Kind string

// The kinds of session. A member's session never opens the operator
// console, nor the other way round.
const (
	Member   Kind = "member"
	Operator Kind = "operator"
)

// tokenLen is the length of a session token in base62 characters, about
// 238 bits.
const tokenLen = 40

// DefaultLifetime is how long a session lasts when Store is given none.
const DefaultLifetime = 12 * time.Hour

// ErrNoSession answers a token that is unknown, expired or of another kind.
var ErrNoSession = fault.New(fault.Unauthorized, "not signed in")

// Session is one signed-in browser.
type Session struct {
	ID        int64
	Kind      Kind
	SubjectID int64 // the member's or the operator's id
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store reads and writes sessions.
type Store struct {
	db       *db.DB
	now      func() time.Time
	lifetime time.Duration
}

// NewStore returns a Store on d whose sessions last lifetime
// (DefaultLifetime when zero or less), reading the time from now.
func NewStore(d *db.DB, lifetime time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	return &Store{db: d, now: now, lifetime: lifetime}
}

// Lifetime returns how long a new session lasts.
func (s *Store) Lifetime() time.Duration { return s.lifetime }

// Create starts a session of kind for subject and returns its token, the
// only time it exists in plain: put it in the cookie and drop it. Expired
// sessions are removed in the same write.
func (s *Store) Create(ctx context.Context, kind Kind, subject int64) (string, Session, error) {
	if kind != Member && kind != Operator {
		return "", Session{}, fault.Field(fault.Invalid, "kind", "unknown session kind %q", kind)
	}
	tok := token.New(tokenLen)
	now := s.now().UTC().Truncate(time.Microsecond)
	ses := Session{Kind: kind, SubjectID: subject, CreatedAt: now, ExpiresAt: now.Add(s.lifetime)}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec("DELETE FROM web_sessions WHERE expires_at <= ?", now.UnixMicro()); err != nil {
			return err
		}
		var err error
		ses.ID, err = tx.InsertID(`INSERT INTO web_sessions (token_hash, kind, subject_id, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, token.Hash(tok), string(kind), subject, now.UnixMicro(), ses.ExpiresAt.UnixMicro())
		return err
	})
	if err != nil {
		return "", Session{}, err
	}
	return tok, ses, nil
}

// Lookup returns the live session of kind whose token tok is; anything else
// (unknown, expired, another kind, malformed) is ErrNoSession. It is one
// indexed read.
func (s *Store) Lookup(ctx context.Context, kind Kind, tok string) (Session, error) {
	if len(tok) != tokenLen {
		return Session{}, ErrNoSession
	}
	var (
		ses              Session
		k                string
		created, expires int64
	)
	err := s.db.QueryRow(ctx, `SELECT id, kind, subject_id, created_at, expires_at FROM web_sessions
		WHERE token_hash = ?`, token.Hash(tok)).Scan(&ses.ID, &k, &ses.SubjectID, &created, &expires)
	if errors.Is(err, db.ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, err
	}
	ses.Kind = Kind(k)
	ses.CreatedAt, ses.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if ses.Kind != kind || !s.now().Before(ses.ExpiresAt) {
		return Session{}, ErrNoSession
	}
	return ses, nil
}

// Delete ends the session whose token tok is (signing out). An unknown
// token is not an error: the browser is signed out either way.
func (s *Store) Delete(ctx context.Context, tok string) error {
	if tok == "" {
		return nil
	}
	return s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec("DELETE FROM web_sessions WHERE token_hash = ?", token.Hash(tok))
		return err
	})
}
