package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
)

// kvRows returns the kv table's rows, read afresh (outside any write).
func kvRows(t *testing.T, d *db.DB) map[string]int64 {
	t.Helper()
	rows, err := d.Query(context.Background(), "SELECT k, v FROM kv ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		got[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// writeRows runs q through WriteRows and returns the rows it gave, each
// as its (k, v).
func writeRows(ctx context.Context, d *db.DB, q string, args ...any) (map[string]int64, error) {
	got := map[string]int64{}
	err := d.WriteRows(ctx, q, args, func(rows *sql.Rows) error {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		got[k] = v
		return nil
	})
	return got, err
}

// TestWriteRowsReturnsTheRowsAndCommits proves that WriteRows hands fn
// every row of an INSERT … RETURNING (on SQLite too) and that they are
// committed: a fresh read, on another connection, finds them.
func TestWriteRowsReturnsTheRowsAndCommits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		got, err := writeRows(ctx, d, "INSERT INTO kv (k, v) VALUES (?, ?), (?, ?), (?, ?) RETURNING k, v * 2", "a", 7, "b", -3, "c", 1<<40)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got["a"] != 14 || got["b"] != -6 || got["c"] != 1<<41 {
			t.Fatalf("rows %v, want a=14 b=-6 c=2^41", got)
		}
		if stored := kvRows(t, d); len(stored) != 3 || stored["a"] != 7 || stored["b"] != -3 || stored["c"] != 1<<40 {
			t.Fatalf("kv holds %v after WriteRows, want the 3 rows written", stored)
		}
		// A statement that returns no row calls fn never, and is no error.
		none, err := writeRows(ctx, d, "UPDATE kv SET v = v + 1 WHERE k = ? RETURNING k, v", "missing")
		if err != nil || len(none) != 0 {
			t.Fatalf("UPDATE of no row: %v %v, want no rows and no error", none, err)
		}
	})
}

// TestWriteRowsConflictWritesNothing proves that a unique violation inside
// WriteRows' statement maps to db.ErrConflict and that the statement is
// undone whole: a row the same statement inserted before the conflicting
// one is not there afterwards, and the existing row keeps its value.
func TestWriteRowsConflictWritesNothing(t *testing.T) {
	cases := []struct {
		name string
		q    string
		args []any
	}{
		{"duplicate key", "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v", []any{"a", 2}},
		{"second row conflicts", "INSERT INTO kv (k, v) VALUES (?, ?), (?, ?) RETURNING k, v", []any{"b", 2, "a", 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
				mustExec(t, d, "INSERT INTO kv (k, v) VALUES ('a', 1)")
				if _, err := writeRows(ctx, d, c.q, c.args...); !errors.Is(err, db.ErrConflict) {
					t.Fatalf("WriteRows(%s) = %v, want ErrConflict", c.q, err)
				}
				if got := kvRows(t, d); len(got) != 1 || got["a"] != 1 {
					t.Fatalf("kv after a refused WriteRows holds %v, want only a=1", got)
				}
				// The database still takes writes afterwards (on SQLite the
				// writer, on PostgreSQL the connection, survived).
				if got, err := writeRows(ctx, d, "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v", "z", 9); err != nil || got["z"] != 9 {
					t.Fatalf("WriteRows after a conflict: %v %v", got, err)
				}
			})
		})
	}
}

// TestWriteRowsCancelledBeforeWritesNothing proves that WriteRows with a
// context already cancelled returns context.Canceled without running its
// statement: fn is never called and no row is written.
func TestWriteRowsCancelledBeforeWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got, err := writeRows(ctx, d, "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v", "x", 5)
		if !errors.Is(err, context.Canceled) || len(got) != 0 {
			t.Fatalf("WriteRows with a cancelled ctx = %v %v, want context.Canceled and no rows", got, err)
		}
		if stored := kvRows(t, d); len(stored) != 0 {
			t.Fatalf("kv after a cancelled WriteRows holds %v, want nothing", stored)
		}
	})
}
