package payment

import (
	"context"
	"errors"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// Filter selects invoices for List. Its zero value selects every invoice.
type Filter struct {
	StoreID  int64     // 0: every store
	Member   string    // the store owner's username; "": every member
	Status   string    // "" or "all", or Unpaid, Paid or Expired as StatusAt judges them now
	From, To time.Time // created_at in [From, To); a zero bound is open
}

// Listed is an invoice as List returns it, with its owner's username.
type Listed struct {
	Invoice
	Member string
}

// where returns f as SQL conditions on invoices i and members m, with
// their arguments, judging expiry at now.
func (f Filter) where(now time.Time) (string, []any, error) {
	var conds []string
	var args []any
	if f.StoreID < 0 {
		return "", nil, fault.Field(fault.Invalid, "store", "must be a positive whole number")
	}
	if f.StoreID > 0 {
		conds, args = append(conds, "i.store_id = ?"), append(args, f.StoreID)
	}
	if f.Member != "" {
		conds, args = append(conds, "m.username = ?"), append(args, f.Member)
	}
	switch f.Status {
	case "", "all":
	case Unpaid:
		conds, args = append(conds, "i.status = 'unpaid' AND i.expired_at > ?"), append(args, now.UnixMicro())
	case Paid:
		conds = append(conds, "i.status = 'paid'")
	case Expired:
		conds, args = append(conds, "(i.status = 'expired' OR i.status = 'unpaid' AND i.expired_at <= ?)"), append(args, now.UnixMicro())
	default:
		return "", nil, fault.Field(fault.Invalid, "status", "must be one of all, paid, unpaid, expired")
	}
	if !f.From.IsZero() {
		conds, args = append(conds, "i.created_at >= ?"), append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "i.created_at < ?"), append(args, f.To.UnixMicro())
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// List returns the invoices f selects, newest first, limit of them from
// offset, with how many f selects in all and the sum of their
// total_amount, all read from one snapshot. A status or store that
// cannot be is a fault.Invalid about "status" or "store".
func (s *Service) List(ctx context.Context, f Filter, limit, offset int) (rows []Listed, total, sumAll int64, err error) {
	where, args, err := f.where(s.clock())
	if err != nil {
		return nil, 0, 0, err
	}
	const from = " FROM invoices i JOIN stores s ON s.id = i.store_id JOIN members m ON m.id = i.member_id"
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		rows = nil
		if err := tx.QueryRow("SELECT COUNT(*), COALESCE(SUM(i.total_amount), 0)"+from+where, args...).Scan(&total, &sumAll); err != nil {
			return err
		}
		rs, err := tx.Query("SELECT "+invoiceCols+", m.username"+from+where+" ORDER BY i.id DESC LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var l Listed
			if l.Invoice, err = scanInvoice(rs, &l.Member); err != nil {
				return err
			}
			rows = append(rows, l)
		}
		return rs.Err()
	})
	return rows, total, sumAll, err
}

// InvoiceTx returns, inside tx, invoice number ref of store storeID as a
// Match for SettleTx, the money received at at: an operator's assignment
// of money that matched nothing by itself. It must be unpaid or expired
// (at any time: the operator judges) and its total must be amount.
//
// Faults, about "reference": no such invoice of the store is
// fault.NotFound; a paid one fault.Conflict; another total fault.Invalid.
func (s *Service) InvoiceTx(tx *db.Tx, storeID int64, ref string, amount int64, at time.Time) (Match, error) {
	m := Match{at: at.UTC().Truncate(time.Microsecond)}
	inv, err := scanInvoice(tx.QueryRow(`SELECT `+invoiceCols+`, s.callback_url FROM invoices i JOIN stores s ON s.id = i.store_id
		WHERE i.invoice = ?`, strings.TrimSpace(ref)), &m.callback)
	if errors.Is(err, db.ErrNotFound) || err == nil && inv.StoreID != storeID {
		return Match{}, fault.Field(fault.NotFound, "reference", "store %d has no invoice %q", storeID, ref)
	}
	if err != nil {
		return Match{}, err
	}
	if inv.Status == Paid {
		return Match{}, fault.Field(fault.Conflict, "reference", "invoice %s is already paid", inv.Invoice)
	}
	if inv.Total != amount {
		return Match{}, fault.Field(fault.Invalid, "reference", "the money received, %d, is not invoice %s's total_amount %d", amount, inv.Invoice, inv.Total)
	}
	if m.at.IsZero() {
		m.at = s.clock()
	}
	m.Invoice = inv
	return m, nil
}
