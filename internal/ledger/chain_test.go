package ledger_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
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

// onlyPostgres skips the SQLite half of a dbtest.Each test of WriteCharge.
func onlyPostgres(t *testing.T, d *db.DB) {
	t.Helper()
	if d.Dialect() != db.Postgres {
		t.Skip("WriteCharge is PostgreSQL-only; its SQLite refusal is TestWriteChargeNeedsPostgres")
	}
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

// notesThen is a caller's Then: it records, for the entry written, the
// account credited and a note (its one argument), and returns the entry.
const notesThen = `, noted AS (
	INSERT INTO charge_notes (entry_id, account_id, note)
	SELECT id, (SELECT id FROM credited), ?::text FROM entry RETURNING entry_id
)`

// notesResult returns the entry's id and the note's entry id, 0 when none.
const notesResult = "COALESCE((SELECT id FROM entry), 0), COALESCE((SELECT entry_id FROM noted), 0)"

// keyGate is a gate that claims a key only when the charge is funded.
const keyGate = `INSERT INTO gate_keys (k) SELECT ?::text WHERE (SELECT ok FROM funded)
	ON CONFLICT DO NOTHING RETURNING 1`

// chainTables creates the tables the tests' Then and Gate write to.
func chainTables(t *testing.T, d *db.DB) {
	mustExecW(t, d, "CREATE TABLE charge_notes (entry_id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, note TEXT NOT NULL)")
	mustExecW(t, d, "CREATE TABLE gate_keys (k TEXT PRIMARY KEY)")
}

// TestWriteChargeNeedsPostgres proves that WriteCharge on SQLite refuses
// with ErrChainDialect and writes nothing, whatever the charge asks.
func TestWriteChargeNeedsPostgres(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if d.Dialect() == db.Postgres {
			t.Skip("the dialect refusal is SQLite's; PostgreSQL runs the charge (the other TestWriteCharge tests)")
		}
		ids := setup(t, d, 500, 0, 0)
		before := takeSnapshot(t, d, ids...)
		var entry int64 = -1
		credited, gated, err := ledger.WriteCharge(context.Background(), d, ledger.Charge{
			From: ids[0], To: ids[1:], Amount: 100, Kind: "order", Reference: "SQL1",
			Result: "COALESCE((SELECT id FROM entry), 0)",
		}, now, &entry)
		if !errors.Is(err, ledger.ErrChainDialect) || credited != 0 || gated {
			t.Fatalf("WriteCharge on SQLite = (%d, %v, %v), want (0, false, ErrChainDialect)", credited, gated, err)
		}
		if entry != -1 {
			t.Fatalf("dest set to %d by a refused charge", entry)
		}
		requireUnchanged(t, d, before, ids...)
	})
}

// TestWriteChargeMovesAmountToOneCandidate proves that a funded charge
// debits the payer by exactly its amount and credits exactly one of its
// candidates (the one returned), leaving the others alone; that it writes
// one entry, with the charge's kind, reference and time, of two postings;
// that the caller's Then runs once, seeing the entry and the credited
// account, and its Result columns reach dest; that the payer is never
// credited even when offered; and that a charge of the whole balance is
// allowed.
func TestWriteChargeMovesAmountToOneCandidate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		onlyPostgres(t, d)
		ctx := context.Background()
		chainTables(t, d)
		ids := setup(t, d, 1000, 0, 0, 0)
		payer, cands := ids[0], ids[1:]
		charges := []struct {
			amount int64
			to     []int64
			only   int64 // when not 0, the one candidate that may be credited
		}{
			{250, cands, 0},
			{300, []int64{cands[2], cands[0]}, 0},
			{1, []int64{payer, cands[1]}, cands[1]}, // the payer is not a candidate
			{449, cands, 0},                         // the rest of the balance, exactly
		}
		want := map[int64]int64{payer: 1000}
		for i, c := range charges {
			last := maxEntry(t, d)
			at := now.Add(time.Duration(i) * time.Second)
			ref := "TRX-C" + string(rune('A'+i))
			var entry, noted int64
			credited, gated, err := ledger.WriteCharge(ctx, d, ledger.Charge{
				From: payer, To: c.to, Amount: c.amount, Kind: "order", Reference: ref,
				Then: notesThen, ThenArgs: []any{"note " + ref}, Result: notesResult,
			}, at, &entry, &noted)
			if err != nil || !gated {
				t.Fatalf("charge %d: credited=%d gated=%v err=%v, want it written", i, credited, gated, err)
			}
			if !slices.Contains(c.to, credited) || credited == payer || (c.only != 0 && credited != c.only) {
				t.Fatalf("charge %d credited account %d, not a candidate of %v (payer %d)", i, credited, c.to, payer)
			}
			want[payer] -= c.amount
			want[credited] += c.amount
			for _, id := range ids {
				if b := balance(t, d, id); b != want[id] {
					t.Fatalf("charge %d: account %d holds %d, want %d", i, id, b, want[id])
				}
			}
			es := entriesAfter(t, d, last)
			if len(es) != 1 || es[0].ID != entry || noted != entry {
				t.Fatalf("charge %d: entries written %+v, Result entry %d, noted %d; want one entry, named by both", i, es, entry, noted)
			}
			wantPostings := []ledger.Posting{{payer, -c.amount}, {credited, c.amount}}
			sortPostings(wantPostings)
			e := es[0]
			if e.Kind != "order" || e.Reference != ref || e.Memo != "" || e.CreatedAt != at.UnixMicro() || !slices.Equal(e.Postings, wantPostings) {
				t.Fatalf("charge %d: entry %+v, want kind order, reference %s, time %d, postings %v", i, e, ref, at.UnixMicro(), wantPostings)
			}
			var acct int64
			var note string
			if err := d.QueryRow(ctx, "SELECT account_id, note FROM charge_notes WHERE entry_id = ?", entry).Scan(&acct, &note); err != nil ||
				acct != credited || note != "note "+ref {
				t.Fatalf("charge %d: Then's row (%d, %q, %v), want (%d, %q)", i, acct, note, err, credited, "note "+ref)
			}
			mustVerify(t, d)
		}
		if n := count(t, d, "charge_notes"); n != int64(len(charges)) {
			t.Fatalf("%d notes for %d charges", n, len(charges))
		}
	})
}

// TestWriteChargeRefusedWritesNothing proves that a charge the payer
// cannot pay returns ErrInsufficientFunds, and one from a missing payer
// ErrNoAccount, and that neither moves a balance, writes an entry or a
// posting, nor runs the caller's Then or a gate that checks funded.
func TestWriteChargeRefusedWritesNothing(t *testing.T) {
	cases := []struct {
		name    string
		fund    int64
		amount  int64
		gate    bool
		noPayer bool
		want    error
	}{
		{"one more than the balance", 100, 101, false, false, ledger.ErrInsufficientFunds},
		{"empty account", 0, 1, false, false, ledger.ErrInsufficientFunds},
		{"gate checks funded", 100, 500, true, false, ledger.ErrInsufficientFunds},
		{"no such payer", 100, 10, true, true, ledger.ErrNoAccount},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				onlyPostgres(t, d)
				chainTables(t, d)
				ids := setup(t, d, c.fund, 0, 0)
				from := ids[0]
				if c.noPayer {
					from = 999999
				}
				before := takeSnapshot(t, d, ids...)
				ch := ledger.Charge{From: from, To: ids[1:], Amount: c.amount, Kind: "order", Reference: "NOPE",
					Then: notesThen, ThenArgs: []any{"never"}, Result: notesResult}
				if c.gate {
					ch.Gate, ch.GateArgs = keyGate, []any{"K-NOPE"}
				}
				entry, noted := int64(-1), int64(-1)
				credited, gated, err := ledger.WriteCharge(context.Background(), d, ch, now, &entry, &noted)
				if !errors.Is(err, c.want) || credited != 0 || gated {
					t.Fatalf("WriteCharge = (%d, %v, %v), want (0, false, %v)", credited, gated, err, c.want)
				}
				if entry > 0 || noted > 0 {
					t.Fatalf("Result of a refused charge names entry %d, note %d", entry, noted)
				}
				requireUnchanged(t, d, before, ids...)
				if n, k := count(t, d, "charge_notes"), count(t, d, "gate_keys"); n != 0 || k != 0 {
					t.Fatalf("a refused charge left %d notes and %d gate keys", n, k)
				}
			})
		})
	}
}

// TestWriteChargeGate proves the gate's contract: a gate that returns no
// row makes a funded charge write nothing and report gated false without
// an error; a key gate writes its key with the charge; the same key again
// (taken) writes nothing and reports gated false; and an unfunded charge
// does not write its gate's key.
func TestWriteChargeGate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		onlyPostgres(t, d)
		ctx := context.Background()
		chainTables(t, d)
		ids := setup(t, d, 1000, 0, 0)
		charge := func(gate string, args []any, amount int64) (credited int64, gated bool, entry, noted int64, err error) {
			credited, gated, err = ledger.WriteCharge(ctx, d, ledger.Charge{
				From: ids[0], To: ids[1:], Amount: amount, Kind: "order", Reference: "G",
				Gate: gate, GateArgs: args, Then: notesThen, ThenArgs: []any{"gated"}, Result: notesResult,
			}, now, &entry, &noted)
			return
		}

		// A gate with no row: funded, yet nothing is written.
		before := takeSnapshot(t, d, ids...)
		_, gated, entry, noted, err := charge("SELECT 1 WHERE FALSE", nil, 100)
		if err != nil || gated || entry != 0 || noted != 0 {
			t.Fatalf("empty gate: gated=%v entry=%d noted=%d err=%v; want gated false, nothing written, no error", gated, entry, noted, err)
		}
		requireUnchanged(t, d, before, ids...)
		if n := count(t, d, "charge_notes"); n != 0 {
			t.Fatalf("an empty gate let Then write %d rows", n)
		}

		// A key gate, funded: the key, the money and the entry together.
		credited, gated, entry, _, err := charge(keyGate, []any{"K1"}, 300)
		if err != nil || !gated || entry == 0 {
			t.Fatalf("first use of K1: credited=%d gated=%v entry=%d err=%v", credited, gated, entry, err)
		}
		if b0, bc := balance(t, d, ids[0]), balance(t, d, credited); b0 != 700 || bc != 300 {
			t.Fatalf("after K1: payer %d, credited %d; want 700, 300", b0, bc)
		}
		if n := count(t, d, "gate_keys"); n != 1 {
			t.Fatalf("%d gate keys after K1, want 1", n)
		}

		// K1 again: taken, so nothing at all.
		before = takeSnapshot(t, d, ids...)
		notes := count(t, d, "charge_notes")
		_, gated, entry, noted, err = charge(keyGate, []any{"K1"}, 300)
		if err != nil || gated || entry != 0 || noted != 0 {
			t.Fatalf("K1 replayed: gated=%v entry=%d noted=%d err=%v; want gated false, nothing written, no error", gated, entry, noted, err)
		}
		requireUnchanged(t, d, before, ids...)
		if n, k := count(t, d, "charge_notes"), count(t, d, "gate_keys"); n != notes || k != 1 {
			t.Fatalf("replayed key left %d notes (want %d) and %d keys (want 1)", n, notes, k)
		}

		// K2, unfunded: refused, and the gate did not claim K2.
		_, gated, _, _, err = charge(keyGate, []any{"K2"}, 701)
		if !errors.Is(err, ledger.ErrInsufficientFunds) || gated {
			t.Fatalf("unfunded K2: gated=%v err=%v, want ErrInsufficientFunds", gated, err)
		}
		requireUnchanged(t, d, before, ids...)
		var k2 int64
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM gate_keys WHERE k = 'K2'").Scan(&k2); err != nil || k2 != 0 {
			t.Fatalf("an unfunded charge wrote its gate's key (%d rows, %v)", k2, err)
		}
		mustVerify(t, d)
	})
}

// holdRowLocks locks the accounts ids FOR UPDATE in a write transaction of
// its own, from another goroutine, and returns once they are held. release
// ends that transaction and reports whether the locks were still held on
// purpose until then (false: the holder gave up waiting, after a minute,
// so whatever ran meanwhile may have waited for them).
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

// TestWriteChargeSkipsLockedCandidates proves that a charge never waits for
// a candidate another transaction holds: with every candidate held it
// returns ErrBusy at once and writes nothing (the payer keeps its money);
// with some held and one free, it credits the free one, at once.
func TestWriteChargeSkipsLockedCandidates(t *testing.T) {
	cases := []struct {
		name string
		held []int // indexes of the candidates held
		free int   // index of the candidate that must be credited, -1: none
	}{
		{"every candidate held", []int{0, 1, 2}, -1},
		{"the others held", []int{0, 2}, 1},
		{"one held", []int{1}, -1 /* either 0 or 2: checked below */},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				onlyPostgres(t, d)
				ids := setup(t, d, 1000, 0, 0, 0)
				payer, cands := ids[0], ids[1:]
				var hold []int64
				for _, i := range c.held {
					hold = append(hold, cands[i])
				}
				before := takeSnapshot(t, d, ids...)
				release := holdRowLocks(t, d, hold...)
				start := time.Now()
				credited, gated, err := ledger.WriteCharge(context.Background(), d, ledger.Charge{
					From: payer, To: cands, Amount: 100, Kind: "order", Reference: "BUSY",
				}, now)
				took := time.Since(start)
				if !release() {
					t.Fatalf("the charge waited for the held candidates (returned after %v)", took)
				}
				if len(hold) == len(cands) {
					if !errors.Is(err, ledger.ErrBusy) || credited != 0 || gated {
						t.Fatalf("every candidate held: (%d, %v, %v), want ErrBusy", credited, gated, err)
					}
					requireUnchanged(t, d, before, ids...)
					return
				}
				if err != nil || !gated {
					t.Fatalf("a free candidate left: credited=%d gated=%v err=%v", credited, gated, err)
				}
				if slices.Contains(hold, credited) || !slices.Contains(cands, credited) {
					t.Fatalf("credited %d: held %v, candidates %v", credited, hold, cands)
				}
				if c.free >= 0 && credited != cands[c.free] {
					t.Fatalf("credited %d, want the only free candidate %d", credited, cands[c.free])
				}
				if b0, bc := balance(t, d, payer), balance(t, d, credited); b0 != 900 || bc != 100 {
					t.Fatalf("payer %d, credited %d; want 900, 100", b0, bc)
				}
				for _, h := range hold {
					if b := balance(t, d, h); b != 0 {
						t.Fatalf("held candidate %d holds %d", h, b)
					}
				}
				mustVerify(t, d)
			})
		})
	}
}

// TestWriteChargeConcurrent proves that concurrent charges from one payer
// accept exactly what the balance pays for: 200 charges of 100 against
// 12,000 accept 120 and refuse the rest as ErrInsufficientFunds (none
// busy: a charge takes its candidate only once it holds the payer, so
// charges from one payer never find its candidates held by each other,
// even when there is a single one), the payer ends at 0, and each
// candidate holds 100 per charge that named it credited.
func TestWriteChargeConcurrent(t *testing.T) {
	for _, stripes := range []int{8, 1} {
		t.Run(map[int]string{8: "8 stripes", 1: "1 stripe"}[stripes], func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				onlyPostgres(t, d)
				ctx := context.Background()
				const charges, amount, fund = 200, 100, 12_000
				ids := setup(t, d, append([]int64{fund}, make([]int64, stripes)...)...)
				payer, cands := ids[0], ids[1:]
				entriesBefore := count(t, d, "entries")
				var (
					mu       sync.Mutex
					credits  = map[int64]int64{}
					accepted int
					refused  int
					others   []error
					wg       sync.WaitGroup
				)
				for range charges {
					wg.Add(1)
					go func() {
						defer wg.Done()
						credited, gated, err := ledger.WriteCharge(ctx, d, ledger.Charge{
							From: payer, To: cands, Amount: amount, Kind: "order", Reference: "CONC",
						}, now)
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil && gated:
							accepted++
							credits[credited]++
						case errors.Is(err, ledger.ErrInsufficientFunds):
							refused++
						default:
							others = append(others, err)
						}
					}()
				}
				wg.Wait()
				if len(others) > 0 {
					t.Fatalf("%d charges failed otherwise, e.g. %v", len(others), others[0])
				}
				if accepted != fund/amount || refused != charges-fund/amount {
					t.Fatalf("accepted %d, refused %d; want %d, %d", accepted, refused, fund/amount, charges-fund/amount)
				}
				if b := balance(t, d, payer); b != 0 {
					t.Fatalf("payer holds %d, want 0", b)
				}
				var sum int64
				for _, id := range cands {
					b := balance(t, d, id)
					if b != credits[id]*amount {
						t.Fatalf("candidate %d holds %d but was reported credited %d times", id, b, credits[id])
					}
					sum += b
				}
				if sum != fund {
					t.Fatalf("candidates hold %d, want %d", sum, fund)
				}
				if n := count(t, d, "entries") - entriesBefore; n != fund/amount {
					t.Fatalf("%d entries written, want %d", n, fund/amount)
				}
				mustVerify(t, d)
			})
		})
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
