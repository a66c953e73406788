package db_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
)

func TestMigrationsRecordedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ms, err := d.Migrations()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || n == 0 {
			t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
		}
		again, err := d.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Fatalf("second Migrate applied %v, %v; want nothing", again, err)
		}
		if p, err := d.Pending(ctx); err != nil || p != 0 {
			t.Fatalf("Pending = %d, %v", p, err)
		}
	})
}

func TestMigrateConcurrently(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dsn := dbtest.DSN(t, target)
			if dsn == "" {
				t.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := db.Open(context.Background(), dsn, db.Options{})
					if err != nil {
						errs[i] = err
						return
					}
					defer d.Close()
					_, errs[i] = d.Migrate(context.Background())
				}()
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("concurrent migrate: %v", err)
				}
			}
			d := dbtest.Open(t, dsn)
			var n int
			if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM levels").Scan(&n); err != nil || n != 3 {
				t.Fatalf("levels = %d, %v; want the 3 seeded once", n, err)
			}
		})
	}
}

func TestWriteCommitsAndFailuresRollBackAlone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		boom := errors.New("boom")
		var wg sync.WaitGroup
		errs := make([]error, 100)
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.Write(ctx, func(tx *db.Tx) error {
					if _, err := tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", key(i), i); err != nil {
						return err
					}
					if i%3 == 0 {
						return boom // its insert must vanish, the others' stay
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%3 == 0) != errors.Is(err, boom) {
				t.Fatalf("call %d: err = %v", i, err)
			}
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM kv").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 66 {
			t.Fatalf("%d rows, want 66 (the 34 failed calls rolled back alone)", n)
		}
		var v int64
		if err := d.QueryRow(ctx, "SELECT v FROM kv WHERE k = ?", key(3)).Scan(&v); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("row of a failed call: v=%d err=%v, want ErrNotFound", v, err)
		}
	})
}

func TestConflictAndNotFoundAreMapped(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		mustExec(t, d, "INSERT INTO kv (k, v) VALUES ('a', 1)")
		err := d.Write(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", "a", 2)
			return err
		})
		if !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate key: %v, want ErrConflict", err)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			var v int
			return tx.QueryRow("SELECT v FROM kv WHERE k = ?", "zz").Scan(&v)
		})
		if !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("missing row: %v, want ErrNotFound", err)
		}
	})
}

func TestWritePanicReachesCallerAndRollsBack(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		func() {
			defer func() {
				if v := recover(); v != "bad" {
					t.Fatalf("recovered %v, want the function's panic", v)
				}
			}()
			d.Write(ctx, func(tx *db.Tx) error {
				tx.Exec("INSERT INTO kv (k, v) VALUES ('p', 1)")
				panic("bad")
			})
		}()
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM kv").Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows after panic = %d, %v", n, err)
		}
		// The writer survives.
		mustExec(t, d, "INSERT INTO kv (k, v) VALUES ('ok', 1)")
	})
}

func TestAfterCommitRunsOnlyOnCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var ran []string
		d.Write(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "committed") })
			return nil
		})
		d.Write(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "rolled back") })
			return errors.New("no")
		})
		if len(ran) != 1 || ran[0] != "committed" {
			t.Fatalf("after-commit hooks ran: %v", ran)
		}
	})
}

func TestCancelledBeforeStartWritesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		err := d.Write(ctx, func(tx *db.Tx) error { called = true; return nil })
		if !errors.Is(err, context.Canceled) || called {
			t.Fatalf("err = %v, called = %v", err, called)
		}
	})
}

// TestReadsDoNotWaitForWrites holds a write transaction open and reads
// meanwhile: the read must see the last committed state without waiting.
func TestReadsDoNotWaitForWrites(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
		mustExec(t, d, "INSERT INTO kv (k, v) VALUES ('a', 1)")
		inside := make(chan struct{})
		release := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- d.Write(ctx, func(tx *db.Tx) error {
				if _, err := tx.Exec("UPDATE kv SET v = 2 WHERE k = 'a'"); err != nil {
					return err
				}
				close(inside)
				<-release
				return nil
			})
		}()
		<-inside
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var v int
		err := d.QueryRow(rctx, "SELECT v FROM kv WHERE k = 'a'").Scan(&v)
		close(release)
		if err != nil || v != 1 {
			t.Fatalf("read during a write: v=%d err=%v; want the committed 1 at once", v, err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRow(ctx, "SELECT v FROM kv WHERE k = 'a'").Scan(&v); err != nil || v != 2 {
			t.Fatalf("after commit v=%d err=%v", v, err)
		}
	})
}

func TestWriteAfterCloseFails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		d.Close()
		err := d.Write(context.Background(), func(tx *db.Tx) error { return nil })
		if err == nil {
			t.Fatal("write after Close succeeded")
		}
	})
}

func TestRebind(t *testing.T) {
	d := dbtest.Open(t, dbtest.DSN(t, "sqlite"))
	if got := d.Rebind("a = ? AND b = ?"); got != "a = ? AND b = ?" {
		t.Fatalf("sqlite rebind changed the query: %q", got)
	}
}

func key(i int) string { return "k" + string(rune('A'+i%26)) + string(rune('0'+i/26)) }

func mustExec(t *testing.T, d *db.DB, q string) {
	t.Helper()
	if err := d.Write(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(q)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestLoneWriterNeverLingers: the SQLite writer waits for the callers its
// last commit answered only while fewer writes have arrived since; a caller
// writing alone is answered and is then the next arrival itself, so it never
// waits, however long Linger is.
func TestLoneWriterNeverLingers(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbtest.DSN(t, "sqlite"), db.Options{Linger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mustExec(t, d, "CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL)")
	// A lingering writer would hold the first of these for an hour; the
	// deadline only turns that into a failure instead of a hung test.
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for i := range 50 {
		if err := d.Write(wctx, func(tx *db.Tx) error {
			_, err := tx.Exec("INSERT INTO kv (k, v) VALUES (?, ?)", key(i), i)
			return err
		}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

// TestReadsRepeated runs the same reads many times, as the read pool's
// statement cache serves them on SQLite: each sees the writes committed
// before it, a bad query keeps reporting its error, a query whose table
// changed shape answers with the new shape, and more distinct queries than
// the cache keeps still run.
func TestReadsRepeated(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		mustExec(t, d, "CREATE TABLE reads_t (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)")
		for i := range 5 {
			if err := d.Write(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec("INSERT INTO reads_t (id, v) VALUES (?, ?)", i, i*10)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var n, sum int64
			if err := d.QueryRow(ctx, "SELECT COUNT(*), COALESCE(SUM(v), 0) FROM reads_t WHERE id >= ?", 0).Scan(&n, &sum); err != nil {
				t.Fatal(err)
			}
			if want := int64(i + 1); n != want || sum != 10*want*(want-1)/2 {
				t.Fatalf("after insert %d: count %d sum %d", i, n, sum)
			}
			rows, err := d.Query(ctx, "SELECT v FROM reads_t ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for rows.Next() {
				var v int64
				if err := rows.Scan(&v); err != nil {
					t.Fatal(err)
				}
				got = append(got, v)
			}
			rows.Close()
			if len(got) != i+1 || got[i] != int64(i*10) {
				t.Fatalf("after insert %d: rows %v", i, got)
			}
			if err := d.QueryRow(ctx, "SELECT nope FROM reads_t").Scan(new(int64)); err == nil {
				t.Fatalf("try %d: a query of a missing column answered", i)
			}
		}
		mustExec(t, d, "ALTER TABLE reads_t ADD COLUMN w BIGINT NOT NULL DEFAULT 7")
		var cols []string
		rows, err := d.Query(ctx, "SELECT * FROM reads_t ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ = rows.Columns()
		rows.Close()
		if len(cols) != 3 {
			t.Fatalf("after ALTER TABLE, columns %v", cols)
		}
		for i := range 600 { // more than the SQLite read cache keeps
			var v int64
			if err := d.QueryRow(ctx, "SELECT v + "+strconv.Itoa(i)+" FROM reads_t WHERE id = ?", 1).Scan(&v); err != nil || v != int64(10+i) {
				t.Fatalf("distinct query %d: %d, %v", i, v, err)
			}
		}
	})
}

// TestAdjustmentsByReferenceIndexed: orders' entries are not indexed by
// reference (migration 0020), but the lookup of adjustments by reference
// (the demo funding's) still uses an index on both databases.
func TestAdjustmentsByReferenceIndexed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const lookup = "SELECT COUNT(*) FROM entries WHERE reference = 'DEMO-FUNDING' AND kind = 'adjustment'"
		var plan strings.Builder
		err := d.Read(context.Background(), func(tx *db.Tx) error {
			q := "EXPLAIN QUERY PLAN " + lookup
			if tx.Dialect() == db.Postgres {
				// An empty table would be scanned whatever its indexes.
				if _, err := tx.Exec("SET LOCAL enable_seqscan = off"); err != nil {
					return err
				}
				q = "EXPLAIN " + lookup
			}
			rows, err := tx.Query(q)
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
				fmt.Fprintln(&plan, vals...)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan.String(), "entries_adjustment") {
			t.Fatalf("the lookup does not use entries_adjustment:\n%s", plan.String())
		}
	})
}
