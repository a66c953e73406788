package incoming

import (
	"context"
	"errors"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// Listed is a record as List returns it.
type Listed struct {
	Record
	Result
	PostedBy  string
	CreatedAt time.Time
	DecidedAt time.Time
}

// List returns the records with status ("" for every status), newest
// first, limit of them from offset, with how many there are in all and the
// sum of their amounts, all read from one snapshot. Another status is a
// fault.Invalid about "status".
func (s *Service) List(ctx context.Context, status string, limit, offset int) (rows []Listed, total, sumAll int64, err error) {
	where, args := "", []any{}
	switch status {
	case "":
	case Matched, Unmatched, Matching:
		where, args = " WHERE status = ?", append(args, status)
	default:
		return nil, 0, 0, fault.Field(fault.Invalid, "status", "must be one of matched, unmatched, matching")
	}
	err = s.db.Read(ctx, func(tx *db.Tx) error {
		rows = nil
		if err := tx.QueryRow("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM incoming_funds"+where, args...).Scan(&total, &sumAll); err != nil {
			return err
		}
		rs, err := tx.Query(`SELECT id, channel, external_id, amount, received_at, note, status, reference, reason, posted_by,
			created_at, decided_at FROM incoming_funds`+where+" ORDER BY id DESC LIMIT ? OFFSET ?", append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var l Listed
			var received, created, decided int64
			if err := rs.Scan(&l.ID, &l.Channel, &l.ExternalID, &l.Amount, &received, &l.Note, &l.Status, &l.Reference,
				&l.Reason, &l.PostedBy, &created, &decided); err != nil {
				return err
			}
			l.ReceivedAt, l.CreatedAt, l.DecidedAt = time.UnixMicro(received).UTC(), time.UnixMicro(created).UTC(), time.UnixMicro(decided).UTC()
			rows = append(rows, l)
		}
		return rs.Err()
	})
	return rows, total, sumAll, err
}

// Assign pays invoice ref with unmatched record id, as an operator decided
// it: the record must be on the invoice's store's QRIS channel and its
// amount the invoice's total; the invoice may be unpaid or expired, even
// past its grace period (the operator judges). In one transaction the
// record becomes matched, the invoice is paid and settled as a match pays
// it (paid by the record, Actor(id)), and hook, when set, runs with the
// result (the operator API writes its audit entry there).
//
// Faults: no record is fault.NotFound about "id"; a record that is not
// unmatched fault.Conflict about "id"; a bank record fault.Invalid about
// "id" (deposits are confirmed through the review queue); the invoice's
// faults are those of payment.Service.InvoiceTx, about "reference".
func (s *Service) Assign(ctx context.Context, id int64, ref string, hook func(tx *db.Tx, res Result) error) (Result, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Result{}, fault.Field(fault.Missing, "reference", "the invoice to pay is required")
	}
	var res Result
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var rec Record
		var received int64
		res = Result{ID: id}
		err := tx.QueryRow("SELECT channel, amount, received_at, status FROM incoming_funds WHERE id = ?", id).
			Scan(&rec.Channel, &rec.Amount, &received, &res.Status)
		if errors.Is(err, db.ErrNotFound) {
			return fault.Field(fault.NotFound, "id", "no incoming record %d", id)
		}
		if err != nil {
			return err
		}
		if res.Status != Unmatched {
			return fault.Field(fault.Conflict, "id", "record %d is %s; only an unmatched record can be assigned", id, res.Status)
		}
		ch, err := parseChannel(rec.Channel)
		if err != nil {
			return err
		}
		if ch.store == 0 {
			return fault.Field(fault.Invalid, "id", "record %d is on %s; bank records complete deposits through the review queue", id, rec.Channel)
		}
		m, err := s.payments.InvoiceTx(tx, ch.store, ref, rec.Amount, time.UnixMicro(received))
		if err != nil {
			return err
		}
		n, err := tx.ExecAffected(`UPDATE incoming_funds SET status = 'matched', reference = ?, reason = '', decided_at = ?
			WHERE id = ? AND status = 'unmatched'`, m.Invoice.Invoice, s.now().UTC().UnixMicro(), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.Field(fault.Conflict, "id", "record %d was decided at the same moment", id)
		}
		if err := s.payments.SettleTx(tx, &m, Actor(id)); err != nil {
			return err
		}
		res.Status, res.Reference = Matched, m.Invoice.Invoice
		if hook != nil {
			return hook(tx, res)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}
