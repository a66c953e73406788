package ledger_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
)

// snapshot is the part of the ledger a refused write must leave alone: the
// balances of some accounts and the number of entries and postings.
type snapshot struct {
	balances          []int64
	entries, postings int64
}

// takeSnapshot verifies the ledger and returns its snapshot over ids.
func takeSnapshot(t *testing.T, d *db.DB, ids ...int64) snapshot {
	t.Helper()
	r := mustVerify(t, d)
	s := snapshot{entries: r.Entries, postings: r.Postings}
	for _, id := range ids {
		s.balances = append(s.balances, balance(t, d, id))
	}
	return s
}

// requireUnchanged fails t when the ledger over ids differs from before.
func requireUnchanged(t *testing.T, d *db.DB, before snapshot, ids ...int64) {
	t.Helper()
	after := takeSnapshot(t, d, ids...)
	if after.entries != before.entries || after.postings != before.postings || !slices.Equal(after.balances, before.balances) {
		t.Fatalf("a refused write changed the ledger:\nbefore %+v\nafter  %+v", before, after)
	}
}

// count returns SELECT COUNT(*) FROM table.
func count(t *testing.T, d *db.DB, table string) int64 {
	t.Helper()
	var n int64
	if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// maxEntry returns the largest entry id (0 when there is none).
func maxEntry(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var id int64
	if err := d.QueryRow(context.Background(), "SELECT COALESCE(MAX(id), 0) FROM entries").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// storedEntry is an entry as read back, its postings sorted by account and
// amount.
type storedEntry struct {
	ID                    int64
	Kind, Reference, Memo string
	CreatedAt             int64
	Postings              []ledger.Posting
}

// entriesAfter reads the entries whose id is above after, in id order.
func entriesAfter(t *testing.T, d *db.DB, after int64) []storedEntry {
	t.Helper()
	ctx := context.Background()
	rows, err := d.Query(ctx, "SELECT id, kind, reference, memo, created_at FROM entries WHERE id > ? ORDER BY id", after)
	if err != nil {
		t.Fatal(err)
	}
	var out []storedEntry
	for rows.Next() {
		var e storedEntry
		if err := rows.Scan(&e.ID, &e.Kind, &e.Reference, &e.Memo, &e.CreatedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		out[i].Postings = postingsOf(t, d, out[i].ID)
	}
	return out
}

func postingsOf(t *testing.T, d *db.DB, entry int64) []ledger.Posting {
	t.Helper()
	rows, err := d.Query(context.Background(), "SELECT account_id, amount FROM postings WHERE entry_id = ?", entry)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ps []ledger.Posting
	for rows.Next() {
		var p ledger.Posting
		if err := rows.Scan(&p.Account, &p.Amount); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortPostings(ps)
	return ps
}

func sortPostings(ps []ledger.Posting) {
	slices.SortFunc(ps, func(a, b ledger.Posting) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Amount, b.Amount))
	})
}

// mustExecW runs one statement in a write transaction.
func mustExecW(t *testing.T, d *db.DB, q string) {
	t.Helper()
	if err := d.Write(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(q)
		return err
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// chainTables creates the table the tests' Then writes to.
func chainTables(t *testing.T, d *db.DB) {
	mustExecW(t, d, "CREATE TABLE charge_notes (entry_id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, note TEXT NOT NULL)")
}

// holdRowLocks locks the accounts ids FOR UPDATE in a transaction of
// another goroutine until release is called; release reports whether the
// locks were still held then (the code under test did not wait for them).
func holdRowLocks(t *testing.T, d *db.DB, ids ...int64) (release func() bool) {
	t.Helper()
	held := make(chan struct{})
	stop := make(chan struct{})
	type result struct {
		onTime bool
		err    error
	}
	done := make(chan result, 1)
	go func() {
		onTime := false
		err := d.Write(context.Background(), func(tx *db.Tx) error {
			rows, err := tx.Query("SELECT id FROM accounts WHERE id = ANY (?::bigint[]) ORDER BY id FOR UPDATE", ids)
			if err != nil {
				return err
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if n != len(ids) {
				return errors.New("not every account to hold was found")
			}
			close(held)
			select {
			case <-stop:
				onTime = true
			case <-time.After(time.Minute):
			}
			return nil
		})
		done <- result{onTime, err}
	}()
	select {
	case <-held:
	case r := <-done:
		t.Fatalf("holding row locks: %v", r.err)
	}
	return func() bool {
		close(stop)
		r := <-done
		if r.err != nil {
			t.Fatalf("lock holder: %v", r.err)
		}
		return r.onTime
	}
}

// TestPostManyMovesTotalsAndWritesEveryEntry proves, on both databases,
// that PostMany moves every account by the sum of its postings across the
// batch (entries touching shared accounts, one naming an account twice,
// one spending what an earlier one credited) and writes every entry, in
// the order given, with its kind, reference, memo, time and exactly its
// postings.
func TestPostManyMovesTotalsAndWritesEveryEntry(t *testing.T) {
	type leg struct {
		acct   int // index into the accounts
		amount int64
	}
	type entry struct {
		kind, ref, memo string
		legs            []leg
	}
	cases := []struct {
		name    string
		entries []entry
		want    []int64 // balances after, from 1000, 500, 0, 0
	}{
		{"batch", []entry{
			{"settle", "S1", "first", []leg{{0, -300}, {2, 200}, {3, 100}}},
			{"settle", "S2", "", []leg{{1, -400}, {2, 150}, {3, 250}}},
			{"refund", "S3", "spends what S1, S2 credited", []leg{{2, -100}, {0, 60}, {1, 40}}},
			{"split", "", "twice", []leg{{3, -50}, {0, 30}, {3, 20}}},
		}, []int64{790, 140, 250, 320}},
		{"one entry", []entry{
			{"settle", "ONE", "", []leg{{0, -1000}, {2, 600}, {3, 400}}},
		}, []int64{0, 500, 600, 400}},
		{"empty batch", nil, []int64{1000, 500, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ids := setup(t, d, 1000, 500, 0, 0)
				last := maxEntry(t, d)
				var es []ledger.Entry
				for _, e := range c.entries {
					le := ledger.Entry{Kind: e.kind, Reference: e.ref, Memo: e.memo}
					for _, l := range e.legs {
						le.Postings = append(le.Postings, ledger.Posting{Account: ids[l.acct], Amount: l.amount})
					}
					es = append(es, le)
				}
				at := now.Add(time.Hour)
				if err := d.Write(context.Background(), func(tx *db.Tx) error {
					return ledger.PostMany(tx, es, at)
				}); err != nil {
					t.Fatal(err)
				}
				for i, id := range ids {
					if b := balance(t, d, id); b != c.want[i] {
						t.Errorf("account %d holds %d, want %d", i, b, c.want[i])
					}
				}
				got := entriesAfter(t, d, last)
				if len(got) != len(es) {
					t.Fatalf("%d entries written, want %d: %+v", len(got), len(es), got)
				}
				for i, e := range es {
					want := slices.Clone(e.Postings)
					sortPostings(want)
					g := got[i]
					if g.Kind != e.Kind || g.Reference != e.Reference || g.Memo != e.Memo || g.CreatedAt != at.UnixMicro() || !slices.Equal(g.Postings, want) {
						t.Errorf("entry %d (id %d):\n got %+v\nwant %+v at %d", i, g.ID, g, e, at.UnixMicro())
					}
				}
				mustVerify(t, d)
			})
		})
	}
}

// TestPostManyRefusedWritesNothing proves, on both databases, that a batch
// PostMany refuses inside d.Write leaves balances, entries and postings as
// they were: one that would overdraw an account that may not go negative
// (by one entry, or only by the batch's total) returns
// ErrInsufficientFunds, and one naming a missing account ErrNoAccount, even
// when earlier entries of the batch were fine.
func TestPostManyRefusedWritesNothing(t *testing.T) {
	cases := []struct {
		name string
		// entries of the batch; -1 names a missing account
		legs [][][2]int64
		want error
	}{
		{"one entry overdraws", [][][2]int64{
			{{0, -200}, {2, 200}},
			{{1, -150}, {2, 150}},
		}, ledger.ErrInsufficientFunds},
		{"only the total overdraws", [][][2]int64{
			{{1, -60}, {2, 60}},
			{{1, -60}, {2, 30}, {0, 30}},
		}, ledger.ErrInsufficientFunds},
		{"missing account", [][][2]int64{
			{{0, -200}, {2, 200}},
			{{0, -10}, {-1, 10}},
		}, ledger.ErrNoAccount},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ids := setup(t, d, 1000, 100, 0)
				var es []ledger.Entry
				for i, legs := range c.legs {
					e := ledger.Entry{Kind: "settle", Reference: "R" + string(rune('0'+i))}
					for _, l := range legs {
						acct := int64(999999)
						if l[0] >= 0 {
							acct = ids[l[0]]
						}
						e.Postings = append(e.Postings, ledger.Posting{Account: acct, Amount: l[1]})
					}
					es = append(es, e)
				}
				before := takeSnapshot(t, d, ids...)
				err := d.Write(context.Background(), func(tx *db.Tx) error {
					return ledger.PostMany(tx, es, now)
				})
				if !errors.Is(err, c.want) {
					t.Fatalf("PostMany = %v, want %v", err, c.want)
				}
				requireUnchanged(t, d, before, ids...)
				// The database takes the next write as usual.
				if err := d.Write(context.Background(), func(tx *db.Tx) error {
					return ledger.PostMany(tx, es[:1], now)
				}); err != nil {
					t.Fatalf("first entry alone after the refusal: %v", err)
				}
				mustVerify(t, d)
			})
		})
	}
}

// TestPostManyValidatesEveryEntryFirst proves that PostMany checks every
// entry before it writes any: a batch whose last entry is unbalanced
// returns ErrUnbalanced having written nothing, even when the caller's
// transaction then commits.
func TestPostManyValidatesEveryEntryFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ids := setup(t, d, 1000, 0, 0)
		before := takeSnapshot(t, d, ids...)
		var postErr error
		if err := d.Write(context.Background(), func(tx *db.Tx) error {
			postErr = ledger.PostMany(tx, []ledger.Entry{
				{Kind: "settle", Postings: []ledger.Posting{{ids[0], -100}, {ids[1], 100}}},
				{Kind: "settle", Postings: []ledger.Posting{{ids[0], -100}, {ids[2], 100}}},
				{Kind: "settle", Postings: []ledger.Posting{{ids[0], -100}, {ids[2], 99}}},
			}, now)
			return nil // commit whatever PostMany wrote
		}); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(postErr, ledger.ErrUnbalanced) {
			t.Fatalf("PostMany = %v, want ErrUnbalanced", postErr)
		}
		requireUnchanged(t, d, before, ids...)
	})
}
