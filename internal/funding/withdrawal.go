package funding

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/ledger"
	"kios/internal/reference"
)

// WithdrawalRequest is what a member asks to withdraw.
type WithdrawalRequest struct {
	Amount        int64
	Bank          string // a bank code: bca, bni, bri, mandiri, or a configured one
	AccountNumber string // 5 to 20 digits; spaces and dashes are ignored
	AccountName   string // the account holder, at most 64 characters
	// PartnerReference is the member's optional key (at most 64
	// characters): within 24 hours the same key with the same request
	// returns the first withdrawal, with a different request is refused.
	PartnerReference string
}

// normalize trims the request and checks every field; each fault names its
// field as the prepaid face spells it.
func (r *WithdrawalRequest) normalize() error {
	r.Bank = strings.ToLower(strings.TrimSpace(r.Bank))
	r.AccountNumber = strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(r.AccountNumber))
	r.AccountName = strings.TrimSpace(r.AccountName)
	r.PartnerReference = strings.TrimSpace(r.PartnerReference)
	if r.Amount <= 0 {
		return fault.Field(fault.Invalid, "amount", "must be a positive whole number of rupiah")
	}
	if r.Bank == "" {
		return fault.Field(fault.Missing, "bank", "is required")
	}
	if !ValidBankCode(r.Bank) {
		return fault.Field(fault.Invalid, "bank", "unknown bank %q", r.Bank)
	}
	if r.AccountNumber == "" {
		return fault.Field(fault.Missing, "account_number", "is required")
	}
	if !accountNumberRE.MatchString(r.AccountNumber) {
		return fault.Field(fault.Invalid, "account_number", "must be 5 to 20 digits")
	}
	if err := checkText("account_name", r.AccountName, 64); err != nil {
		return err
	}
	if r.PartnerReference != "" {
		if err := checkText("partner_reference", r.PartnerReference, 64); err != nil {
			return err
		}
	}
	return nil
}

// hash identifies the request's content for the partner_reference check.
func (r WithdrawalRequest) hash() string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s\x00%s\x00%s", r.Amount, r.Bank, r.AccountNumber, r.AccountName))
	return hex.EncodeToString(h[:])
}

// Withdraw records a withdrawal by member memberID and, in the same
// transaction, holds its amount (member → system:payout, kind
// "withdrawal"); it then waits as processing for an operator.
//
// replayed is true when r.PartnerReference named a withdrawal of the same
// request within the last 24 hours: that withdrawal is returned as it is
// now and nothing new is written. The same key with a different request is
// a fault.Conflict about "partner_reference"; identical requests at the
// same instant make one withdrawal.
//
// Faults: a field fails validation (Field names it); the bank is unknown;
// the balance does not cover the amount (fault.Insufficient, nothing
// written).
func (s *Service) Withdraw(ctx context.Context, memberID int64, r WithdrawalRequest) (t Transaction, replayed bool, err error) {
	if err := r.normalize(); err != nil {
		return Transaction{}, false, err
	}
	hash := r.hash()
	for range 3 {
		err = s.db.Write(ctx, func(tx *db.Tx) error {
			t, replayed = Transaction{}, false
			now := s.clock()
			name, err := withdrawalBank(tx, r.Bank)
			if err != nil {
				return err
			}
			member, err := memberAccount(tx, memberID)
			if err != nil {
				return err
			}
			ref := reference.New(s.opt.WithdrawPrefix, now)
			if r.PartnerReference != "" {
				prior, err := claimKey(tx, memberID, r.PartnerReference, ref, hash, now)
				if err != nil {
					return err
				}
				if prior != "" {
					t, err = scanWithdrawal(tx.QueryRow("SELECT "+withdrawalCols+" FROM withdrawals WHERE reference = ?", prior))
					replayed = err == nil
					return err
				}
			}
			t = Transaction{
				Type: TypeWithdraw, Reference: ref, PartnerReference: r.PartnerReference, MemberID: memberID,
				Provider: "WITHDRAW", Product: withdrawProduct(r.Amount), Channel: r.Bank, Via: name,
				Amount: r.Amount, Price: r.Amount, AccountNumber: r.AccountNumber, AccountName: r.AccountName,
				Status: Processing, CreatedAt: now, StatusAt: now,
			}
			if _, err := tx.Exec(`INSERT INTO withdrawals (reference, member_id, partner_reference, amount, bank, bank_name,
				account_number, account_name, status, created_at, status_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'processing', ?, ?)`,
				ref, memberID, r.PartnerReference, r.Amount, r.Bank, name, r.AccountNumber, r.AccountName,
				now.UnixMicro(), now.UnixMicro()); err != nil {
				return err
			}
			payout, err := ledger.AccountByCode(tx, ledger.Payout)
			if err != nil {
				return err
			}
			if _, err := ledger.Transfer(tx, "withdrawal", ref, member, payout.ID, r.Amount, now); err != nil {
				if errors.Is(err, ledger.ErrInsufficientFunds) {
					return &fault.Error{Code: fault.Insufficient, Field: "amount", Detail: "the balance does not cover the amount", Err: err}
				}
				return err
			}
			return recordStatus(tx, ref, Processing, now, memberActor(memberID), "")
		})
		// A conflict here can only be a reference drawn twice (the key is
		// claimed without one): draw again.
		if !errors.Is(err, db.ErrConflict) {
			break
		}
	}
	if err != nil {
		return Transaction{}, false, err
	}
	return t, replayed, nil
}

// claimKey binds the member's partner_reference pr to the new withdrawal
// ref, or returns the reference of the withdrawal it is already bound to
// within the window when that one was made by the same request (hash); a
// different request is a fault.Conflict. Concurrent claims of one key are
// serialised by its primary key: on PostgreSQL the INSERT waits for the
// first claimer's commit, then finds its row.
func claimKey(tx *db.Tx, memberID int64, pr, ref, hash string, now time.Time) (string, error) {
	for range 3 {
		n, err := tx.ExecAffected(`INSERT INTO withdrawal_keys (member_id, partner_reference, reference, request_hash, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id, partner_reference) DO NOTHING`,
			memberID, pr, ref, hash, now.UnixMicro())
		if err != nil || n == 1 {
			return "", err
		}
		var prior, priorHash string
		var created int64
		if err := tx.QueryRow(`SELECT reference, request_hash, created_at FROM withdrawal_keys
			WHERE member_id = ? AND partner_reference = ?`, memberID, pr).Scan(&prior, &priorHash, &created); err != nil {
			if errors.Is(err, db.ErrNotFound) {
				continue // removed meanwhile; claim it again
			}
			return "", err
		}
		if created > now.Add(-partnerWindow).UnixMicro() {
			if priorHash != hash {
				return "", fault.Field(fault.Conflict, "partner_reference", "was used within 24 hours for a different request (%s)", prior)
			}
			return prior, nil
		}
		// The binding is older than the window: the key is free again.
		// The guard on created_at makes one of two concurrent takers win.
		n, err = tx.ExecAffected(`UPDATE withdrawal_keys SET reference = ?, request_hash = ?, created_at = ?
			WHERE member_id = ? AND partner_reference = ? AND created_at = ?`,
			ref, hash, now.UnixMicro(), memberID, pr, created)
		if err != nil || n == 1 {
			return "", err
		}
	}
	return "", fault.Field(fault.Conflict, "partner_reference", "is being used by concurrent requests; try again")
}

// withdrawalBank returns the display name of a bank members may withdraw
// to: a known bank, or one of the platform's configured ones.
func withdrawalBank(tx *db.Tx, code string) (string, error) {
	if n, ok := knownBanks[code]; ok {
		return n, nil
	}
	b, err := bankTx(tx, code)
	if errors.Is(err, db.ErrNotFound) {
		return "", fault.Field(fault.Invalid, "bank", "unknown bank %q", code)
	}
	return b.Name, err
}

// AcceptWithdrawal records that the operator by paid the withdrawal out:
// it becomes success and the held amount leaves (system:payout →
// world:bank:<bank>, kind "payout"). A withdrawal that is no longer
// processing is a fault.Conflict; of two concurrent decisions exactly one
// moves money.
func (s *Service) AcceptWithdrawal(ctx context.Context, ref, by string) (Transaction, error) {
	by, err := actor(by)
	if err != nil {
		return Transaction{}, err
	}
	return s.decideWithdrawal(ctx, ref, Success, "", func(tx *db.Tx, t *Transaction, payout int64, now time.Time) error {
		world, err := ledger.EnsureAccount(tx, ledger.BankCode(t.Channel), ledger.KindWorld, true, now)
		if err != nil {
			return err
		}
		if _, err := ledger.Post(tx, ledger.Entry{Kind: "payout", Reference: t.Reference, Memo: "accepted by " + by,
			Postings: []ledger.Posting{{Account: payout, Amount: -t.Amount}, {Account: world, Amount: t.Amount}}}, now); err != nil {
			return err
		}
		return recordStatus(tx, t.Reference, Success, now, by, "")
	})
}

// RejectWithdrawal records that the operator by refused the withdrawal:
// it becomes failed with the reason and the held amount returns to the
// member (system:payout → member, kind "withdrawal_return"). A withdrawal
// that is no longer processing is a fault.Conflict.
func (s *Service) RejectWithdrawal(ctx context.Context, ref, by, reason string) (Transaction, error) {
	by, err := actor(by)
	if err != nil {
		return Transaction{}, err
	}
	reason, err = checkReason(reason, "Ditolak")
	if err != nil {
		return Transaction{}, err
	}
	return s.decideWithdrawal(ctx, ref, Failed, reason, func(tx *db.Tx, t *Transaction, payout int64, now time.Time) error {
		member, err := memberAccount(tx, t.MemberID)
		if err != nil {
			return err
		}
		if _, err := ledger.Post(tx, ledger.Entry{Kind: "withdrawal_return", Reference: t.Reference, Memo: "rejected by " + by,
			Postings: []ledger.Posting{{Account: payout, Amount: -t.Amount}, {Account: member, Amount: t.Amount}}}, now); err != nil {
			return err
		}
		return recordStatus(tx, t.Reference, Failed, now, by, reason)
	})
}

// decideWithdrawal moves the processing withdrawal ref to status by a
// guarded update, then runs move, all in one write.
func (s *Service) decideWithdrawal(ctx context.Context, ref, status, reason string,
	move func(tx *db.Tx, t *Transaction, payout int64, now time.Time) error) (Transaction, error) {
	var t Transaction
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		now := s.clock()
		var err error
		t, err = scanWithdrawal(tx.QueryRow("SELECT "+withdrawalCols+" FROM withdrawals WHERE reference = ?", ref))
		if errors.Is(err, db.ErrNotFound) {
			return fault.New(fault.NotFound, "no withdrawal %q", ref)
		}
		if err != nil {
			return err
		}
		if t.Status != Processing {
			return alreadyDecided("withdrawal", t)
		}
		n, err := tx.ExecAffected(`UPDATE withdrawals SET status = ?, reason = ?, status_at = ?
			WHERE reference = ? AND status = 'processing'`, status, reason, now.UnixMicro(), ref)
		if err != nil {
			return err
		}
		if n == 0 {
			return fault.New(fault.Conflict, "withdrawal %s was decided at the same moment by someone else", ref)
		}
		t.Status, t.Reason, t.StatusAt = status, reason, now
		payout, err := ledger.AccountByCode(tx, ledger.Payout)
		if err != nil {
			return err
		}
		if err := move(tx, &t, payout.ID, now); err != nil {
			return err
		}
		return s.notify(tx, t, now)
	})
	if err != nil {
		return Transaction{}, err
	}
	return t, nil
}
