package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered SQL files, NNNN_name.sql, written in the subset of
// SQL both databases share. The one translation made for SQLite is
// "BIGSERIAL PRIMARY KEY" → "INTEGER PRIMARY KEY" (SQLite's rowid alias). A
// migration that cannot be portable may come as NNNN_name.sqlite.sql and
// NNNN_name.postgres.sql instead.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the migrations for d's dialect, in order.
func (d *DB) Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]Migration{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		switch {
		case strings.HasSuffix(name, ".sqlite"):
			if d.dialect != SQLite {
				continue
			}
			name = strings.TrimSuffix(name, ".sqlite")
		case strings.HasSuffix(name, ".postgres"):
			if d.dialect != Postgres {
				continue
			}
			name = strings.TrimSuffix(name, ".postgres")
		}
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must be NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		text := string(body)
		if d.dialect == SQLite {
			text = strings.ReplaceAll(text, "BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY")
		}
		if old, dup := byVersion[v]; dup && old.Name != rest {
			return nil, fmt.Errorf("migration %d is defined twice (%s, %s)", v, old.Name, rest)
		}
		byVersion[v] = Migration{Version: v, Name: rest, SQL: text}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

// Migrate applies every migration not yet recorded in schema_migrations, each
// in its own transaction, and returns the names of those it applied. Several
// processes may call it at once: on PostgreSQL an advisory lock serialises
// them, on SQLite the single write lock does.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	ms, err := d.Migrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range ms {
		var did bool
		err := d.Write(ctx, func(tx *Tx) error {
			did = false
			if d.dialect == Postgres {
				if _, err := tx.q.ExecContext(tx.ctx, "SELECT pg_advisory_xact_lock(7355608)"); err != nil {
					return err
				}
			}
			if _, err := tx.q.ExecContext(tx.ctx, migrationsTable); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.q.ExecContext(tx.ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
			_, err := tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.Name, time.Now().UnixMicro())
			did = true
			return err
		})
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, fmt.Sprintf("%04d_%s", m.Version, m.Name))
		}
	}
	return applied, nil
}

// Pending returns how many known migrations are not yet applied; /readyz
// uses it.
func (d *DB) Pending(ctx context.Context) (int, error) {
	ms, err := d.Migrations()
	if err != nil {
		return 0, err
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		return len(ms), err
	}
	return len(ms) - n, nil
}
