// Package ledger is the one place where money moves. Every change of a
// balance is a journal entry whose postings sum to zero, written inside the
// caller's db transaction; a balance that may not go negative is changed only
// by a guarded update that refuses to overdraw it, never by read-then-write.
package ledger

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"kios/internal/db"
)

// Account kinds.
const (
	KindMember   = "member"
	KindWorld    = "world"
	KindSystem   = "system"
	KindSupplier = "supplier"
)

// Well-known system accounts, created by EnsureSystem.
const (
	Inflight = "system:inflight" // orders being fulfilled
	Payout   = "system:payout"   // withdrawals waiting for an operator
	Revenue  = "system:revenue"  // margins and fees
	Adjust   = "system:adjust"   // manual adjustments and demo funding
)

// MemberCode returns the account code of member id.
func MemberCode(memberID int64) string { return fmt.Sprintf("member:%d", memberID) }

// BankCode returns the account code of money outside, at a bank channel.
func BankCode(bank string) string { return "world:bank:" + bank }

// SupplierCode returns the account code of what kios owes a supplier.
func SupplierCode(name string) string { return "supplier:" + name }

// Errors of the ledger.
var (
	// ErrInsufficientFunds reports that a posting would overdraw an account
	// that may not go negative. Nothing of the entry is written.
	ErrInsufficientFunds = errors.New("ledger: insufficient funds")
	// ErrUnbalanced reports an entry whose postings do not sum to zero, or
	// that has fewer than two postings or a zero amount.
	ErrUnbalanced = errors.New("ledger: unbalanced entry")
	// ErrNoAccount reports a posting to an account that does not exist.
	ErrNoAccount = errors.New("ledger: no such account")
)

// Account is one ledger account.
type Account struct {
	ID            int64
	Code          string
	Kind          string
	Balance       int64
	AllowNegative bool
}

// Posting moves Amount rupiah into Account (negative: out of it).
type Posting struct {
	Account int64
	Amount  int64
}

// Entry is a balanced journal entry.
type Entry struct {
	Kind      string // what happened: "order", "refund", "deposit", "adjustment", …
	Reference string // the business reference it belongs to, if any
	Memo      string
	Postings  []Posting
}

// Validate checks that e is balanced and well formed.
func (e Entry) Validate() error {
	if e.Kind == "" {
		return fmt.Errorf("%w: entry has no kind", ErrUnbalanced)
	}
	if len(e.Postings) < 2 {
		return fmt.Errorf("%w: %d postings", ErrUnbalanced, len(e.Postings))
	}
	var sum int64
	for _, p := range e.Postings {
		if p.Amount == 0 {
			return fmt.Errorf("%w: zero posting", ErrUnbalanced)
		}
		if (p.Amount > 0 && sum > math.MaxInt64-p.Amount) || (p.Amount < 0 && sum < math.MinInt64-p.Amount) {
			return fmt.Errorf("%w: amounts overflow", ErrUnbalanced)
		}
		sum += p.Amount
	}
	if sum != 0 {
		return fmt.Errorf("%w: postings sum to %d", ErrUnbalanced, sum)
	}
	return nil
}

// EnsureAccount returns the id of the account with code, creating it with
// kind and allowNegative when it does not exist yet.
func EnsureAccount(tx *db.Tx, code, kind string, allowNegative bool, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow("SELECT id FROM accounts WHERE code = ?", code).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return 0, err
	}
	// ON CONFLICT DO NOTHING: a concurrent transaction creating the same
	// account (PostgreSQL) makes this one wait, then find its row.
	if _, err := tx.Exec(`INSERT INTO accounts (code, kind, balance, allow_negative, created_at)
		VALUES (?, ?, 0, ?, ?) ON CONFLICT (code) DO NOTHING`, code, kind, allowNegative, now.UnixMicro()); err != nil {
		return 0, err
	}
	err = tx.QueryRow("SELECT id FROM accounts WHERE code = ?", code).Scan(&id)
	return id, err
}

// EnsureSystem creates the well-known system accounts that do not exist yet.
// Revenue and inflight may not go negative; adjust may (it is where manual
// credits come from).
func EnsureSystem(tx *db.Tx, now time.Time) error {
	for _, a := range []struct {
		code   string
		allowN bool
	}{{Inflight, false}, {Payout, false}, {Revenue, false}, {Adjust, true}} {
		if _, err := EnsureAccount(tx, a.code, KindSystem, a.allowN, now); err != nil {
			return err
		}
	}
	return nil
}

// AccountByCode reads one account inside tx.
func AccountByCode(tx *db.Tx, code string) (Account, error) {
	var a Account
	err := tx.QueryRow("SELECT id, code, kind, balance, allow_negative FROM accounts WHERE code = ?", code).
		Scan(&a.ID, &a.Code, &a.Kind, &a.Balance, &a.AllowNegative)
	if errors.Is(err, db.ErrNotFound) {
		return a, fmt.Errorf("%w: %s", ErrNoAccount, code)
	}
	return a, err
}

// Post writes e inside tx and returns the new entry's id. Balances are
// changed by guarded updates, in account order so that concurrent entries
// on PostgreSQL do not deadlock; the first that would overdraw an account
// fails the whole entry with ErrInsufficientFunds, and the caller's
// transaction (or savepoint) must then be rolled back, which db.Write does
// when the function returns the error.
//
// On PostgreSQL an entry whose postings name distinct accounts (every
// transfer) is written by one statement, one round trip instead of one per
// posting and row; see postPostgresSQL.
func Post(tx *db.Tx, e Entry, now time.Time) (int64, error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	ps := slices.Clone(e.Postings)
	slices.SortStableFunc(ps, func(a, b Posting) int { return cmp.Compare(a.Account, b.Account) })
	distinct := true
	for i := 1; i < len(ps); i++ {
		if ps[i].Account == ps[i-1].Account {
			distinct = false
			break
		}
	}
	if tx.Dialect() == db.Postgres && distinct {
		return postOneStatement(tx, e, ps, now)
	}
	for _, p := range ps {
		n, err := tx.ExecAffected(guardedUpdate, p.Amount, p.Account, p.Amount)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, refusal(tx, p.Account)
		}
	}
	var id int64
	if tx.Dialect() == db.SQLite {
		// SQLite implements RETURNING with a temporary table per execution,
		// which costs more than the insert itself; the connection's last
		// inserted rowid, just set by this insert, is the entry's id.
		res, err := tx.Exec(insertEntry, e.Kind, e.Reference, e.Memo, now.UnixMicro())
		if err != nil {
			return 0, err
		}
		if id, err = res.LastInsertId(); err != nil {
			return 0, err
		}
	} else {
		err := tx.QueryRow(insertEntry+" RETURNING id", e.Kind, e.Reference, e.Memo, now.UnixMicro()).Scan(&id)
		if err != nil {
			return 0, err
		}
	}
	// One row per statement: SQLite runs a multi-row INSERT under a
	// statement journal (it may fail half-way), which copies every page it
	// touches; single-row inserts need none, and the statement is the same
	// text, so prepared once, whatever the number of postings.
	for _, p := range e.Postings {
		if _, err := tx.Exec(insertPosting, id, p.Account, p.Amount); err != nil {
			return 0, err
		}
	}
	return id, nil
}

const (
	// guardedUpdate moves an amount into an account (negative: out of it),
	// refusing to take an account that may not go negative below zero. Its
	// arguments are the amount, the account and the amount again.
	guardedUpdate = `UPDATE accounts SET balance = balance + ?
			WHERE id = ? AND (allow_negative OR balance + ? >= 0)`
	insertEntry   = "INSERT INTO entries (kind, reference, memo, created_at) VALUES (?, ?, ?, ?)"
	insertPosting = "INSERT INTO postings (entry_id, account_id, amount) VALUES (?, ?, ?)"
)

// refusal explains why the guarded update of account changed no row: the
// account does not exist, or the posting would overdraw it.
func refusal(tx *db.Tx, account int64) error {
	var exists int
	if err := tx.QueryRow("SELECT COUNT(*) FROM accounts WHERE id = ?", account).Scan(&exists); err != nil {
		return err
	}
	if exists == 0 {
		return fmt.Errorf("%w: id %d", ErrNoAccount, account)
	}
	return ErrInsufficientFunds
}

// postPostgresSQL returns the statement that writes an entry of n postings
// on distinct accounts in one PostgreSQL statement:
//
//   - p lists the postings, (account, amount, ord), as a VALUES list rather
//     than arrays, so that PostgreSQL knows its size when it plans the
//     prepared statement once for all executions (with arrays it re-plans
//     every execution, which costs more than running it);
//   - locked takes the accounts' row locks first, in account order (the
//     LockRows node sits above the Sort), so that concurrent entries never
//     wait for each other in a cycle, as the separate updates in account
//     order guarantee on the other path; moved reads its count in a
//     one-time filter, which runs before the UPDATE touches any row;
//   - moved is the guarded update of every account, with the same guard as
//     guardedUpdate; under READ COMMITTED the guard is evaluated again on
//     the newest version of a row that a concurrent entry changed;
//   - entry and posted insert the entry and its postings only when every
//     guarded update changed its row.
//
// The statement returns how many accounts it locked (found) and moved, and
// the entry's id (0 when it wrote none).
func postPostgresSQL(n int) string {
	if q, ok := postPostgresCache.Load(n); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("WITH p (account, amount, ord) AS (\n\tVALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(?::bigint, ?::bigint, %d)", i+1)
	}
	b.WriteString(`
), locked AS MATERIALIZED (
	SELECT a.id FROM accounts a WHERE a.id IN (SELECT account FROM p) ORDER BY a.id FOR NO KEY UPDATE
), moved AS (
	UPDATE accounts a SET balance = a.balance + p.amount FROM p
	WHERE a.id = p.account AND (SELECT count(*) FROM locked) > 0
		AND (a.allow_negative OR a.balance + p.amount >= 0)
	RETURNING a.id
), entry AS (
	INSERT INTO entries (kind, reference, memo, created_at)
	SELECT ?::text, ?::text, ?::text, ?::bigint WHERE (SELECT count(*) FROM moved) = ?::bigint
	RETURNING id
), posted AS (
	INSERT INTO postings (entry_id, account_id, amount)
	SELECT entry.id, p.account, p.amount FROM entry, p ORDER BY p.ord
)
SELECT (SELECT count(*) FROM locked), (SELECT count(*) FROM moved), COALESCE((SELECT id FROM entry), 0)`)
	q, _ := postPostgresCache.LoadOrStore(n, b.String())
	return q.(string)
}

var postPostgresCache sync.Map // number of postings → statement

// postOneStatement is Post on PostgreSQL for postings on distinct accounts;
// sorted is e.Postings in account order.
func postOneStatement(tx *db.Tx, e Entry, sorted []Posting, now time.Time) (int64, error) {
	n := int64(len(e.Postings))
	args := make([]any, 0, 2*n+5)
	for _, p := range e.Postings {
		args = append(args, p.Account, p.Amount)
	}
	args = append(args, e.Kind, e.Reference, e.Memo, now.UnixMicro(), n)
	var locked, moved, id int64
	err := tx.QueryRow(postPostgresSQL(len(e.Postings)), args...).Scan(&locked, &moved, &id)
	if err != nil {
		return 0, err
	}
	if moved == n && id != 0 {
		return id, nil
	}
	if locked < n { // some account does not exist: name the first, as the other path does
		for _, p := range sorted {
			if err := refusal(tx, p.Account); !errors.Is(err, ErrInsufficientFunds) {
				return 0, err
			}
		}
	}
	return 0, ErrInsufficientFunds
}

// Transfer posts a two-legged entry moving amount from one account to
// another. amount must be positive.
func Transfer(tx *db.Tx, kind, reference string, from, to, amount int64, now time.Time) (int64, error) {
	if amount <= 0 {
		return 0, fmt.Errorf("%w: transfer of %d", ErrUnbalanced, amount)
	}
	return Post(tx, Entry{Kind: kind, Reference: reference, Postings: []Posting{
		{Account: from, Amount: -amount},
		{Account: to, Amount: amount},
	}}, now)
}
