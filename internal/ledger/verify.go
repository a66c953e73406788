package ledger

import (
	"context"
	"fmt"
	"strings"

	"kios/internal/db"
)

// Report is what Verify checked and what it found wrong.
type Report struct {
	Accounts   int64
	Entries    int64
	Postings   int64
	Total      int64    // the sum of all balances; must be zero
	Violations []string // empty when the ledger is sound
}

// OK reports whether the ledger passed every check.
func (r Report) OK() bool { return len(r.Violations) == 0 }

// String describes the report in a few human lines.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "checked %d accounts, %d entries, %d postings\n", r.Accounts, r.Entries, r.Postings)
	fmt.Fprintf(&b, "  every entry sums to zero and has two or more postings\n")
	fmt.Fprintf(&b, "  every balance equals the sum of its postings\n")
	fmt.Fprintf(&b, "  no account that may not go negative is negative\n")
	fmt.Fprintf(&b, "  the sum of all balances is zero (it is %d)\n", r.Total)
	if r.OK() {
		b.WriteString("ledger OK\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%d violation(s):\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	return b.String()
}

// Verify checks the ledger's four invariants on one consistent snapshot:
// every entry sums to zero; every balance equals the sum of its postings; no
// account that may not go negative is negative; the sum of all balances is
// zero. A returned error means the checks could not run; violations are in
// the report.
func Verify(ctx context.Context, d *db.DB) (Report, error) {
	var r Report
	err := d.Read(ctx, func(tx *db.Tx) error {
		r = Report{}
		if err := tx.QueryRow(`SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM entries),
			(SELECT COUNT(*) FROM postings), (SELECT COALESCE(SUM(balance), 0) FROM accounts)`).
			Scan(&r.Accounts, &r.Entries, &r.Postings, &r.Total); err != nil {
			return err
		}
		if r.Total != 0 {
			r.Violations = append(r.Violations, fmt.Sprintf("the balances sum to %d, not 0", r.Total))
		}
		checks := []struct {
			q      string
			format func(a, b, c any) string
		}{
			{`SELECT e.id, COALESCE(SUM(p.amount), 0), COUNT(p.id) FROM entries e
				LEFT JOIN postings p ON p.entry_id = e.id
				GROUP BY e.id HAVING COALESCE(SUM(p.amount), 0) <> 0 OR COUNT(p.id) < 2 ORDER BY e.id`,
				func(a, b, c any) string {
					return fmt.Sprintf("entry %v: postings sum to %v over %v posting(s)", a, b, c)
				}},
			{`SELECT a.code, a.balance, COALESCE(SUM(p.amount), 0) FROM accounts a
				LEFT JOIN postings p ON p.account_id = a.id
				GROUP BY a.id, a.code, a.balance HAVING a.balance <> COALESCE(SUM(p.amount), 0) ORDER BY a.id`,
				func(a, b, c any) string {
					return fmt.Sprintf("account %v: balance %v but its postings sum to %v", a, b, c)
				}},
			{`SELECT code, balance, kind FROM accounts WHERE NOT allow_negative AND balance < 0 ORDER BY id`,
				func(a, b, c any) string {
					return fmt.Sprintf("account %v (%v) may not go negative but holds %v", a, c, b)
				}},
		}
		for _, c := range checks {
			rows, err := tx.Query(c.q)
			if err != nil {
				return err
			}
			for rows.Next() {
				var a, b, x any
				if err := rows.Scan(&a, &b, &x); err != nil {
					rows.Close()
					return err
				}
				if s, ok := a.([]byte); ok {
					a = string(s)
				}
				r.Violations = append(r.Violations, c.format(a, b, x))
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

// Balance returns the balance of the account with code, read outside any
// write transaction.
func Balance(ctx context.Context, d *db.DB, code string) (int64, error) {
	var b int64
	err := d.QueryRow(ctx, "SELECT balance FROM accounts WHERE code = ?", code).Scan(&b)
	if err != nil {
		return 0, fmt.Errorf("balance of %s: %w", code, err)
	}
	return b, nil
}
