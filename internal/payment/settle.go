package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/reference"
)

// ErrNoMatch reports that no invoice of the store may be paid by the
// amount at the time it was received. It is not a fault of the caller: the
// money is kept as unmatched.
var ErrNoMatch = errors.New("payment: no invoice of the store waits for this amount")

// Payment is money received on a store's QRIS channel.
type Payment struct {
	StoreID    int64
	Amount     int64
	ReceivedAt time.Time
	By         string // who reports it: "incoming:<id>", an operator, …
}

// PayTx pays, inside tx, the one invoice of p.StoreID whose total is
// p.Amount and that could be paid when the money was received: created
// by then, and not yet past its grace period. An invoice paid after its
// expired_at is marked late. In the same transaction the store's owner is
// credited the total minus the invoice's fee (world:qris:<store> → owner,
// fee → revenue), the invoice's total is freed, and a payment_status
// message for the store's callback URL joins the outbox.
//
// ErrNoMatch when no invoice qualifies (also when the amount is that of an
// invoice already paid: money is never credited twice by guesswork).
// PayTx is MatchTx followed by SettleTx.
func (s *Service) PayTx(tx *db.Tx, p Payment) (Invoice, error) {
	m, err := s.MatchTx(tx, p)
	if err != nil {
		return Invoice{}, err
	}
	return m.Invoice, s.SettleTx(tx, &m, p.By)
}

// Match is the invoice a payment pays, found by MatchTx and not yet
// settled.
type Match struct {
	Invoice  Invoice
	callback string
	at       time.Time // when the money was received, as the invoice records it
}

// MatchTx finds, inside tx and without writing, the one invoice that p
// pays (see PayTx); ErrNoMatch when there is none. Its caller settles it
// with SettleTx in the same transaction, or not at all; p.By is not read.
func (s *Service) MatchTx(tx *db.Tx, p Payment) (Match, error) {
	now := s.clock()
	at := p.ReceivedAt.UTC().Truncate(time.Microsecond)
	if at.IsZero() || at.After(now) {
		at = now
	}
	// At most one invoice qualifies: the totals an invoice holds from its
	// creation to its held_until are its alone (invoice_totals).
	m := Match{at: at}
	var err error
	m.Invoice, err = scanInvoice(tx.QueryRow(`SELECT `+invoiceCols+`, s.callback_url FROM invoices i JOIN stores s ON s.id = i.store_id
		WHERE i.store_id = ? AND i.total_amount = ? AND i.status IN ('unpaid', 'expired')
		AND i.created_at <= ? AND i.held_until > ? ORDER BY i.id DESC LIMIT 1`,
		p.StoreID, p.Amount, at.UnixMicro(), at.UnixMicro()), &m.callback)
	if errors.Is(err, db.ErrNotFound) {
		return Match{}, ErrNoMatch
	}
	if err != nil {
		return Match{}, err
	}
	return m, nil
}

// SettleTx pays, inside tx, the invoice MatchTx found, reported by by, as
// PayTx describes; m.Invoice becomes the paid invoice. When another
// payment settled it first it fails with a fault.Conflict without a field:
// the caller's transaction must be undone and may be tried again.
func (s *Service) SettleTx(tx *db.Tx, m *Match, by string) error {
	return s.settle(tx, &m.Invoice, m.callback, m.at, by, s.clock())
}

// settle marks inv paid at at and moves its money.
func (s *Service) settle(tx *db.Tx, inv *Invoice, callback string, at time.Time, by string, now time.Time) error {
	late := !at.Before(inv.ExpiredAt)
	n, err := tx.ExecAffected(`UPDATE invoices SET status = 'paid', late = ?, paid_by = ?, paid_at = ?, status_at = ?
		WHERE id = ? AND status IN ('unpaid', 'expired')`, late, by, at.UnixMicro(), now.UnixMicro(), inv.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return fault.New(fault.Conflict, "invoice %s was paid at the same moment by another payment", inv.Invoice)
	}
	inv.Status, inv.Late, inv.PaidBy, inv.PaidAt = Paid, late, by, at
	if _, err := tx.Exec(`DELETE FROM invoice_totals WHERE store_id = ? AND total_amount = ? AND invoice = ?`,
		inv.StoreID, inv.Total, inv.Invoice); err != nil {
		return err
	}
	world, err := s.account(tx, QRISAccount(inv.StoreID), ledger.KindWorld, true)
	if err != nil {
		return err
	}
	owner, err := s.account(tx, ledger.MemberCode(inv.MemberID), ledger.KindMember, false)
	if err != nil {
		return err
	}
	postings := []ledger.Posting{{Account: world, Amount: -inv.Total}}
	if net := inv.Total - inv.Fee; net > 0 {
		postings = append(postings, ledger.Posting{Account: owner, Amount: net})
	}
	if inv.Fee > 0 {
		rev, err := s.account(tx, ledger.Stripe(ledger.Revenue, inv.Invoice), ledger.KindSystem, false)
		if err != nil {
			return err
		}
		postings = append(postings, ledger.Posting{Account: rev, Amount: inv.Fee})
	}
	if _, err := ledger.Post(tx, ledger.Entry{Kind: "payment", Reference: inv.Invoice, Memo: "paid by " + by,
		Postings: postings}, now); err != nil {
		return err
	}
	if callback == "" || s.opt.Hooks == nil {
		return nil
	}
	body, err := json.Marshal(StatusMessage(*inv))
	if err != nil {
		return err
	}
	if err := s.opt.Hooks.EnqueueTo(tx, inv.MemberID, KindPaymentStatus, inv.Invoice, callback, body, now); err != nil {
		return err
	}
	tx.AfterCommit(s.opt.Hooks.Poke)
	return nil
}

// account returns the id of a ledger account, creating it once. A member's
// account exists with the member; asking for a missing one is an error.
func (s *Service) account(tx *db.Tx, code, kind string, allowNegative bool) (int64, error) {
	if id, ok := s.accounts.Load(code); ok {
		return id.(int64), nil
	}
	var id int64
	if kind == ledger.KindMember {
		a, err := ledger.AccountByCode(tx, code)
		if err != nil {
			return 0, err
		}
		id = a.ID
	} else {
		var err error
		if id, err = ledger.EnsureAccount(tx, code, kind, allowNegative, s.clock()); err != nil {
			return 0, err
		}
	}
	tx.AfterCommit(func() { s.accounts.Store(code, id) })
	return id, nil
}

// Message is the payment_status webhook's body.
type Message struct {
	Type       string `json:"webhook_type"`
	Invoice    string `json:"invoice"`
	StoreID    int64  `json:"store_id"`
	Status     string `json:"status"`
	Amount     int64  `json:"amount"`
	UniqueCode int64  `json:"unique_code"`
	Total      int64  `json:"total_amount"`
	PaidAt     string `json:"paid_at"`
}

// StatusMessage returns the payment_status message of a paid invoice.
func StatusMessage(inv Invoice) Message {
	return Message{Type: KindPaymentStatus, Invoice: inv.Invoice, StoreID: inv.StoreID, Status: inv.Status,
		Amount: inv.Amount, UniqueCode: inv.UniqueCode, Total: inv.Total, PaidAt: FormatTime(inv.PaidAt)}
}

// FormatTime renders t as the payment face does: WIB, "YYYY-MM-DD
// HH:MM:SS"; "" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(reference.WIB).Format(time.DateTime)
}

// expiryBatch bounds how many invoices one write expires.
const expiryBatch = 200

// ExpireDue marks every unpaid invoice whose expired_at has passed as
// expired (its status time is its expired_at) and returns how many. Each
// is a guarded update, safe beside concurrent payments and other kios
// processes on one PostgreSQL. The total stays held until held_until.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	total := 0
	for {
		n := 0
		err := s.db.Write(ctx, func(tx *db.Tx) error {
			claim := `SELECT id FROM invoices WHERE status = 'unpaid' AND expired_at <= ? ORDER BY expired_at LIMIT ?`
			if tx.Dialect() == db.Postgres {
				claim += " FOR UPDATE SKIP LOCKED"
			}
			m, err := tx.ExecAffected(`UPDATE invoices SET status = 'expired', status_at = expired_at
				WHERE id IN (`+claim+`) AND status = 'unpaid'`, s.clock().UnixMicro(), expiryBatch)
			n = int(m)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < expiryBatch {
			return total, nil
		}
	}
}

// RunExpiry expires due invoices now and then every interval until ctx
// ends. Errors are logged and the loop goes on.
func (s *Service) RunExpiry(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.ExpireDue(ctx); err != nil {
			if ctx.Err() == nil {
				s.opt.Logger.ErrorContext(ctx, "payment: expiring invoices", "err", err)
			}
		} else if n > 0 {
			s.opt.Logger.InfoContext(ctx, "payment: invoices expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// String describes a payment for logs.
func (p Payment) String() string {
	return fmt.Sprintf("store %d amount %d at %s", p.StoreID, p.Amount, p.ReceivedAt.Format(time.RFC3339))
}
