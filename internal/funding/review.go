package funding

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"kios/internal/db"
	"kios/internal/fault"
)

// The review queue: deposits and withdrawals waiting for a person, as the
// operator API lists and decides them.

// Decisions an operator can take on a waiting transaction.
const (
	Accept = "accept"
	Reject = "reject"
)

// StatusWaiting selects, in a ReviewFilter, what waits for a person:
// unpaid deposits and processing withdrawals.
const StatusWaiting = "waiting"

// DecisionHook runs inside the transaction of a decision, after the status
// change and the movement of money, with the transaction as it was before
// and as it is after; an error undoes the whole decision.
type DecisionHook func(tx *db.Tx, before, after Transaction) error

type decisionHookKey struct{}

// runDecisionHook runs the hook Decide put in ctx, if any. The hook travels
// in the context so that every decision path (Confirm, Reject,
// AcceptWithdrawal, RejectWithdrawal) runs it without a second copy of
// their rules.
func runDecisionHook(ctx context.Context, tx *db.Tx, before, after Transaction) error {
	if h, ok := ctx.Value(decisionHookKey{}).(DecisionHook); ok && h != nil {
		return h(tx, before, after)
	}
	return nil
}

// maxRejectComment bounds a rejection's comment, which becomes the reason
// shown to the member.
const maxRejectComment = 200

// Decide takes an operator's decision on a waiting deposit or withdrawal
// and runs also (when not nil) in the same transaction: accept confirms a
// deposit (its price is credited) or pays a withdrawal out; reject closes a
// deposit as expired or returns a withdrawal's held amount, with comment as
// the reason. by is the operator's username.
//
// It is exactly-once: a transaction that no longer waits is a
// fault.Conflict and moves no money, also when two decisions arrive at the
// same instant. An unknown reference is fault.NotFound.
func (s *Service) Decide(ctx context.Context, ref, action, by, comment string, also DecisionHook) (Transaction, error) {
	ref = strings.TrimSpace(ref)
	action = strings.ToLower(strings.TrimSpace(action))
	if action != Accept && action != Reject {
		return Transaction{}, fault.Field(fault.Invalid, "action", "must be accept or reject")
	}
	if action == Reject && utf8.RuneCountInString(strings.TrimSpace(comment)) > maxRejectComment {
		return Transaction{}, fault.Field(fault.Invalid, "comment",
			"a rejection's comment is shown to the member as the reason and may be at most %d characters", maxRejectComment)
	}
	ctx = context.WithValue(ctx, decisionHookKey{}, also)
	deposit := strings.HasPrefix(ref, s.opt.DepositPrefix)
	withdrawal := strings.HasPrefix(ref, s.opt.WithdrawPrefix)
	switch {
	case deposit && action == Accept:
		return s.Confirm(ctx, ref, by)
	case deposit:
		return s.Reject(ctx, ref, by, comment)
	case withdrawal && action == Accept:
		return s.AcceptWithdrawal(ctx, ref, by)
	case withdrawal:
		return s.RejectWithdrawal(ctx, ref, by, comment)
	}
	return Transaction{}, fault.New(fault.NotFound, "no deposit or withdrawal %q", ref)
}

// ReviewFilter selects transactions for the review queue; zero fields
// select everything.
type ReviewFilter struct {
	Type        string // TypeDeposit or TypeWithdraw
	Status      string // StatusWaiting, a status, or "" for every status
	Via         string // the deposit channel or the withdrawal's bank code
	AccountName string // a part of the account holder's name, any case
	Member      string // the member's username
	From, To    time.Time
}

// ReviewItem is a transaction in the review queue, with its member's
// username.
type ReviewItem struct {
	Transaction
	Username string
}

// ReviewPage is one page of the review queue.
type ReviewPage struct {
	Items []ReviewItem
	Total int64 // rows the filter selects
	Sum   int64 // the sum of their prices
}

// reviewUnion is every deposit and withdrawal in one shape.
const reviewUnion = `(SELECT 'deposit' AS kind, d.reference AS reference, d.member_id AS member_id, m.username AS username,
		d.status AS status, d.created_at AS created_at, d.amount AS amount, d.unique_code AS unique_code, d.price AS price,
		d.channel AS channel, d.via AS via, d.dest_account_number AS account_number, d.dest_account_name AS account_name,
		d.reason AS reason, d.status_at AS status_at, d.expired_at AS expired_at
	FROM deposits d JOIN members m ON m.id = d.member_id
	UNION ALL
	SELECT 'withdraw', w.reference, w.member_id, m.username, w.status, w.created_at, w.amount, 0, w.amount,
		w.bank, w.bank_name, w.account_number, w.account_name, w.reason, w.status_at, 0
	FROM withdrawals w JOIN members m ON m.id = w.member_id) q`

// Review returns a page of the review queue, newest first: limit rows
// after skipping offset, with the count and the price total of all the
// rows f selects, read from one snapshot.
func (s *Service) Review(ctx context.Context, f ReviewFilter, limit, offset int) (ReviewPage, error) {
	var where []string
	var args []any
	switch f.Type {
	case "":
	case TypeDeposit, TypeWithdraw:
		where, args = append(where, "q.kind = ?"), append(args, f.Type)
	default:
		return ReviewPage{}, fault.Field(fault.Invalid, "type", "must be deposit or withdraw")
	}
	switch f.Status {
	case "":
	case StatusWaiting:
		where = append(where, "((q.kind = 'deposit' AND q.status = 'unpaid') OR (q.kind = 'withdraw' AND q.status = 'processing'))")
	case Unpaid, Processing, Success, Failed, Expired:
		where, args = append(where, "q.status = ?"), append(args, f.Status)
	default:
		return ReviewPage{}, fault.Field(fault.Invalid, "status", "must be waiting, unpaid, processing, success, failed or expired")
	}
	if f.Via != "" {
		where, args = append(where, "q.channel = ?"), append(args, strings.ToLower(f.Via))
	}
	if f.AccountName != "" {
		where = append(where, `LOWER(q.account_name) LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(strings.ToLower(f.AccountName))+"%")
	}
	if f.Member != "" {
		where, args = append(where, "q.username = ?"), append(args, strings.ToLower(f.Member))
	}
	if !f.From.IsZero() {
		where, args = append(where, "q.created_at >= ?"), append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		where, args = append(where, "q.created_at < ?"), append(args, f.To.UnixMicro())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var p ReviewPage
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		p = ReviewPage{}
		if err := tx.QueryRow("SELECT COUNT(*), COALESCE(SUM(q.price), 0) FROM "+reviewUnion+cond, args...).
			Scan(&p.Total, &p.Sum); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT q.kind, q.reference, q.member_id, q.username, q.status, q.created_at, q.amount,
			q.unique_code, q.price, q.channel, q.via, q.account_number, q.account_name, q.reason, q.status_at, q.expired_at
			FROM `+reviewUnion+cond+" ORDER BY q.created_at DESC, q.reference DESC LIMIT ? OFFSET ?",
			append(args, limit, offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var it ReviewItem
			var created, statusAt, expired int64
			if err := rows.Scan(&it.Type, &it.Reference, &it.MemberID, &it.Username, &it.Status, &created, &it.Amount,
				&it.UniqueCode, &it.Price, &it.Channel, &it.Via, &it.AccountNumber, &it.AccountName, &it.Reason,
				&statusAt, &expired); err != nil {
				return err
			}
			it.CreatedAt = time.UnixMicro(created).UTC()
			it.StatusAt = time.UnixMicro(statusAt).UTC()
			if it.Type == TypeDeposit {
				it.Provider, it.Product = "DEPOSIT", depositProduct(it.Amount)
				it.ExpiredAt = time.UnixMicro(expired).UTC()
			} else {
				it.Provider, it.Product = "WITHDRAW", withdrawProduct(it.Amount)
			}
			p.Items = append(p.Items, it)
		}
		return rows.Err()
	})
	return p, err
}

// likeEscaper makes a search text match itself literally in a LIKE
// pattern with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)
