package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
)

// batchRow is one charge of a test's ChargeBatch.
type batchRow struct {
	ord, payer, amount int64
	ref                string
}

// batchRows returns a Rows query (and its arguments) listing rs, in the
// order given, with the columns WriteCharges needs.
func batchRows(rs []batchRow) (string, []any) {
	var ord, payer, amount []int64
	var ref []string
	for _, r := range rs {
		ord, payer, amount, ref = append(ord, r.ord), append(payer, r.payer), append(amount, r.amount), append(ref, r.ref)
	}
	return `SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::text[]) AS r (ord, payer, amount, reference)`,
		[]any{ord, payer, amount, ref}
}

// writeBatch runs WriteCharges and returns the outcomes each was given,
// keeping only the last run's when the statement ran again (each is then
// called again from the first row); after, when set, is called after each
// outcome, once the row's Result columns are in dest.
func writeBatch(ctx context.Context, d *db.DB, b ledger.ChargeBatch, dest []any, after func(ledger.ChargeOutcome)) ([]ledger.ChargeOutcome, error) {
	var out []ledger.ChargeOutcome
	first := int64(-1)
	err := ledger.WriteCharges(ctx, d, b, now, dest, func(o ledger.ChargeOutcome) error {
		if len(out) > 0 && o.Ord == first {
			out = out[:0] // the statement ran again
		}
		if len(out) == 0 {
			first = o.Ord
		}
		out = append(out, o)
		if after != nil {
			after(o)
		}
		return nil
	})
	return out, err
}

// chargesOnlyPostgres skips the SQLite half of a dbtest.Each test of
// WriteCharges.
func chargesOnlyPostgres(t *testing.T, d *db.DB) {
	t.Helper()
	if d.Dialect() != db.Postgres {
		t.Skip("WriteCharges is PostgreSQL-only; its SQLite refusal is TestWriteChargesNeedsPostgres")
	}
}

// TestWriteChargesNeedsPostgres proves that WriteCharges on SQLite refuses
// with ErrChainDialect without calling each, scanning into dest or writing
// anything.
func TestWriteChargesNeedsPostgres(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		if d.Dialect() == db.Postgres {
			t.Skip("the dialect refusal is SQLite's; PostgreSQL runs the batch (the other TestWriteCharges tests)")
		}
		ids := setup(t, d, 500, 400, 0, 0)
		before := takeSnapshot(t, d, ids...)
		rows, args := batchRows([]batchRow{{0, ids[0], 100, "SQ0"}, {1, ids[1], 100, "SQ1"}})
		ref := "untouched"
		called := 0
		err := ledger.WriteCharges(context.Background(), d, ledger.ChargeBatch{
			Rows: rows, RowsArgs: args, To: ids[2:], Kind: "order", Result: "rk.reference",
		}, now, []any{&ref}, func(ledger.ChargeOutcome) error { called++; return nil })
		if !errors.Is(err, ledger.ErrChainDialect) {
			t.Fatalf("WriteCharges on SQLite = %v, want ErrChainDialect", err)
		}
		if called != 0 || ref != "untouched" {
			t.Fatalf("a refused batch called each %d times and set dest to %q", called, ref)
		}
		requireUnchanged(t, d, before, ids...)
	})
}

// TestWriteChargesMixedBatch proves that each charge of a batch stands on
// its own: in one batch of two funded payers (one paying its whole
// balance), an unfunded payer, a payer that does not exist and a funded
// payer the gate stops, exactly the two funded charges the gate passes are
// written, each crediting its own candidate (never a payer, even one
// offered in To), with one entry of two postings of the batch's kind and
// the row's reference; the others get ErrInsufficientFunds, ErrNoAccount
// and (stopped by the gate) no error, and leave no money moved, no entry
// and no posting. The outcomes come in the order of ord, whatever the
// order of the rows.
func TestWriteChargesMixedBatch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		chargesOnlyPostgres(t, d)
		ctx := context.Background()
		// payers: 1000, 500, 99 (unfunded for 100), 800 (stopped by the gate); five candidates
		ids := setup(t, d, 1000, 500, 99, 800, 0, 0, 0, 0, 0)
		rich, exact, poor, stopped := ids[0], ids[1], ids[2], ids[3]
		cands := ids[4:]
		const missing = 999_999
		last := maxEntry(t, d)
		before := takeSnapshot(t, d, ids...)
		rows, args := batchRows([]batchRow{ // not in ord order
			{40, exact, 500, "R-EXACT"},
			{10, rich, 300, "R-RICH"},
			{30, missing, 50, "R-MISSING"},
			{20, poor, 100, "R-POOR"},
			{50, stopped, 200, "STOP"},
		})
		to := append([]int64{rich, stopped}, cands...) // payers offered as candidates are never credited
		got, err := writeBatch(ctx, d, ledger.ChargeBatch{
			Rows: rows, RowsArgs: args, To: to, Kind: "order",
			Gate: ", passed AS (SELECT ord FROM funded WHERE reference <> 'STOP')",
		}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			ord     int64
			written bool
			err     error
		}{
			{10, true, nil},
			{20, false, ledger.ErrInsufficientFunds},
			{30, false, ledger.ErrNoAccount},
			{40, true, nil},
			{50, false, nil}, // stopped by the gate
		}
		if len(got) != len(want) {
			t.Fatalf("%d outcomes, want %d: %+v", len(got), len(want), got)
		}
		for i, w := range want {
			o := got[i]
			if o.Ord != w.ord || o.Written != w.written || !errors.Is(o.Err, w.err) || (w.err == nil) != (o.Err == nil) {
				t.Errorf("outcome %d = %+v, want ord %d written %v err %v", i, o, w.ord, w.written, w.err)
			}
			if o.Written != (o.Credited != 0) {
				t.Errorf("outcome %d: written %v but credited %d", i, o.Written, o.Credited)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		cRich, cExact := got[0].Credited, got[3].Credited
		if cRich == cExact || !slices.Contains(cands, cRich) || !slices.Contains(cands, cExact) {
			t.Fatalf("credited %d and %d: want two distinct candidates of %v (never a payer)", cRich, cExact, cands)
		}
		wantBal := map[int64]int64{rich: 700, exact: 0, poor: 99, stopped: 800, cRich: 300, cExact: 500}
		for _, id := range ids {
			if b := balance(t, d, id); b != wantBal[id] {
				t.Errorf("account %d holds %d, want %d", id, b, wantBal[id])
			}
		}
		es := entriesAfter(t, d, last)
		byRef := map[string]storedEntry{}
		for _, e := range es {
			byRef[e.Reference] = e
		}
		if len(es) != 2 || len(byRef) != 2 {
			t.Fatalf("entries written: %+v; want one for R-RICH and one for R-EXACT", es)
		}
		for _, c := range []struct {
			ref           string
			payer, credit int64
			amount        int64
		}{{"R-RICH", rich, cRich, 300}, {"R-EXACT", exact, cExact, 500}} {
			e, ok := byRef[c.ref]
			wantPostings := []ledger.Posting{{c.payer, -c.amount}, {c.credit, c.amount}}
			sortPostings(wantPostings)
			if !ok || e.Kind != "order" || e.Memo != "" || e.CreatedAt != now.UnixMicro() || !slices.Equal(e.Postings, wantPostings) {
				t.Errorf("entry for %s: %+v (found %v); want kind order, time %d, postings %v", c.ref, e, ok, now.UnixMicro(), wantPostings)
			}
		}
		r := mustVerify(t, d)
		if r.Entries != before.entries+2 || r.Postings != before.postings+4 {
			t.Fatalf("ledger went from %d entries/%d postings to %d/%d; want 2 entries and 4 postings more",
				before.entries, before.postings, r.Entries, r.Postings)
		}
	})
}

// TestWriteChargesResultPerRow proves that the caller's Result columns are
// scanned for each row, into dest, before each is called with that row's
// outcome, whether or not its charge was written; and that Then sees
// written with each written charge's stripe and entry_id: its rows name
// exactly the written charges' entries and the accounts they credited.
func TestWriteChargesResultPerRow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		chargesOnlyPostgres(t, d)
		ctx := context.Background()
		chainTables(t, d)
		ids := setup(t, d, 1000, 50, 1000, 0, 0, 0)
		payers, cands := ids[:3], ids[3:]
		rows, args := batchRows([]batchRow{
			{2, payers[2], 400, "RES-C"},
			{0, payers[0], 100, "RES-A"},
			{1, payers[1], 60, "RES-B"}, // unfunded
		})
		var ref string
		var noted int64
		type seen struct {
			ord   int64
			ref   string
			noted int64
			o     ledger.ChargeOutcome
		}
		var rowsSeen []seen
		got, err := writeBatch(ctx, d, ledger.ChargeBatch{
			Rows: rows, RowsArgs: args, To: cands, Kind: "order",
			Then: `, noted AS (
	INSERT INTO charge_notes (entry_id, account_id, note)
	SELECT entry_id, stripe, reference FROM written RETURNING entry_id, note
)`,
			Result: "rk.reference, COALESCE((SELECT n.entry_id FROM noted n WHERE n.note = rk.reference), 0)",
		}, []any{&ref, &noted}, func(o ledger.ChargeOutcome) {
			if o.Ord == 0 {
				rowsSeen = rowsSeen[:0]
			}
			rowsSeen = append(rowsSeen, seen{o.Ord, ref, noted, o})
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || len(rowsSeen) != 3 {
			t.Fatalf("outcomes %+v, rows seen %+v; want 3", got, rowsSeen)
		}
		wantRef := []string{"RES-A", "RES-B", "RES-C"}
		wantWritten := []bool{true, false, true}
		for i, s := range rowsSeen {
			if s.ord != int64(i) || s.ref != wantRef[i] || s.o.Written != wantWritten[i] {
				t.Errorf("row %d: ord %d, Result reference %q, written %v; want ord %d, %q, written %v",
					i, s.ord, s.ref, s.o.Written, i, wantRef[i], wantWritten[i])
			}
			if !s.o.Written {
				if s.noted != 0 || !errors.Is(s.o.Err, ledger.ErrInsufficientFunds) {
					t.Errorf("row %d (unfunded): noted entry %d, err %v; want 0, ErrInsufficientFunds", i, s.noted, s.o.Err)
				}
				continue
			}
			var kind, eref string
			var acct int64
			var note string
			if err := d.QueryRow(ctx, `SELECT e.kind, e.reference, n.account_id, n.note FROM charge_notes n
				JOIN entries e ON e.id = n.entry_id WHERE n.entry_id = ?`, s.noted).Scan(&kind, &eref, &acct, &note); err != nil {
				t.Fatalf("row %d: Result names entry %d: %v", i, s.noted, err)
			}
			if kind != "order" || eref != wantRef[i] || note != wantRef[i] || acct != s.o.Credited {
				t.Errorf("row %d: Then's row for entry %d: kind %s ref %s note %s account %d; want order, %s, %s, %d",
					i, s.noted, kind, eref, note, acct, wantRef[i], wantRef[i], s.o.Credited)
			}
		}
		if n := count(t, d, "charge_notes"); n != 2 {
			t.Fatalf("Then wrote %d rows, want one per written charge (2)", n)
		}
		mustVerify(t, d)
	})
}

// TestWriteChargesNotEnoughFreeCandidates proves that a batch never waits
// for a candidate another transaction holds, and that it credits each
// written charge a distinct free one: with all candidates but one held, a
// batch of three funded charges writes exactly one (the first by ord),
// crediting the free candidate, and refuses the others with ErrBusy,
// leaving their payers' money and the held candidates alone.
func TestWriteChargesNotEnoughFreeCandidates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		chargesOnlyPostgres(t, d)
		ctx := context.Background()
		ids := setup(t, d, 1000, 1000, 1000, 0, 0, 0, 0)
		payers, cands := ids[:3], ids[3:]
		free := cands[2]
		held := []int64{cands[0], cands[1], cands[3]}
		last := maxEntry(t, d)
		release := holdRowLocks(t, d, held...)
		rows, args := batchRows([]batchRow{
			{0, payers[0], 100, "BUSY-0"},
			{1, payers[1], 200, "BUSY-1"},
			{2, payers[2], 300, "BUSY-2"},
		})
		got, err := writeBatch(ctx, d, ledger.ChargeBatch{Rows: rows, RowsArgs: args, To: cands, Kind: "order"}, nil, nil)
		if !release() {
			t.Fatal("the batch waited for the held candidates")
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("outcomes %+v, want 3", got)
		}
		if o := got[0]; o.Ord != 0 || !o.Written || o.Err != nil || o.Credited != free {
			t.Fatalf("first charge: %+v; want written, crediting the free candidate %d", o, free)
		}
		for _, o := range got[1:] {
			if o.Written || o.Credited != 0 || !errors.Is(o.Err, ledger.ErrBusy) {
				t.Errorf("charge %d: %+v, want ErrBusy", o.Ord, o)
			}
		}
		want := map[int64]int64{payers[0]: 900, payers[1]: 1000, payers[2]: 1000, free: 100}
		for _, id := range ids {
			if b := balance(t, d, id); b != want[id] {
				t.Errorf("account %d holds %d, want %d", id, b, want[id])
			}
		}
		if es := entriesAfter(t, d, last); len(es) != 1 || es[0].Reference != "BUSY-0" {
			t.Fatalf("entries written %+v, want only BUSY-0's", es)
		}
		mustVerify(t, d)
	})
}

// TestWriteChargesConcurrentBatches proves that concurrent batches naming
// the same payers charge exactly what the balances pay for: 8 goroutines
// send 6 batches each of one charge from each of 5 payers, whose balances
// cover 3, 5, 2, 4 and 6 charges (20 in all); exactly 20 charges are
// written, each payer's as many as it could pay, every other refused as
// ErrInsufficientFunds (never ErrBusy: the candidates outnumber what the
// batches can hold at once), no balance is negative, each candidate holds
// what it was reported credited, and the ledger verifies.
func TestWriteChargesConcurrentBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		chargesOnlyPostgres(t, d)
		ctx := context.Background()
		const amount, workers, batches = 100, 8, 6
		covers := []int64{3, 5, 2, 4, 6}
		var K int64
		fund := make([]int64, 0, len(covers)+64)
		for _, c := range covers {
			fund = append(fund, c*amount)
			K += c
		}
		fund = append(fund, make([]int64, 64)...)
		ids := setup(t, d, fund...)
		payers, cands := ids[:len(covers)], ids[len(covers):]
		entriesBefore := count(t, d, "entries")
		var (
			mu      sync.Mutex
			written = map[int64]int64{} // payer → charges written
			credits = map[int64]int64{} // candidate → charges credited
			others  []error
			wg      sync.WaitGroup
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := range batches {
					var rs []batchRow
					for i := range payers {
						// a different order of the payers in each batch
						j := (i + w + b) % len(payers)
						rs = append(rs, batchRow{int64(i), payers[j], amount, fmt.Sprintf("W%d-B%d-P%d", w, b, j)})
					}
					rows, args := batchRows(rs)
					got, err := writeBatch(ctx, d, ledger.ChargeBatch{Rows: rows, RowsArgs: args, To: cands, Kind: "order"}, nil, nil)
					mu.Lock()
					if err == nil && len(got) != len(rs) {
						err = fmt.Errorf("%d outcomes for %d charges", len(got), len(rs))
					}
					if err != nil {
						others = append(others, err)
					}
					for _, o := range got {
						switch {
						case o.Written && o.Err == nil:
							written[rs[o.Ord].payer]++
							credits[o.Credited]++
						case !o.Written && errors.Is(o.Err, ledger.ErrInsufficientFunds):
						default:
							others = append(others, fmt.Errorf("charge %+v", o))
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(others) > 0 {
			t.Fatalf("%d unexpected results, e.g. %v", len(others), others[0])
		}
		var total int64
		for i, p := range payers {
			total += written[p]
			if written[p] != covers[i] {
				t.Errorf("payer %d: %d charges written, want %d", i, written[p], covers[i])
			}
			if b := balance(t, d, p); b != 0 {
				t.Errorf("payer %d holds %d, want 0", i, b)
			}
		}
		if total != K {
			t.Fatalf("%d charges written, want %d", total, K)
		}
		var sum int64
		for _, c := range cands {
			b := balance(t, d, c)
			if b != credits[c]*amount {
				t.Errorf("candidate %d holds %d but was reported credited %d times", c, b, credits[c])
			}
			sum += b
		}
		if sum != K*amount {
			t.Fatalf("candidates hold %d, want %d", sum, K*amount)
		}
		if n := count(t, d, "entries") - entriesBefore; n != K {
			t.Fatalf("%d entries written, want %d", n, K)
		}
		if r := mustVerify(t, d); r.Entries != entriesBefore+K {
			t.Fatalf("Verify counts %d entries, want %d", r.Entries, entriesBefore+K)
		}
	})
}

// TestWriteChargesRefusedRowTakesNoCandidate proves that a charge refused
// for its payer (unfunded, or no such account) uses up no free candidate:
// with one candidate free, the funded charge after them gets it.
func TestWriteChargesRefusedRowTakesNoCandidate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		chargesOnlyPostgres(t, d)
		ctx := context.Background()
		ids := setup(t, d, 0, 1000, 0, 0)
		empty, payer, free, held := ids[0], ids[1], ids[2], ids[3]
		release := holdRowLocks(t, d, held)
		rows, args := batchRows([]batchRow{
			{0, empty, 100, "EMPTY"},
			{1, 1 << 40, 100, "NOBODY"},
			{2, payer, 100, "PAID"},
		})
		got, err := writeBatch(ctx, d, ledger.ChargeBatch{Rows: rows, RowsArgs: args, To: []int64{free, held}, Kind: "order"}, nil, nil)
		if !release() {
			t.Fatal("the batch waited for the held candidate")
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || !errors.Is(got[0].Err, ledger.ErrInsufficientFunds) || !errors.Is(got[1].Err, ledger.ErrNoAccount) {
			t.Fatalf("outcomes %+v, want insufficient funds, no account, written", got)
		}
		if o := got[2]; !o.Written || o.Err != nil || o.Credited != free || o.Balance != 900 {
			t.Fatalf("funded charge: %+v; want written to %d leaving 900", o, free)
		}
		if b := balance(t, d, free); b != 100 {
			t.Fatalf("free candidate holds %d, want 100", b)
		}
		mustVerify(t, d)
	})
}
