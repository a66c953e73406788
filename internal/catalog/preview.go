package catalog

import (
	"context"
	"encoding/json"
	"errors"

	"kios/internal/db"
	"kios/internal/webhook"
)

// PriceRecipient is a member who would get price_update webhooks from a
// price change, and how many rows they would list in all.
type PriceRecipient struct {
	Member string
	Level  string
	Rows   int
}

// PricePreview is what a bulk price change would do: the prices that
// would move and the members who would be told, by username.
type PricePreview struct {
	Changes    []PriceChange
	Recipients []PriceRecipient
}

// errDryRun rolls back the transaction of a preview.
var errDryRun = errors.New("catalog: dry run")

// PreviewPrices reports what SetPrices(sets, rules) would do now without
// doing it: it runs the very same change in a transaction, reads the
// prices that moved and the price_update messages the change wrote to the
// outbox, and rolls everything back. Its faults are SetPrices'.
func (s *Store) PreviewPrices(ctx context.Context, sets []PriceSet, rules []Rule) (PricePreview, error) {
	var out PricePreview
	var last int64
	_, err := s.setPrices(ctx, sets, rules, func(tx *db.Tx) error {
		return tx.QueryRow("SELECT COALESCE(MAX(id), 0) FROM webhook_messages").Scan(&last)
	}, func(tx *db.Tx, moved []PriceChange) error {
		out.Changes = moved
		var err error
		if out.Recipients, err = priceUpdatesSince(tx, last); err != nil {
			return err
		}
		return errDryRun
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return PricePreview{}, err
	}
	return out, nil
}

// priceUpdatesSince returns, per member, the rows of the price_update
// messages written in tx after message id last, in member order.
func priceUpdatesSince(tx *db.Tx, last int64) ([]PriceRecipient, error) {
	rows, err := tx.Query(`SELECT m.username, m.level, w.payload FROM webhook_messages w JOIN members m ON m.id = w.member_id
		WHERE w.id > ? AND w.kind = ? AND w.reference = ? ORDER BY m.username, w.id`,
		last, webhook.KindPriceUpdate, PriceUpdateReference)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PriceRecipient
	for rows.Next() {
		var r PriceRecipient
		var payload string
		if err := rows.Scan(&r.Member, &r.Level, &payload); err != nil {
			return nil, err
		}
		var msg priceMessage
		if err := json.Unmarshal([]byte(payload), &msg); err != nil {
			return nil, err
		}
		r.Rows = len(msg.Data)
		if n := len(out); n > 0 && out[n-1].Member == r.Member {
			out[n-1].Rows += r.Rows
			continue
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
