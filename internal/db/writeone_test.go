package db_test

import (
	"context"
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

// TestWriteOneReturnsTheRowAndCommits proves that WriteOne scans the row of
// an INSERT … RETURNING into dest (on SQLite too) and that the row is
// committed: a fresh read, on another connection, finds it with the values
// returned.
func TestWriteOneReturnsTheRowAndCommits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		for i, c := range []struct {
			k string
			v int64
		}{{"a", 7}, {"b", -3}, {"c", 1 << 40}} {
			var k string
			var v, doubled int64
			err := d.WriteOne(ctx, "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, v, v * 2", []any{c.k, c.v}, &k, &v, &doubled)
			if err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
			if k != c.k || v != c.v || doubled != 2*c.v {
				t.Fatalf("insert %d returned (%q, %d, %d), want (%q, %d, %d)", i, k, v, doubled, c.k, c.v, 2*c.v)
			}
			var stored int64
			if err := d.QueryRow(ctx, "SELECT v FROM kv WHERE k = ?", c.k).Scan(&stored); err != nil || stored != c.v {
				t.Fatalf("fresh read of %q after WriteOne: v=%d err=%v, want %d", c.k, stored, err, c.v)
			}
		}
		if got := kvRows(t, d); len(got) != 3 {
			t.Fatalf("kv holds %v, want the 3 rows written", got)
		}
	})
}

// TestWriteOneConflictWritesNothing proves that a unique violation inside
// WriteOne's statement maps to db.ErrConflict and that the statement is
// undone whole: a row the same statement inserted before the conflicting
// one is not there afterwards, and the existing row keeps its value.
func TestWriteOneConflictWritesNothing(t *testing.T) {
	cases := []struct {
		name string
		q    string
		args []any
	}{
		{"duplicate key", "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING v", []any{"a", 2}},
		{"second row conflicts", "INSERT INTO kv (k, v) VALUES (?, ?), (?, ?) RETURNING v", []any{"b", 2, "a", 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
				mustExec(t, d, "INSERT INTO kv (k, v) VALUES ('a', 1)")
				var v int64
				err := d.WriteOne(ctx, c.q, c.args, &v)
				if !errors.Is(err, db.ErrConflict) {
					t.Fatalf("WriteOne(%s) = %v, want ErrConflict", c.q, err)
				}
				if got := kvRows(t, d); len(got) != 1 || got["a"] != 1 {
					t.Fatalf("kv after a refused WriteOne holds %v, want only a=1", got)
				}
				// The database still takes writes afterwards (on SQLite the
				// writer, on PostgreSQL the connection, survived).
				if err := d.WriteOne(ctx, "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING v", []any{"z", 9}, &v); err != nil || v != 9 {
					t.Fatalf("WriteOne after a conflict: v=%d err=%v", v, err)
				}
			})
		})
	}
}

// TestWriteOneCancelledBeforeWritesNothing proves that WriteOne with a
// context already cancelled returns context.Canceled without running its
// statement: dest is untouched and no row is written.
func TestWriteOneCancelledBeforeWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		v := int64(-1)
		err := d.WriteOne(ctx, "INSERT INTO kv (k, v) VALUES (?, ?) RETURNING v", []any{"x", 5}, &v)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteOne with a cancelled ctx = %v, want context.Canceled", err)
		}
		if v != -1 {
			t.Fatalf("dest was set to %d by a WriteOne that must not run", v)
		}
		if got := kvRows(t, d); len(got) != 0 {
			t.Fatalf("kv after a cancelled WriteOne holds %v, want nothing", got)
		}
	})
}

// TestWriteOneNoRowIsNotFound proves that a WriteOne statement that returns
// no row (an UPDATE … RETURNING that matched nothing) reports
// db.ErrNotFound and changes nothing.
func TestWriteOneNoRowIsNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		mustExec(t, d, "INSERT INTO kv (k, v) VALUES ('a', 1)")
		var v int64
		err := d.WriteOne(ctx, "UPDATE kv SET v = v + 1 WHERE k = ? RETURNING v", []any{"missing"}, &v)
		if !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("UPDATE of no row = %v, want ErrNotFound", err)
		}
		if err := d.WriteOne(ctx, "UPDATE kv SET v = v + 1 WHERE k = ? RETURNING v", []any{"a"}, &v); err != nil || v != 2 {
			t.Fatalf("UPDATE of a: v=%d err=%v, want 2", v, err)
		}
		if got := kvRows(t, d); len(got) != 1 || got["a"] != 2 {
			t.Fatalf("kv holds %v, want a=2", got)
		}
	})
}
