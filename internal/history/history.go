// Package history lists a member's transactions of every type (orders,
// deposits and withdrawals) in one list, newest first, with filters: what
// the member dashboard shows. It only reads; each domain package keeps its
// own rules and writes.
package history

import (
	"context"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// Types of entries.
const (
	Order    = "order"
	Deposit  = "deposit"
	Withdraw = "withdraw"
)

// Types lists every type, in the order a filter offers them.
var Types = []string{Order, Deposit, Withdraw}

// Statuses lists every status any type may have.
var Statuses = []string{"unpaid", "processing", "success", "failed", "refund", "expired"}

// MaxLimit bounds how many entries one List returns.
const MaxLimit = 200

// Entry is one transaction in the list.
type Entry struct {
	Type      string
	Reference string
	Product   string // the product's name; for funding, the channel or bank
	Price     int64  // what the member paid or gets, in rupiah
	Status    string
	CreatedAt time.Time
}

// Filter narrows List. Zero fields do not filter.
type Filter struct {
	Type   string    // one of Types
	Status string    // one of Statuses
	From   time.Time // created at or after
	Until  time.Time // created before
	Limit  int       // at most MaxLimit; 0 means 50
}

// Validate checks the filter's values and returns a fault about the first
// bad one.
func (f Filter) Validate() error {
	if f.Type != "" && !contains(Types, f.Type) {
		return fault.Field(fault.Invalid, "type", "unknown type %q", f.Type)
	}
	if f.Status != "" && !contains(Statuses, f.Status) {
		return fault.Field(fault.Invalid, "status", "unknown status %q", f.Status)
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return fault.Field(fault.Invalid, "limit", "must be from 1 to %d", MaxLimit)
	}
	if !f.From.IsZero() && !f.Until.IsZero() && !f.From.Before(f.Until) {
		return fault.Field(fault.Invalid, "until", "must be after the start")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Reader reads members' transactions.
type Reader struct{ db *db.DB }

// NewReader returns a Reader on d.
func NewReader(d *db.DB) *Reader { return &Reader{db: d} }

// parts are the SELECTs of each type, with the same columns.
var parts = map[string]string{
	Order:    "SELECT 'order' AS type, reference, product_name AS product, price, status, created_at FROM orders WHERE member_id = ?",
	Deposit:  "SELECT 'deposit' AS type, reference, via AS product, price, status, created_at FROM deposits WHERE member_id = ?",
	Withdraw: "SELECT 'withdraw' AS type, reference, bank_name AS product, amount AS price, status, created_at FROM withdrawals WHERE member_id = ?",
}

// List returns member memberID's transactions that pass f, newest first.
func (r *Reader) List(ctx context.Context, memberID int64, f Filter) ([]Entry, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	var (
		selects []string
		args    []any
	)
	for _, typ := range Types {
		if f.Type != "" && f.Type != typ {
			continue
		}
		q := parts[typ]
		args = append(args, memberID)
		if f.Status != "" {
			q += " AND status = ?"
			args = append(args, f.Status)
		}
		if !f.From.IsZero() {
			q += " AND created_at >= ?"
			args = append(args, f.From.UnixMicro())
		}
		if !f.Until.IsZero() {
			q += " AND created_at < ?"
			args = append(args, f.Until.UnixMicro())
		}
		// Each part is cut at Limit before the union, so the union sorts
		// at most Limit rows per type.
		selects = append(selects, "SELECT * FROM ("+q+" ORDER BY created_at DESC LIMIT ?) AS part_"+typ)
		args = append(args, f.Limit)
	}
	args = append(args, f.Limit)
	rows, err := r.db.Query(ctx, strings.Join(selects, " UNION ALL ")+" ORDER BY created_at DESC, reference DESC LIMIT ?", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var created int64
		if err := rows.Scan(&e.Type, &e.Reference, &e.Product, &e.Price, &e.Status, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
