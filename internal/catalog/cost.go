package catalog

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// CostResult is what ApplyCosts did.
type CostResult struct {
	// Updated counts the SKU rows whose cost changed (one supplier SKU may
	// deliver several products).
	Updated int
	// Unknown lists, sorted, the SKUs given that no product of the catalog
	// has for this supplier; they are ignored.
	Unknown []string
	// Rejected lists, sorted, the SKUs whose new cost was not 1 to
	// MaxMoney rupiah; their cost is left as it was.
	Rejected []string
	// Deactivated lists, sorted, the codes of the products switched off
	// because no active SKU can deliver them at a level's price any more.
	Deactivated []string
	// Prices are the selling prices that moved, by level and product code;
	// the members of each level were sent these as price_update webhooks.
	Prices []PriceChange
}

// ApplyCosts records a supplier's new costs, keyed by the supplier's SKU
// code (what its price list or price_update webhook names product_code), in
// one transaction:
//
//   - the cost of every product SKU of supplier with that code is set; SKUs
//     the catalog does not have are reported in Unknown, and a cost outside
//     1 to MaxMoney is not applied and is reported in Rejected, so that one
//     bad row of a supplier's feed does not hold back the others;
//   - selling prices that come from a level's Rule follow the cost of the
//     product's first active SKU, as they always do; explicit prices stay;
//   - a product that is switched on and one of whose SKUs changed cost is
//     switched off when, for some level that has a price for it, even its
//     cheapest active SKU now costs more than that price: it could only be
//     sold at a loss there. It is not switched on again by a later fall in
//     cost; an operator decides that (SetProductActive);
//   - the members of each level get price_update webhooks for the prices
//     that moved (see priceChanges), at most MaxPriceRows rows per message.
//
// Repeating a call with the same costs changes nothing and sends nothing.
// A missing supplier name is fault.Missing about "supplier".
func (s *Store) ApplyCosts(ctx context.Context, supplier string, costs map[string]int64) (CostResult, error) {
	supplier = strings.TrimSpace(supplier)
	if supplier == "" {
		return CostResult{}, fault.Field(fault.Missing, "supplier", "is required")
	}
	var res CostResult
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		res = CostResult{}
		now := s.clock()
		levels, err := levelsTx(tx)
		if err != nil {
			return err
		}
		type skuRow struct {
			id, product, cost int64
		}
		known := map[string][]skuRow{}
		rows, err := tx.Query("SELECT id, product_id, sku, cost FROM product_skus WHERE supplier = ?", supplier)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r skuRow
			var sku string
			if err := rows.Scan(&r.id, &r.product, &sku, &r.cost); err != nil {
				rows.Close()
				return err
			}
			known[sku] = append(known[sku], r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		touched := map[int64]bool{}
		res.Prices, err = s.repriced(tx, scopeSupplier, []any{supplier}, levels, now, func() error {
			for _, sku := range slices.Sorted(maps.Keys(costs)) {
				cost := costs[sku]
				rs, ok := known[sku]
				switch {
				case !ok:
					res.Unknown = append(res.Unknown, sku)
					continue
				case cost <= 0 || cost > MaxMoney:
					res.Rejected = append(res.Rejected, sku)
					continue
				}
				for _, r := range rs {
					if r.cost == cost {
						continue
					}
					if _, err := tx.Exec("UPDATE product_skus SET cost = ?, updated_at = ? WHERE id = ?",
						cost, now.UnixMicro(), r.id); err != nil {
						return err
					}
					res.Updated++
					touched[r.product] = true
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.Deactivated, err = deactivateLossMaking(tx, touched, levels, now)
		return err
	})
	if err != nil {
		return CostResult{}, err
	}
	return res, nil
}

// deactivateLossMaking switches off each product of ids that is on and
// whose cheapest active SKU costs more than its price for some level that
// has one, and returns their codes, sorted.
func deactivateLossMaking(tx *db.Tx, ids map[int64]bool, levels []string, now time.Time) ([]string, error) {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		var code string
		var active bool
		var cheapest *int64
		if err := tx.QueryRow(`SELECT p.code, p.active,
			(SELECT MIN(s.cost) FROM product_skus s WHERE s.product_id = p.id AND s.active)
			FROM products p WHERE p.id = ?`, id).Scan(&code, &active, &cheapest); err != nil {
			return nil, err
		}
		if !active || cheapest == nil {
			continue
		}
		snap, err := pricesTx(tx, "p.id = ?", []any{id}, levels)
		if err != nil {
			return nil, err
		}
		loss := false
		for _, level := range levels {
			if p := snap.prices[priceKey{id, level}]; p > 0 && *cheapest > p {
				loss = true
			}
		}
		if !loss {
			continue
		}
		if _, err := tx.Exec("UPDATE products SET active = FALSE, updated_at = ? WHERE id = ?", now.UnixMicro(), id); err != nil {
			return nil, err
		}
		out = append(out, code)
	}
	slices.Sort(out)
	return out, nil
}
