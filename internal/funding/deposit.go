package funding

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/reference"
)

// ErrCodesExhausted is the fault when every unique code for an amount is
// taken by an open deposit on its channel (Field "amount"): the member can
// choose another amount, or wait until some are paid or expire.
var ErrCodesExhausted = &fault.Error{Code: fault.Conflict, Field: "amount",
	Detail: fmt.Sprintf("all %d unique codes for this amount on this channel are taken by open deposits; choose another amount", MaxCode)}

// allocAttempts bounds how often one deposit retries after losing a code
// to a concurrent deposit (PostgreSQL only; SQLite's writer is serial).
const allocAttempts = 100

// Deposit records an unpaid deposit of amount rupiah by member memberID
// through channel via (a configured, active bank code or "qris"). Its price
// is amount plus a unique code (1–999) that no other open deposit on the
// channel has, nor one that stopped being open within the grace period; it
// waits DepositLifetime for the money. No money moves.
//
// Faults: via missing or unknown (Field "via"); amount below the minimum
// (fault.BelowMinimum) or above the maximum (fault.AboveMaximum);
// ErrCodesExhausted.
func (s *Service) Deposit(ctx context.Context, memberID, amount int64, via string) (Transaction, error) {
	via = strings.ToLower(strings.TrimSpace(via))
	if via == "" {
		return Transaction{}, fault.Field(fault.Missing, "via", "is required")
	}
	if amount < s.opt.MinDeposit {
		return Transaction{}, fault.Field(fault.BelowMinimum, "amount", "the minimum is %d", s.opt.MinDeposit)
	}
	if amount > s.opt.MaxDeposit {
		return Transaction{}, fault.Field(fault.AboveMaximum, "amount", "the maximum is %d", s.opt.MaxDeposit)
	}
	var t Transaction
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		t = Transaction{}
		now := s.clock()
		ch, err := depositChannel(tx, via)
		if err != nil {
			return err
		}
		if _, err := memberAccount(tx, memberID); err != nil {
			return err
		}
		for range allocAttempts {
			free, err := s.freeCodes(tx, via, amount, now)
			if err != nil {
				return err
			}
			if len(free) == 0 {
				return ErrCodesExhausted
			}
			code := s.opt.PickCode(free)
			if _, ok := slices.BinarySearch(free, code); !ok {
				code = free[0]
			}
			t = Transaction{
				Type: TypeDeposit, Reference: reference.New(s.opt.DepositPrefix, now), MemberID: memberID,
				Provider: "DEPOSIT", Product: depositProduct(amount), Channel: via, Via: ch.Name,
				Amount: amount, UniqueCode: code, Price: amount + code,
				AccountNumber: ch.AccountNumber, AccountName: ch.AccountName,
				Status: Unpaid, CreatedAt: now, StatusAt: now, ExpiredAt: now.Add(s.opt.DepositLifetime),
			}
			// DO NOTHING: a concurrent deposit that took this price first
			// (the partial unique index) costs a retry, not the transaction.
			n, err := tx.ExecAffected(`INSERT INTO deposits (reference, member_id, channel, via, amount, unique_code, price,
				dest_account_number, dest_account_name, status, created_at, expired_at, status_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'unpaid', ?, ?, ?) ON CONFLICT DO NOTHING`,
				t.Reference, memberID, via, t.Via, amount, code, t.Price, t.AccountNumber, t.AccountName,
				now.UnixMicro(), t.ExpiredAt.UnixMicro(), now.UnixMicro())
			if err != nil {
				return err
			}
			if n == 1 {
				return recordStatus(tx, t.Reference, Unpaid, now, memberActor(memberID), "")
			}
		}
		return fmt.Errorf("funding: no unique code won after %d attempts", allocAttempts)
	})
	if err != nil {
		return Transaction{}, err
	}
	return t, nil
}

// depositChannel returns the destination of a deposit through via.
func depositChannel(tx *db.Tx, via string) (Bank, error) {
	if via == QRIS {
		return Bank{Code: QRIS, Name: BankName(QRIS), Active: true}, nil
	}
	b, err := bankTx(tx, via)
	if errors.Is(err, db.ErrNotFound) || err == nil && !b.Active {
		return Bank{}, fault.Field(fault.Invalid, "via", "no deposit channel %q", via)
	}
	return b, err
}

// freeCodes returns, sorted, the unique codes amount may take on channel:
// those whose price no open deposit has, nor one that stopped being open
// within the grace period.
func (s *Service) freeCodes(tx *db.Tx, channel string, amount int64, now time.Time) ([]int64, error) {
	taken := make([]bool, MaxCode+1)
	collect := func(q string, args ...any) error {
		rows, err := tx.Query(q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p); err != nil {
				return err
			}
			if c := p - amount; c >= MinCode && c <= MaxCode {
				taken[c] = true
			}
		}
		return rows.Err()
	}
	if err := collect(`SELECT price FROM deposits WHERE channel = ? AND status = 'unpaid' AND price > ? AND price <= ?`,
		channel, amount, amount+MaxCode); err != nil {
		return nil, err
	}
	if s.opt.ExpiredGrace > 0 {
		if err := collect(`SELECT price FROM deposits WHERE channel = ? AND status = 'expired' AND status_at > ?
			AND price > ? AND price <= ?`, channel, now.Add(-s.opt.ExpiredGrace).UnixMicro(), amount, amount+MaxCode); err != nil {
			return nil, err
		}
	}
	free := make([]int64, 0, MaxCode)
	for c := int64(MinCode); c <= MaxCode; c++ {
		if !taken[c] {
			free = append(free, c)
		}
	}
	return free, nil
}

// Confirm completes an unpaid deposit whose money has arrived: in one
// transaction the deposit becomes success and its whole price is credited
// to the member (world:bank:<channel> → member, kind "deposit"). by names
// who decided (an operator, the incoming-funds matcher, a command).
//
// Confirm is not idempotent: a deposit that is no longer unpaid, or whose
// expired_at has passed, is a fault.Conflict, so that of two concurrent
// confirmations exactly one credits and the other learns it did not.
// An unknown reference is fault.NotFound.
func (s *Service) Confirm(ctx context.Context, ref, by string) (Transaction, error) {
	by, err := actor(by)
	if err != nil {
		return Transaction{}, err
	}
	return s.decideDeposit(ctx, ref, func(tx *db.Tx, t *Transaction, now time.Time) error {
		if !now.Before(t.ExpiredAt) {
			return fault.New(fault.Conflict, "deposit %s expired at %s", t.Reference, t.ExpiredAt.Format(time.RFC3339))
		}
		if err := s.setDepositStatus(tx, t, Success, "", now); err != nil {
			return err
		}
		world, err := ledger.EnsureAccount(tx, ledger.BankCode(t.Channel), ledger.KindWorld, true, now)
		if err != nil {
			return err
		}
		member, err := memberAccount(tx, t.MemberID)
		if err != nil {
			return err
		}
		if _, err := ledger.Post(tx, ledger.Entry{Kind: "deposit", Reference: t.Reference, Memo: "confirmed by " + by,
			Postings: []ledger.Posting{{Account: world, Amount: -t.Price}, {Account: member, Amount: t.Price}}}, now); err != nil {
			return err
		}
		if err := s.notify(tx, *t, now); err != nil {
			return err
		}
		return recordStatus(tx, t.Reference, Success, now, by, "")
	})
}

// Reject closes an unpaid deposit for which no money came, on an
// operator's decision: it becomes expired (the lifecycle has no other end
// for an unpaid deposit) with the reason, and no money moves. A deposit
// that is no longer unpaid is a fault.Conflict.
func (s *Service) Reject(ctx context.Context, ref, by, reason string) (Transaction, error) {
	by, err := actor(by)
	if err != nil {
		return Transaction{}, err
	}
	reason, err = checkReason(reason, "Ditolak")
	if err != nil {
		return Transaction{}, err
	}
	return s.decideDeposit(ctx, ref, func(tx *db.Tx, t *Transaction, now time.Time) error {
		if err := s.setDepositStatus(tx, t, Expired, reason, now); err != nil {
			return err
		}
		if err := s.notify(tx, *t, now); err != nil {
			return err
		}
		return recordStatus(tx, t.Reference, Expired, now, by, reason)
	})
}

// decideDeposit reads the deposit ref inside one write, refuses it unless
// it is unpaid, and runs decide.
func (s *Service) decideDeposit(ctx context.Context, ref string, decide func(tx *db.Tx, t *Transaction, now time.Time) error) (Transaction, error) {
	var t Transaction
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.clock()
		var err error
		t, err = scanDeposit(tx.QueryRow("SELECT "+depositCols+" FROM deposits WHERE reference = ?", ref))
		if errors.Is(err, db.ErrNotFound) {
			return fault.New(fault.NotFound, "no deposit %q", ref)
		}
		if err != nil {
			return err
		}
		if t.Status != Unpaid {
			return alreadyDecided("deposit", t)
		}
		return decide(tx, &t, now)
	})
	if err != nil {
		return Transaction{}, err
	}
	return t, nil
}

// setDepositStatus moves t from unpaid to status by a guarded update; when
// a concurrent decision came first it is a fault.Conflict.
func (s *Service) setDepositStatus(tx *db.Tx, t *Transaction, status, reason string, now time.Time) error {
	n, err := tx.ExecAffected(`UPDATE deposits SET status = ?, reason = ?, status_at = ?
		WHERE reference = ? AND status = 'unpaid'`, status, reason, now.UnixMicro(), t.Reference)
	if err != nil {
		return err
	}
	if n == 0 {
		return fault.New(fault.Conflict, "deposit %s was decided at the same moment by someone else", t.Reference)
	}
	t.Status, t.Reason, t.StatusAt = status, reason, now
	return nil
}

// alreadyDecided is the fault for a decision on a transaction that no
// longer waits for one.
func alreadyDecided(kind string, t Transaction) error {
	return fault.New(fault.Conflict, "%s %s is already %s (since %s)", kind, t.Reference, t.Status,
		t.StatusAt.Format(time.RFC3339))
}

// checkReason trims an operator's reason; empty becomes def.
func checkReason(reason, def string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return def, nil
	}
	if err := checkText("reason", reason, 200); err != nil {
		return "", err
	}
	return reason, nil
}

func memberActor(memberID int64) string { return fmt.Sprintf("member:%d", memberID) }
