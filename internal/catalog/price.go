package catalog

import (
	"math/bits"

	"kios/internal/fault"
)

// Money and markup bounds. MaxMoney keeps every price computation far
// from int64 overflow.
const (
	MaxMoney     = 1_000_000_000_000 // Rp 1 trillion
	MaxPercentBP = 100_000           // 1000 %
)

// Rule is a level's markup over cost, used for every product that has no
// explicit price for the level:
//
//	price = cost + ⌈cost × PercentBP / 10 000⌉ + Flat
//
// PercentBP is in basis points (hundredths of a percent: 250 = 2.5 %). The
// percentage part is rounded UP to the whole rupiah, so a markup is never
// less than asked: cost 1 372 at 2.5 % is 1 372 + ⌈34.3⌉ = 1 407.
type Rule struct {
	Level     string
	PercentBP int64
	Flat      int64
}

// Apply returns the price the rule gives for cost.
func (r Rule) Apply(cost int64) int64 {
	return cost + ceilDiv(cost*r.PercentBP, 10_000) + r.Flat
}

// validate checks the rule's bounds, so that Apply cannot overflow for any
// cost up to MaxMoney.
func (r Rule) validate() error {
	if r.PercentBP < 0 || r.PercentBP > MaxPercentBP {
		return fault.Field(fault.Invalid, "percent", "must be 0 to %d basis points", MaxPercentBP)
	}
	if r.Flat < 0 || r.Flat > MaxMoney {
		return fault.Field(fault.Invalid, "flat", "must be 0 to %d", int64(MaxMoney))
	}
	return nil
}

// ceilDiv returns ⌈a / b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b int64) int64 {
	q, r := bits.Div64(0, uint64(a), uint64(b))
	if r != 0 {
		q++
	}
	return int64(q)
}

// resolvePrice is the pricing rule in one place: an explicit price wins;
// otherwise the level's rule applied to the cost of the first active SKU in
// priority order; otherwise there is no price (0).
func resolvePrice(explicit int64, rule *Rule, firstCost int64) (int64, PriceSource) {
	switch {
	case explicit > 0:
		return explicit, PriceExplicit
	case rule != nil && firstCost > 0:
		return rule.Apply(firstCost), PriceRule
	}
	return 0, PriceNone
}
