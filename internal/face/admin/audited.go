package admin

import (
	"context"
	"strconv"
	"time"

	"kios/internal/db"
	"kios/internal/funding"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/webhook"
)

// The audited changes: each calls its domain function with the hook that
// records the operator's one audit entry in the same transaction. The
// operator API's handlers and the operator console (internal/web) both
// call these, so that a decision taken in either leaves the same audit
// row and no rule exists twice.

// Decide takes op's decision (funding.Accept or funding.Reject) on the
// waiting deposit or withdrawal ref, with comment, and records it.
func Decide(ctx context.Context, funds *funding.Service, now func() time.Time, op operator.Operator,
	ref, action, comment string) (funding.Transaction, error) {
	return decide(ctx, funds, now, op, ref, action, comment)
}

// AdjustBalance changes member m's balance by hand for op (direction
// member.Credit or member.Debit) and records it.
func AdjustBalance(ctx context.Context, members *member.Store, now func() time.Time, op operator.Operator,
	m member.Member, direction string, amount int64, comment string) (member.Adjustment, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return member.Adjustment{}, err
	}
	return members.Adjust(ctx, m.ID, direction, amount, op.Username, comment,
		func(tx *db.Tx, a member.Adjustment) error {
			e := entry(op, now(), "member.adjust", "member", m.Username, comment)
			return record(e, map[string]any{"balance": a.Before},
				map[string]any{"balance": a.After, "direction": a.Direction, "amount": a.Amount, "reference": a.Reference})(tx)
		})
}

// ResolveStuck settles the processing order ref by op's decision (status
// order.Success with sn, or order.Failed, which refunds) and records it.
func ResolveStuck(ctx context.Context, orders *order.Service, now func() time.Time, op operator.Operator,
	ref, status, sn, comment string) (order.Order, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return order.Order{}, err
	}
	return orders.Resolve(ctx, ref, status, sn, op.Username, func(tx *db.Tx, before, after order.Order) error {
		type state struct {
			Status string `json:"status"`
			SN     string `json:"sn,omitempty"`
			Price  int64  `json:"price"`
		}
		return record(entry(op, now(), "order.resolve", "order", ref, comment),
			state{before.Status, before.SN, before.Price}, state{after.Status, after.SN, after.Price})(tx)
	})
}

// RedeliverMessage puts the delivered or failed webhook message id back in
// the outbox for op and records it. A pending message is
// webhook.ErrNotRedeliverable, an unknown one db.ErrNotFound.
func RedeliverMessage(ctx context.Context, hooks *webhook.Service, now func() time.Time, op operator.Operator,
	id int64, comment string) error {
	comment, err := checkComment(comment)
	if err != nil {
		return err
	}
	return hooks.RedeliverWith(ctx, id, func(tx *db.Tx, before string) error {
		return record(entry(op, now(), "webhook.redeliver", "webhook", strconv.FormatInt(id, 10), comment),
			map[string]string{"status": before}, map[string]string{"status": webhook.StatusPending})(tx)
	})
}
