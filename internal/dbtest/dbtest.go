// Package dbtest gives tests a fresh, migrated kios database on every
// supported engine: always SQLite in a temporary directory, and PostgreSQL
// when KIOS_TEST_POSTGRES_URL is set, in a schema of its own that is dropped
// when the test ends.
//
// When KIOS_TEST_POSTGRES_URL is set but PostgreSQL cannot be reached, the
// tests fail rather than skip. When KIOS_TEST_PG_LOG names a file, every test
// that ran on PostgreSQL (made a schema and did not skip) appends its name to
// it when it ends, so CI can prove the PostgreSQL half ran.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for schema setup

	"kios/internal/db"
)

// Each runs fn as a subtest per target, with a fresh migrated database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, tg := range []string{"sqlite", "postgres"} {
		t.Run(tg, func(t *testing.T) {
			dsn := DSN(t, tg)
			if dsn == "" {
				t.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			fn(t, Open(t, dsn))
		})
	}
}

// DSN returns a fresh database for the named target ("sqlite" or
// "postgres"), or "" for postgres when KIOS_TEST_POSTGRES_URL is unset.
func DSN(t testing.TB, target string) string {
	t.Helper()
	if target == "sqlite" {
		return filepath.Join(t.TempDir(), "kios.db")
	}
	u := os.Getenv("KIOS_TEST_POSTGRES_URL")
	if u == "" {
		return ""
	}
	return NewPostgresSchema(t, u)
}

// Open opens and migrates the database at dsn, closing it when t ends.
func Open(t testing.TB, dsn string) *db.DB {
	t.Helper()
	ctx := context.Background()
	// Tests of several packages run at once against one PostgreSQL
	// (max_connections is 100 by default): a test's pool is kept small.
	// Benchmarks keep the production default, so their numbers mean what
	// kios serve would do.
	opt := db.Options{}
	if _, bench := t.(*testing.B); !bench {
		opt.MaxConns = 8
	}
	d, err := db.Open(ctx, dsn, opt)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}

var logMu sync.Mutex

// NewPostgresSchema creates an empty schema on the server at base and returns
// a URL whose connections use it; the schema is dropped when t ends.
func NewPostgresSchema(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("KIOS_TEST_POSTGRES_URL: %v", err)
	}
	defer admin.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "kios_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("PostgreSQL at KIOS_TEST_POSTGRES_URL is not usable: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	if f := os.Getenv("KIOS_TEST_PG_LOG"); f != "" {
		// Logged when the test ends, and only if it did not skip: a test
		// that made a schema and then skipped did not run on PostgreSQL.
		t.Cleanup(func() {
			if t.Skipped() {
				return
			}
			logMu.Lock()
			defer logMu.Unlock()
			if fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				fh.WriteString(t.Name() + "\n")
				fh.Close()
			}
		})
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("KIOS_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
