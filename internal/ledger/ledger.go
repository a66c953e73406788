// Package ledger is the one place where money moves. Every change of a
// balance is a journal entry whose postings sum to zero, written inside the
// caller's db transaction; a balance that may not go negative is changed only
// by a guarded update that refuses to overdraw it, never by read-then-write.
package ledger

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
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
func Post(tx *db.Tx, e Entry, now time.Time) (int64, error) {
	if err := e.Validate(); err != nil {
		return 0, err
	}
	ps := slices.Clone(e.Postings)
	slices.SortFunc(ps, func(a, b Posting) int {
		switch {
		case a.Account < b.Account:
			return -1
		case a.Account > b.Account:
			return 1
		}
		return 0
	})
	for _, p := range ps {
		n, err := tx.ExecAffected(`UPDATE accounts SET balance = balance + ?
			WHERE id = ? AND (allow_negative OR balance + ? >= 0)`, p.Amount, p.Account, p.Amount)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			var exists int
			if err := tx.QueryRow("SELECT COUNT(*) FROM accounts WHERE id = ?", p.Account).Scan(&exists); err != nil {
				return 0, err
			}
			if exists == 0 {
				return 0, fmt.Errorf("%w: id %d", ErrNoAccount, p.Account)
			}
			return 0, ErrInsufficientFunds
		}
	}
	var id int64
	err := tx.QueryRow("INSERT INTO entries (kind, reference, memo, created_at) VALUES (?, ?, ?, ?) RETURNING id",
		e.Kind, e.Reference, e.Memo, now.UnixMicro()).Scan(&id)
	if err != nil {
		return 0, err
	}
	var q strings.Builder
	q.WriteString("INSERT INTO postings (entry_id, account_id, amount) VALUES ")
	args := make([]any, 0, 3*len(e.Postings))
	for i, p := range e.Postings {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, id, p.Account, p.Amount)
	}
	if _, err := tx.Exec(q.String(), args...); err != nil {
		return 0, err
	}
	return id, nil
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
