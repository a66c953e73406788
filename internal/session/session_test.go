package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/session"
)

func TestSessionLifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
		s := session.NewStore(d, time.Hour, func() time.Time { return now })

		tok, ses, err := s.Create(ctx, session.Member, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != 40 || ses.ExpiresAt != now.Add(time.Hour) {
			t.Fatalf("token %d chars, expires %v", len(tok), ses.ExpiresAt)
		}
		var stored string
		if err := d.QueryRow(ctx, "SELECT token_hash FROM web_sessions WHERE id = ?", ses.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, tok) {
			t.Fatal("the database holds the session token in plain")
		}

		got, err := s.Lookup(ctx, session.Member, tok)
		if err != nil || got.SubjectID != 7 || got.Kind != session.Member {
			t.Fatalf("lookup: %+v, %v", got, err)
		}
		for _, c := range []struct {
			name string
			kind session.Kind
			tok  string
		}{
			{"another kind", session.Operator, tok},
			{"unknown token", session.Member, strings.Repeat("a", 40)},
			{"malformed token", session.Member, "short"},
			{"empty token", session.Member, ""},
		} {
			if _, err := s.Lookup(ctx, c.kind, c.tok); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("%s: %v, want ErrNoSession", c.name, err)
			}
		}

		now = now.Add(time.Hour)
		if _, err := s.Lookup(ctx, session.Member, tok); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("expired session: %v", err)
		}
		// A new sign-in sweeps expired sessions away.
		tok2, _, err := s.Create(ctx, session.Operator, 3)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		d.QueryRow(ctx, "SELECT COUNT(*) FROM web_sessions").Scan(&n)
		if n != 1 {
			t.Errorf("%d sessions after the sweep, want 1", n)
		}
		if err := s.Delete(ctx, tok2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(ctx, session.Operator, tok2); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("signed-out session: %v", err)
		}
		if _, _, err := s.Create(ctx, "robot", 1); err == nil {
			t.Error("unknown kind accepted")
		}
	})
}
