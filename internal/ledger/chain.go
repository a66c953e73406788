package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"kios/internal/db"
)

// Errors of a batch of charges.
var (
	// ErrChainDialect reports WriteCharges called on a database other than
	// PostgreSQL.
	ErrChainDialect = errors.New("ledger: a batch of charges in one statement needs PostgreSQL")
	// ErrBusy reports a charge for which no account offered for the
	// credit could be taken: each was held by another transaction (or
	// named no account, or a payer). Nothing was written for it, and it
	// may be tried again with other candidates.
	ErrBusy = errors.New("ledger: every account offered for the credit is busy")
)

// PostMany writes entries inside tx, as Post writes each, but on
// PostgreSQL in one statement: every account's balance moves once, by the
// sum of the entries' postings to it, under Post's guard applied to that
// sum (the balance after all of them may not be below zero where that is
// not allowed), and the entries and their postings are inserted in the
// order given. On SQLite, and for a single entry, it is Post for each
// entry in order, whose guard applies entry by entry: a batch in which an
// account dips below zero between entries but ends above it is written on
// PostgreSQL and refused on SQLite; batches of settlements never dip.
//
// It is for a batch of entries that the caller writes together
// (settlements): when any account would be overdrawn it returns
// ErrInsufficientFunds without saying which entry did it, and the caller's
// transaction must be rolled back, as after Post.
func PostMany(tx *db.Tx, entries []Entry, now time.Time) error {
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			return err
		}
	}
	if tx.Dialect() != db.Postgres || len(entries) == 1 {
		for _, e := range entries {
			if _, err := Post(tx, e, now); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		return nil
	}
	var (
		ord, account, amount []int64
		kinds, refs, memos   []string
		entryOrd             []int64
		accounts             = map[int64]bool{}
	)
	for i, e := range entries {
		entryOrd = append(entryOrd, int64(i))
		kinds, refs, memos = append(kinds, e.Kind), append(refs, e.Reference), append(memos, e.Memo)
		for _, p := range e.Postings {
			ord, account, amount = append(ord, int64(i)), append(account, p.Account), append(amount, p.Amount)
			accounts[p.Account] = true
		}
	}
	var locked, moved, written int64
	err := tx.QueryRow(postManySQL, ord, account, amount, entryOrd, kinds, refs, memos, now.UnixMicro()).
		Scan(&locked, &moved, &written)
	if err != nil {
		return err
	}
	switch n := int64(len(accounts)); {
	case locked < n:
		return ErrNoAccount
	case moved < n || written != int64(len(entries)):
		return ErrInsufficientFunds
	}
	return nil
}

// postManySQL is PostMany's statement. The postings and entries come as
// arrays (one statement text whatever the batch's size); d sums the
// postings by account; locked takes the accounts' row locks in account
// order, as Post does, so that concurrent writers never wait for each
// other in a cycle; moved is the guarded update of each account by its
// sum; ids draws the entries' ids, in order, only when every account
// moved, and entry and posted insert them and their postings.
const postManySQL = `WITH p (ord, account, amount) AS (
	SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[])
), d AS (
	SELECT account, sum(amount)::bigint AS delta FROM p GROUP BY account
), locked AS MATERIALIZED (
	SELECT a.id FROM accounts a WHERE a.id IN (SELECT account FROM d) ORDER BY a.id FOR NO KEY UPDATE
), moved AS (
	UPDATE accounts a SET balance = a.balance + d.delta FROM d
	WHERE a.id = d.account AND (SELECT count(*) FROM locked) > 0
		AND (a.allow_negative OR a.balance + d.delta >= 0)
	RETURNING a.id
), e (ord, kind, reference, memo) AS (
	SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[])
), ids AS MATERIALIZED (
	SELECT e.ord, nextval(pg_get_serial_sequence('entries', 'id')) AS id, e.kind, e.reference, e.memo
	FROM (SELECT * FROM e ORDER BY ord) e
	WHERE (SELECT count(*) FROM moved) = (SELECT count(*) FROM d)
), entry AS (
	INSERT INTO entries (id, kind, reference, memo, created_at)
	SELECT id, kind, reference, memo, ?::bigint FROM ids ORDER BY ord
), posted AS (
	INSERT INTO postings (entry_id, account_id, amount)
	SELECT ids.id, p.account, p.amount FROM p JOIN ids ON ids.ord = p.ord ORDER BY p.ord
)
SELECT (SELECT count(*) FROM locked), (SELECT count(*) FROM moved), (SELECT count(*) FROM ids)`

// ChargeBatch is charges from payers to whichever of several accounts (the
// stripes of a system account) no concurrent transaction holds, written in
// one PostgreSQL statement together with the caller's own rows (see
// WriteCharges), each standing on its own: a charge refused (unfunded, no
// free stripe, its gate) writes nothing of its own and holds back no other.
// The whole business write (orders with their charges, say) is then one
// implicit transaction and one round trip, where db.Write needs a BEGIN, a
// statement per row and a COMMIT, each a round trip that costs PostgreSQL
// more CPU than the write itself; and one statement for many orders shares
// what a statement costs whatever its size (planning, locking its tables,
// starting the executor, the commit), which is most of what one order
// costs (docs/performance.md). A batch of one is fine.
type ChargeBatch struct {
	// Rows is a query with one row per charge, with at least the columns
	// ord (bigint, distinct), payer (bigint), amount (bigint, > 0) and
	// reference (text). No two rows may name the same payer: each payer's
	// funds are checked for its one charge.
	Rows     string
	RowsArgs []any
	// To lists the candidate accounts for the credits; each written charge
	// credits a different one, among those no other transaction holds.
	To   []int64
	Kind string
	// Gate, optional, is common table expressions (", name AS (…)") that
	// read FROM funded (the rows of Rows whose charge is funded, with the
	// column stripe, the account it would credit) and define passed (ord),
	// the charges that may be written; without it every funded charge is.
	Gate     string
	GateArgs []any
	// Then is the caller's common table expressions, which read FROM
	// written (the rows of Rows whose charge was written, with stripe and
	// entry_id).
	Then     string
	ThenArgs []any
	// Result is the caller's result columns; they may use rk, the row of
	// Rows, and must be non-NULL whatever became of its charge.
	Result string
}

// ChargeOutcome is what became of one charge of a batch.
type ChargeOutcome struct {
	Ord      int64
	Credited int64 // the account credited; 0 when nothing was written
	Written  bool
	// Balance is the payer's balance right after the charge when it was
	// written, else the balance it was refused on.
	Balance int64
	// Err is ErrNoAccount, ErrBusy or ErrInsufficientFunds for a charge
	// refused before its gate, nil otherwise; a charge that is not
	// Written with a nil Err was stopped by its gate.
	Err error
}

// WriteCharges writes b in one statement of its own (db.WriteRows: durable
// when it returns) and calls each with every row's outcome, in the order
// of ord, after scanning the row's Result columns into dest. When the
// statement has to run again (a deadlock), each is called again from the
// first row.
//
// The statement
//
//   - locks the payers' accounts in account order (waiting for concurrent
//     entries to commit, and then reading their new balances);
//   - checks each charge's funds under its payer's lock;
//   - takes one free candidate for each funded charge, skipping the held
//     ones without waiting (FOR NO KEY UPDATE SKIP LOCKED): a credit cannot
//     overdraw, so any stripe does, and a charge never queues behind
//     another or behind a settlement batch that holds a stripe;
//   - runs the gate (an idempotency key's INSERT … ON CONFLICT DO NOTHING,
//     say, for the funded rows only);
//   - moves the balances and inserts an entry with two postings for each
//     charge that passed, then runs the caller's Then.
//
// Each charge is all or nothing: its payer's balance was checked under the
// payer's lock, and every write of it depends on the check and its gate.
// Payers are locked before any stripe, and stripes are taken without
// waiting, so the statement never waits while holding a lock another
// transaction waits for. The accounts' CHECK constraint stays the second
// guard behind the check.
func WriteCharges(ctx context.Context, d *db.DB, b ChargeBatch, now time.Time, dest []any, each func(ChargeOutcome) error) error {
	if d.Dialect() != db.Postgres {
		return ErrChainDialect
	}
	if b.Kind == "" || len(b.To) == 0 {
		return fmt.Errorf("%w: a batch of charges needs a kind and accounts to credit", ErrUnbalanced)
	}
	var q strings.Builder
	q.WriteString("WITH r AS (")
	q.WriteString(b.Rows)
	q.WriteString(`), payers AS MATERIALIZED (
	SELECT a.id, a.balance, a.allow_negative FROM accounts a WHERE a.id IN (SELECT payer FROM r) ORDER BY a.id FOR NO KEY UPDATE
), eligible AS MATERIALIZED (
	SELECT rk.*, row_number() OVER (ORDER BY rk.ord) AS e FROM r rk JOIN payers p ON p.id = rk.payer
	WHERE rk.amount > 0 AND (p.allow_negative OR p.balance >= rk.amount)
), stripes AS MATERIALIZED (
	SELECT a.id FROM accounts a
	WHERE a.id = ANY (?::bigint[]) AND a.id NOT IN (SELECT payer FROM r)
	LIMIT (SELECT count(*) FROM eligible) FOR NO KEY UPDATE SKIP LOCKED
), numbered AS MATERIALIZED (
	SELECT id, row_number() OVER (ORDER BY id) AS n FROM stripes
), funded AS MATERIALIZED (
	SELECT el.*, s.id AS stripe FROM eligible el JOIN numbered s ON s.n = el.e
)`)
	args := append(slices.Clone(b.RowsArgs), b.To)
	if b.Gate != "" {
		q.WriteString(b.Gate)
		args = append(args, b.GateArgs...)
	} else {
		q.WriteString(", passed AS (SELECT ord FROM funded)")
	}
	q.WriteString(`, written AS MATERIALIZED (
	SELECT f.*, nextval(pg_get_serial_sequence('entries', 'id')) AS entry_id FROM funded f
	WHERE f.ord IN (SELECT ord FROM passed) ORDER BY f.ord
), legs AS (
	SELECT ord, payer AS id, -amount AS amount, 1 AS leg FROM written
	UNION ALL SELECT ord, stripe, amount, 2 FROM written
), moved AS (
	UPDATE accounts a SET balance = a.balance + legs.amount FROM legs WHERE a.id = legs.id RETURNING a.id
), entry AS (
	INSERT INTO entries (id, kind, reference, memo, created_at)
	SELECT entry_id, ?::text, reference, '', ?::bigint FROM written ORDER BY ord
), posted AS (
	INSERT INTO postings (entry_id, account_id, amount)
	SELECT w.entry_id, legs.id, legs.amount FROM legs JOIN written w USING (ord) ORDER BY legs.ord, legs.leg
)`)
	args = append(args, b.Kind, now.UnixMicro())
	q.WriteString(b.Then)
	args = append(args, b.ThenArgs...)
	q.WriteString(`
SELECT rk.ord, p.id IS NOT NULL, el.ord IS NOT NULL, f.ord IS NOT NULL, COALESCE(w.stripe, 0),
	COALESCE(p.balance, 0) - CASE WHEN w.ord IS NULL THEN 0 ELSE rk.amount END`)
	if b.Result != "" {
		q.WriteString(", ")
		q.WriteString(b.Result)
	}
	q.WriteString(`
FROM r rk LEFT JOIN payers p ON p.id = rk.payer LEFT JOIN eligible el ON el.ord = rk.ord
	LEFT JOIN funded f ON f.ord = rk.ord LEFT JOIN written w ON w.ord = rk.ord
ORDER BY rk.ord`)
	return d.WriteRows(ctx, q.String(), args, func(rows *sql.Rows) error {
		var o ChargeOutcome
		var payer, funded, stripe bool
		if err := rows.Scan(append([]any{&o.Ord, &payer, &funded, &stripe, &o.Credited, &o.Balance}, dest...)...); err != nil {
			return err
		}
		o.Written = o.Credited != 0
		switch {
		case !payer:
			o.Err = ErrNoAccount
		case !funded:
			o.Err = ErrInsufficientFunds
		case !stripe:
			o.Err = ErrBusy
		}
		return each(o)
	})
}
