package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
)

// The crash test runs a child process, this test binary again, that writes
// transfers through db.Write from many goroutines and prints the id of every
// entry whose Write returned nil. The parent kills it with SIGKILL while
// writes are in flight, then checks that every entry the child was told
// about survived, with its postings, and that the ledger is sound.

const (
	crashDSNEnv   = "KIOS_CRASH_CHILD_DSN" // set only in the child
	crashAccounts = 16                     // accounts the child moves money between
	crashWriters  = 32                     // the child's concurrent writers
	crashRounds   = 2                      // crash, restart on the same database, crash again
	crashAcks     = 400                    // acknowledged transfers to wait for before each kill
)

// ack is one transfer the child reported as committed.
type ack struct{ entry, from, to, amount int64 }

// TestCrashKeepsAcknowledgedTransfers kills a writing process twice and
// checks that no acknowledged transfer was lost.
func TestCrashKeepsAcknowledgedTransfers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dsn := dbtest.DSN(t, target)
			if dsn == "" {
				t.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			var acks []ack
			for round := range crashRounds {
				got := runCrashChild(t, dsn, round)
				t.Logf("round %d: %d transfers acknowledged before SIGKILL", round, len(got))
				acks = append(acks, got...)
			}
			d := dbtest.Open(t, dsn) // after two crashes; SQLite recovers its WAL here
			checkAcks(t, d, acks)
			r := mustVerify(t, d)
			t.Logf("after the crashes: %d entries (%d acknowledged), ledger OK", r.Entries, len(acks))
		})
	}
}

// runCrashChild starts the child on dsn, kills it with SIGKILL once it has
// acknowledged crashAcks transfers, and returns every acknowledgement it
// printed before it died.
func runCrashChild(t *testing.T, dsn string, round int) []ack {
	t.Helper()
	var acks []ack
	for _, line := range dbtest.KillChild(t, "TestCrashHelperProcess", []string{crashDSNEnv + "=" + dsn}, crashAcks) {
		var a ack
		if _, err := fmt.Sscanf(line, "ack %d %d %d %d", &a.entry, &a.from, &a.to, &a.amount); err != nil {
			t.Fatalf("round %d: unexpected child output %q", round, line)
		}
		acks = append(acks, a)
	}
	return acks
}

// checkAcks asserts that every acknowledged transfer is in entries with
// exactly its two postings.
func checkAcks(t *testing.T, d *db.DB, acks []ack) {
	t.Helper()
	type posting struct{ account, amount int64 }
	byEntry := map[int64][]posting{}
	rows, err := d.Query(context.Background(), `SELECT e.id, p.account_id, p.amount FROM entries e
		JOIN postings p ON p.entry_id = e.id WHERE e.kind = 'crash' ORDER BY p.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p posting
		if err := rows.Scan(&id, &p.account, &p.amount); err != nil {
			t.Fatal(err)
		}
		byEntry[id] = append(byEntry[id], p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, a := range acks {
		got := byEntry[a.entry]
		want := []posting{{a.from, -a.amount}, {a.to, a.amount}}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			if lost++; lost <= 10 {
				t.Errorf("acknowledged entry %d: postings %v, want %v", a.entry, got, want)
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged transfers lost or wrong after SIGKILL", lost, len(acks))
	}
}

// TestCrashHelperProcess is the child of TestCrashKeepsAcknowledgedTransfers;
// it does nothing unless started by it. It never returns: it writes until it
// is killed.
func TestCrashHelperProcess(t *testing.T) {
	dsn := os.Getenv(crashDSNEnv)
	if dsn == "" {
		t.Skip("the child process of TestCrashKeepsAcknowledgedTransfers")
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "crash child: "+format+"\n", args...)
		os.Exit(2)
	}
	go func() { // the parent is gone: stop
		io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		fail("open: %v", err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		fail("migrate: %v", err)
	}
	ids := make([]int64, crashAccounts)
	err = d.Write(ctx, func(tx *db.Tx) error {
		if err := ledger.EnsureSystem(tx, now); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		for i := range ids {
			code := fmt.Sprintf("crash:%d", i)
			a, err := ledger.AccountByCode(tx, code)
			if err == nil { // a restart: reuse it
				ids[i] = a.ID
				continue
			}
			if !errors.Is(err, ledger.ErrNoAccount) {
				return err
			}
			if ids[i], err = ledger.EnsureAccount(tx, code, ledger.KindMember, false, now); err != nil {
				return err
			}
			if _, err := ledger.Transfer(tx, "adjustment", "", adj.ID, ids[i], 1_000_000_000, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		fail("setup: %v", err)
	}
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(w)))
			buf := make([]byte, 0, 64)
			for {
				fi, ti := rng.IntN(len(ids)), rng.IntN(len(ids)-1)
				if ti >= fi {
					ti++
				}
				from, to, amount := ids[fi], ids[ti], 1+rng.Int64N(1000)
				var entry int64
				err := d.Write(ctx, func(tx *db.Tx) error {
					var err error
					entry, err = ledger.Transfer(tx, "crash", "", from, to, amount, now)
					return err
				})
				switch {
				case err == nil:
					// One write(2) per line, unbuffered: the parent has it
					// the moment it is printed.
					buf = fmt.Appendf(buf[:0], "ack %d %d %d %d\n", entry, from, to, amount)
					if _, err := os.Stdout.Write(buf); err != nil {
						fail("stdout: %v", err)
					}
				case errors.Is(err, ledger.ErrInsufficientFunds):
				default:
					fail("transfer: %v", err)
				}
			}
		}()
	}
	wg.Wait()
}
