package order

import (
	"context"
	"errors"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
)

// What operators do with orders: list them (stuck ones in particular),
// settle a stuck one by hand, and count them per day.

// Filter selects orders for List; zero fields select all.
type Filter struct {
	Status   string // Processing, Success, Failed, or "" for all
	Stuck    bool   // only orders processing longer than the configured bound
	Member   string // the member's username
	From, To time.Time
}

// Listed is an order with its member's username.
type Listed struct {
	Order
	Username string
}

// List returns the orders f selects, oldest first when f.Stuck (the
// longest waiting first), newest first otherwise; limit of them after
// skipping offset, with how many there are and the sum of their prices.
func (s *Service) List(ctx context.Context, f Filter, limit, offset int) (items []Listed, total, sum int64, err error) {
	var where []string
	var args []any
	order := " ORDER BY o.created_at DESC, o.id DESC"
	if f.Stuck {
		// The literal status lets both databases use orders_processing.
		where = append(where, "o.status = 'processing'", "o.created_at <= ?")
		args = append(args, s.now().Add(-s.cfg.StuckAfter).UnixMicro())
		order = " ORDER BY o.created_at, o.id"
	}
	if f.Status != "" {
		where, args = append(where, "o.status = ?"), append(args, f.Status)
	}
	if f.Member != "" {
		where, args = append(where, "m.username = ?"), append(args, strings.ToLower(f.Member))
	}
	if !f.From.IsZero() {
		where, args = append(where, "o.created_at >= ?"), append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		where, args = append(where, "o.created_at < ?"), append(args, f.To.UnixMicro())
	}
	from := " FROM orders o JOIN members m ON m.id = o.member_id"
	if len(where) > 0 {
		from += " WHERE " + strings.Join(where, " AND ")
	}
	cols := "o." + strings.ReplaceAll(strings.Join(strings.Fields(orderColumns), " "), ", ", ", o.")
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		items = nil
		if err := tx.QueryRow("SELECT COUNT(*), COALESCE(SUM(o.price), 0)"+from, args...).Scan(&total, &sum); err != nil {
			return err
		}
		rows, err := tx.Query("SELECT "+cols+", m.username"+from+order+" LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l Listed
			var created, statusAt, expired int64
			o := &l.Order
			if err := rows.Scan(&o.ID, &o.Reference, &o.PartnerReference, &o.MemberID, &o.ProductCode, &o.ProductName,
				&o.ProviderName, &o.Customer, &o.Price, &o.Status, &o.SN, &o.Note, &o.Supplier, &o.Cost, &o.WebhookSent,
				&created, &statusAt, &expired, &l.Username); err != nil {
				return err
			}
			o.CreatedAt = time.UnixMicro(created).UTC()
			o.StatusAt = time.UnixMicro(statusAt).UTC()
			o.ExpiredAt = time.UnixMicro(expired).UTC()
			items = append(items, l)
		}
		return rows.Err()
	})
	return items, total, sum, err
}

// maxSN bounds a serial number an operator types.
const maxSN = 200

// Resolve settles the processing order ref by an operator's decision,
// through the same bookings as the fulfilment worker: Success with sn pays
// the supplier the job's cost and books the margin as revenue; Failed
// returns the price to the member. Either way the job leaves the queue, an
// event records by and the member's transaction_status webhook is written;
// also (when not nil) runs in the same transaction with the order before
// and after.
//
// An order that is no longer processing is a fault.Conflict and nothing
// moves (also when the worker settles it at the same instant); an unknown
// reference is fault.NotFound.
func (s *Service) Resolve(ctx context.Context, ref, status, sn, by string, also func(tx *db.Tx, before, after Order) error) (Order, error) {
	sn = strings.TrimSpace(sn)
	switch status {
	case Success:
		if sn == "" {
			return Order{}, fault.Field(fault.Missing, "sn", "a successful order needs its serial number")
		}
		if len(sn) > maxSN {
			return Order{}, fault.Field(fault.Invalid, "sn", "is longer than %d bytes", maxSN)
		}
	case Failed:
		sn = ""
	default:
		return Order{}, fault.Field(fault.Invalid, "status", "must be success or failed")
	}
	var after Order
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.now()
		before, err := scanOrder(tx.QueryRow("SELECT "+orderColumns+" FROM orders WHERE reference = ?", ref))
		if errors.Is(err, db.ErrNotFound) {
			return fault.New(fault.NotFound, "no order %s", ref)
		}
		if err != nil {
			return err
		}
		if before.Status != Processing {
			return fault.New(fault.Conflict, "order %s is already %s", ref, before.Status)
		}
		j := job{orderID: before.ID, reference: before.Reference, price: before.Price, member: before.MemberID,
			partner: before.PartnerReference, supplier: before.Supplier, cost: before.Cost}
		err = tx.QueryRow("SELECT supplier, cost FROM fulfilment_jobs WHERE order_id = ?", before.ID).Scan(&j.supplier, &j.cost)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return err
		}
		if err := tx.QueryRow("SELECT m.account_id, o.inflight FROM orders o JOIN members m ON m.id = o.member_id WHERE o.id = ?",
			before.ID).Scan(&j.account, &j.inflight); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM fulfilment_jobs WHERE order_id = ?", before.ID); err != nil {
			return err
		}
		n, err := tx.ExecAffected(`UPDATE orders SET status = ?, sn = ?, note = ?, supplier = ?, cost = ?, status_at = ?
			WHERE id = ? AND status = ?`, status, sn, note(status, now), j.supplier, j.cost, now.UnixMicro(), before.ID, Processing)
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.New(fault.Conflict, "order %s was settled at the same moment", ref)
		}
		detail := "resolved by " + by
		if sn != "" {
			detail += ": " + sn
		}
		if _, err := tx.Exec("INSERT INTO order_events (order_id, status, supplier, detail, at) VALUES (?, ?, ?, ?, ?)",
			before.ID, status, j.supplier, truncate(detail, 500), now.UnixMicro()); err != nil {
			return err
		}
		if err := s.notify(tx, j, status, sn, note(status, now), now); err != nil {
			return err
		}
		after = before
		after.Status, after.SN, after.Note, after.Supplier, after.Cost, after.StatusAt =
			status, sn, note(status, now), j.supplier, j.cost, now.UTC()
		if status == Success {
			err = s.postSuccess(tx, j, now)
		} else {
			err = s.refund(tx, j, now)
		}
		if err != nil || also == nil {
			return err
		}
		return also(tx, before, after)
	})
	if err != nil {
		return Order{}, err
	}
	return after, nil
}

// refund returns a failed order's price from inflight to the member, as
// failOver does when no supplier is left.
func (s *Service) refund(tx *db.Tx, j job, now time.Time) error {
	inflight, err := s.inflightOf(tx, j)
	if err != nil {
		return err
	}
	_, err = ledger.Transfer(tx, "order_refund", j.reference, inflight, j.account, j.price, now)
	return err
}

// DayStat is one day's orders of one status.
type DayStat struct {
	Day    string // YYYY-MM-DD in WIB
	Status string
	Count  int64
	Sum    int64 // the sum of prices
}

// SupplierStat is how a supplier did: orders it settled, and how many of
// those succeeded.
type SupplierStat struct {
	Supplier string
	Settled  int64
	Success  int64
}

// Rate is the share of settled orders that succeeded, 0 to 1.
func (s SupplierStat) Rate() float64 {
	if s.Settled == 0 {
		return 0
	}
	return float64(s.Success) / float64(s.Settled)
}

const (
	wibOffsetMicros = int64(7 * time.Hour / time.Microsecond)
	dayMicros       = int64(24 * time.Hour / time.Microsecond)
)

// Stats counts the orders created in [from, to) per WIB day and status,
// with their price sums, and per supplier how many it settled and how many
// succeeded.
func (s *Service) Stats(ctx context.Context, from, to time.Time) (days []DayStat, sups []SupplierStat, err error) {
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		days, sups = nil, nil
		rows, err := tx.Query(`SELECT (created_at + ?) / ? AS day, status, COUNT(*), COALESCE(SUM(price), 0)
			FROM orders WHERE created_at >= ? AND created_at < ? GROUP BY day, status ORDER BY day, status`,
			wibOffsetMicros, dayMicros, from.UnixMicro(), to.UnixMicro())
		if err != nil {
			return err
		}
		for rows.Next() {
			var d DayStat
			var day int64
			if err := rows.Scan(&day, &d.Status, &d.Count, &d.Sum); err != nil {
				rows.Close()
				return err
			}
			d.Day = time.UnixMicro(day * dayMicros).UTC().Format(time.DateOnly)
			days = append(days, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(`SELECT supplier, COUNT(*), COALESCE(SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END), 0)
			FROM orders WHERE created_at >= ? AND created_at < ? AND status IN ('success', 'failed') AND supplier <> ''
			GROUP BY supplier ORDER BY supplier`, from.UnixMicro(), to.UnixMicro())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st SupplierStat
			if err := rows.Scan(&st.Supplier, &st.Settled, &st.Success); err != nil {
				return err
			}
			sups = append(sups, st)
		}
		return rows.Err()
	})
	return days, sups, err
}
