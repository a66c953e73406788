package catalog

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"slices"
	"time"

	"kios/internal/db"
	"kios/internal/webhook"
)

// MaxPriceRows bounds the rows of one price_update message; more changes
// for a level are split over several messages.
const MaxPriceRows = 500

// PriceUpdateReference is the outbox reference of every price_update
// message. The outbox delivers a member's messages with one reference in
// the order they were written, so one shared reference means an older
// price never arrives after a newer one.
const PriceUpdateReference = "price_update"

// PriceChange is one product whose selling price for a member level
// changed. Old is 0 when the product had no price for the level before.
type PriceChange struct {
	Level       string
	ProductCode string
	Old, New    int64
}

// priceKey names one product's price for one level.
type priceKey struct {
	product int64
	level   string
}

// priceSnapshot is the selling price of some products for some levels
// (0 when there is none), and the products' codes.
type priceSnapshot struct {
	prices map[priceKey]int64
	codes  map[int64]string
}

// The product scopes whose prices a change can move: a condition on
// products p and its arguments.
const (
	scopeAll      = "1 = 1"
	scopeCode     = "p.code = ?"
	scopeSupplier = "p.id IN (SELECT product_id FROM product_skus WHERE supplier = ?)"
)

// levelsTx returns every level's code.
func levelsTx(tx *db.Tx) ([]string, error) {
	rows, err := tx.Query("SELECT code FROM levels ORDER BY rank, code")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// pricesTx reads, inside tx, the selling price for each of levels of every
// product in scope, by the same rule as Product (resolvePrice). Whether a
// product or its provider is switched on does not enter: it is the price,
// not whether it can be ordered.
func pricesTx(tx *db.Tx, scope string, args []any, levels []string) (priceSnapshot, error) {
	snap := priceSnapshot{prices: map[priceKey]int64{}, codes: map[int64]string{}}
	rules := map[string]*Rule{}
	rows, err := tx.Query("SELECT level, percent_bp, flat FROM price_rules")
	if err != nil {
		return snap, err
	}
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.Level, &r.PercentBP, &r.Flat); err != nil {
			rows.Close()
			return snap, err
		}
		rules[r.Level] = &r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, err
	}
	explicit := map[priceKey]int64{}
	rows, err = tx.Query(`SELECT pp.product_id, pp.level, pp.price FROM product_prices pp
		JOIN products p ON p.id = pp.product_id WHERE `+scope, args...)
	if err != nil {
		return snap, err
	}
	for rows.Next() {
		var k priceKey
		var price int64
		if err := rows.Scan(&k.product, &k.level, &price); err != nil {
			rows.Close()
			return snap, err
		}
		explicit[k] = price
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, err
	}
	rows, err = tx.Query(`SELECT p.id, p.code,
		(SELECT s.cost FROM product_skus s WHERE s.product_id = p.id AND s.active ORDER BY s.priority LIMIT 1)
		FROM products p WHERE `+scope, args...)
	if err != nil {
		return snap, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var code string
		var cost sql.NullInt64
		if err := rows.Scan(&id, &code, &cost); err != nil {
			return snap, err
		}
		snap.codes[id] = code
		for _, level := range levels {
			k := priceKey{id, level}
			snap.prices[k], _ = resolvePrice(explicit[k], rules[level], cost.Int64)
		}
	}
	return snap, rows.Err()
}

// priceChanges compares two snapshots of the same scope and returns, by
// level and product code, every price that is now set and differs from
// before. A price that went away (the product has none for the level any
// more) is not reported: a price_update row carries a price to sell at,
// and the product listing shows what cannot be ordered.
func priceChanges(before, after priceSnapshot) []PriceChange {
	var out []PriceChange
	for k, now := range after.prices {
		if was := before.prices[k]; now > 0 && now != was {
			out = append(out, PriceChange{Level: k.level, ProductCode: after.codes[k.product], Old: was, New: now})
		}
	}
	slices.SortFunc(out, func(a, b PriceChange) int {
		return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.ProductCode, b.ProductCode))
	})
	return out
}

// priceRow is one row of a price_update message.
type priceRow struct {
	ProductCode string `json:"product_code"`
	PriceOld    int64  `json:"price_old"`
	PriceNew    int64  `json:"price_new"`
}

// priceMessage is the price_update webhook, in the references' shape.
type priceMessage struct {
	Type string     `json:"webhook_type"`
	Data []priceRow `json:"data"`
}

// notifyPrices writes, inside tx, the price_update messages for changes
// (sorted by level, as priceChanges returns them): per level, messages of
// at most MaxPriceRows rows to every member of that level who has a webhook
// URL.
func (s *Store) notifyPrices(tx *db.Tx, changes []PriceChange, now time.Time) error {
	for len(changes) > 0 {
		level := changes[0].Level
		n := 0
		for n < len(changes) && n < MaxPriceRows && changes[n].Level == level {
			n++
		}
		msg := priceMessage{Type: webhook.KindPriceUpdate, Data: make([]priceRow, n)}
		for i, c := range changes[:n] {
			msg.Data[i] = priceRow{ProductCode: c.ProductCode, PriceOld: c.Old, PriceNew: c.New}
		}
		body, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		if err := webhook.EnqueueLevel(tx, level, webhook.KindPriceUpdate, PriceUpdateReference, body, now); err != nil {
			return err
		}
		changes = changes[n:]
	}
	return nil
}

// repriced runs change inside tx between two snapshots of the prices of
// the products in scope for levels, and writes the price_update messages
// for what it moved. It returns the changes.
func (s *Store) repriced(tx *db.Tx, scope string, args []any, levels []string, now time.Time, change func() error) ([]PriceChange, error) {
	before, err := pricesTx(tx, scope, args, levels)
	if err != nil {
		return nil, err
	}
	if err := change(); err != nil {
		return nil, err
	}
	after, err := pricesTx(tx, scope, args, levels)
	if err != nil {
		return nil, err
	}
	changes := priceChanges(before, after)
	if len(changes) > 0 {
		if err := s.notifyPrices(tx, changes, now); err != nil {
			return nil, err
		}
		if s.Notify != nil {
			tx.AfterCommit(s.Notify)
		}
	}
	return changes, nil
}
