package catalog

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// Customer-number rules of e-wallet products.
const (
	// RuleMSISDN accepts an Indonesian mobile number written 08…, 628… or
	// +628… and stores it as 08… with 10 to 13 digits.
	RuleMSISDN = "msisdn"
)

// EwalletMinAmount is the smallest top-up any e-wallet product may allow.
const EwalletMinAmount = 1000

// Ewallet is an e-wallet top-up product: a catalog product whose amount is
// chosen by the buyer within bounds, sold for the amount plus an admin fee
// that depends on the member's level, and delivered through supplier SKUs
// whose cost is a fee per top-up.
type Ewallet struct {
	ID       int64
	Code     string
	Name     string
	Operator string // GoPay, OVO, …
	// Active is true when the product and its provider are both switched on.
	Active       bool
	MinAmount    int64
	MaxAmount    int64
	CustomerRule string
	// Fees is the admin fee by level; a level without one cannot buy it.
	Fees map[string]int64
	// SKUs deliver the product, by priority; SKU.Cost is the supplier's fee.
	SKUs []SKU
}

// Fee returns the admin fee for level and whether the level may buy the
// product.
func (e Ewallet) Fee(level string) (int64, bool) {
	f, ok := e.Fees[level]
	return f, ok
}

// CheckAmount returns nil when amount is within the product's bounds, else
// fault.BelowMinimum or fault.AboveMaximum about "amount".
func (e Ewallet) CheckAmount(amount int64) error {
	switch {
	case amount < e.MinAmount:
		return fault.Field(fault.BelowMinimum, "amount", "the amount must be at least %d", e.MinAmount)
	case amount > e.MaxAmount:
		return fault.Field(fault.AboveMaximum, "amount", "the amount must be at most %d", e.MaxAmount)
	}
	return nil
}

// NormalizeCustomer checks cust_id against the product's customer-number
// rule and returns it as it is stored; fault.Invalid about "cust_id" when it
// does not fit.
func (e Ewallet) NormalizeCustomer(s string) (string, error) {
	switch e.CustomerRule {
	case RuleMSISDN:
		if n, ok := NormalizeMSISDN(s); ok {
			return n, nil
		}
		return "", fault.Field(fault.Invalid, "cust_id", "cust_id must be an Indonesian mobile number (08…, 628… or +628…)")
	}
	return "", fault.Field(fault.Invalid, "cust_id", "product %s has an unknown customer-number rule", e.Code)
}

// NormalizeMSISDN returns an Indonesian mobile number written as 08…, 628…
// or +628… in its stored form, 08…, and whether it is one: after
// normalising it must be 10 to 13 digits. Spaces and dashes between digits
// are ignored; anything else that is not a digit is refused.
func NormalizeMSISDN(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 32 {
		return "", false
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case (r == ' ' || r == '-') && i > 0:
		default:
			return "", false
		}
	}
	d := b.String()
	plus := strings.HasPrefix(s, "+")
	switch {
	case plus && strings.HasPrefix(d, "628"):
		d = "0" + d[2:]
	case plus:
		return "", false
	case strings.HasPrefix(d, "628"):
		d = "0" + d[2:]
	case !strings.HasPrefix(d, "08"):
		return "", false
	}
	if len(d) < 10 || len(d) > 13 {
		return "", false
	}
	return d, true
}

// NewEwallet is the input of AddEwallet.
type NewEwallet struct {
	Code         string
	Name         string
	Provider     string // the operator's provider code; its name is the operator
	Active       bool
	MinAmount    int64
	MaxAmount    int64
	CustomerRule string
	Fees         map[string]int64
	SKUs         []SKU // Cost is the supplier's fee per top-up
}

// AddEwallet creates an e-wallet product. The product is created switched
// off and only switched on (when asked) in the write that records its
// e-wallet attributes, so it can never be sold half-made.
func (s *Store) AddEwallet(ctx context.Context, ne NewEwallet) (int64, error) {
	switch {
	case ne.MinAmount < EwalletMinAmount:
		return 0, fault.Field(fault.Invalid, "min_amount", "must be at least %d", EwalletMinAmount)
	case ne.MaxAmount < ne.MinAmount || ne.MaxAmount > MaxMoney:
		return 0, fault.Field(fault.Invalid, "max_amount", "must be between min_amount and %d", int64(MaxMoney))
	case ne.CustomerRule != RuleMSISDN:
		return 0, fault.Field(fault.Invalid, "customer_rule", "must be %q", RuleMSISDN)
	case len(ne.SKUs) == 0:
		return 0, fault.Field(fault.Missing, "skus", "an e-wallet product needs a supplier SKU")
	}
	for level, fee := range ne.Fees {
		if fee < 0 || fee > MaxMoney {
			return 0, fault.Field(fault.Invalid, "fees", "the fee for %q must be 0 to %d rupiah", level, int64(MaxMoney))
		}
	}
	// normalizeSKUs wants a positive cost; a fee may be 0.
	probe := slices.Clone(ne.SKUs)
	for i := range probe {
		if probe[i].Cost < 0 || probe[i].Cost > MaxMoney {
			return 0, fault.Field(fault.Invalid, "skus", "SKU %d: the fee must be 0 to %d rupiah", i+1, int64(MaxMoney))
		}
		probe[i].Cost++
	}
	skus, err := normalizeSKUs(probe)
	if err != nil {
		return 0, err
	}
	for i := range skus {
		skus[i].Cost--
	}
	id, err := s.AddProduct(ctx, NewProduct{Code: ne.Code, Name: ne.Name, Provider: ne.Provider, Active: false})
	if err != nil {
		return 0, err
	}
	now := s.clock().UnixMicro()
	defer s.invalidate()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		for level := range ne.Fees {
			if err := checkLevel(tx, "fees", level); err != nil {
				return err
			}
		}
		var operator string
		if err := tx.QueryRow("SELECT v.name FROM products p JOIN providers v ON v.id = p.provider_id WHERE p.id = ?", id).Scan(&operator); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO ewallet_products (product_id, operator, min_amount, max_amount, customer_rule, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, id, operator, ne.MinAmount, ne.MaxAmount, ne.CustomerRule, now); err != nil {
			return err
		}
		for level, fee := range ne.Fees {
			if _, err := tx.Exec("INSERT INTO ewallet_fees (product_id, level, fee, updated_at) VALUES (?, ?, ?, ?)", id, level, fee, now); err != nil {
				return err
			}
		}
		for _, k := range skus {
			if _, err := tx.Exec(`INSERT INTO ewallet_skus (product_id, supplier, sku, priority, fee, active, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, id, k.Supplier, k.SKU, k.Priority, k.Cost, k.Active, now); err != nil {
				return err
			}
		}
		_, err := tx.Exec("UPDATE products SET active = ?, updated_at = ? WHERE id = ?", ne.Active, now, id)
		return err
	})
	return id, err
}

type ewalletEntry struct {
	e       Ewallet
	found   bool
	gen     uint64
	expires time.Time
}

var errNoEwallet = fault.Field(fault.NotFound, "product_id", "no such e-wallet product")

// Ewallet returns the e-wallet product with code; fault.NotFound about
// "product_id" when there is none (also when code is a product of another
// kind). It is on the hot path of every PPOB call, so it is served from a
// cache that follows the same rules as Product's (see Store), including
// for codes that are not e-wallet products.
func (s *Store) Ewallet(ctx context.Context, code string) (Ewallet, error) {
	gen := s.gen.Load()
	if v, ok := s.ewallets.Load(code); ok {
		en := v.(*ewalletEntry)
		if en.gen == gen && s.now().Before(en.expires) {
			if !en.found {
				return Ewallet{}, errNoEwallet
			}
			return en.e.clone(), nil
		}
	}
	list, err := s.loadEwallets(ctx, code)
	if err != nil {
		return Ewallet{}, err
	}
	en := &ewalletEntry{gen: gen, expires: s.now().Add(cacheTTL), found: len(list) == 1}
	if en.found {
		en.e = list[0]
	}
	if len(code) <= 64 {
		s.ewallets.Store(code, en)
	}
	if !en.found {
		return Ewallet{}, errNoEwallet
	}
	return en.e.clone(), nil
}

// Ewallets lists every e-wallet product, by operator then code.
func (s *Store) Ewallets(ctx context.Context) ([]Ewallet, error) {
	return s.loadEwallets(ctx, "")
}

func (e Ewallet) clone() Ewallet {
	e.SKUs = slices.Clone(e.SKUs)
	fees := make(map[string]int64, len(e.Fees))
	for k, v := range e.Fees {
		fees[k] = v
	}
	e.Fees = fees
	return e
}

// loadEwallets reads the e-wallet product with code, or all when code is
// "", on one snapshot.
func (s *Store) loadEwallets(ctx context.Context, code string) ([]Ewallet, error) {
	var out []Ewallet
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		out = nil
		q := `SELECT p.id, p.code, p.name, p.active AND v.active, e.operator, e.min_amount, e.max_amount, e.customer_rule
			FROM ewallet_products e JOIN products p ON p.id = e.product_id JOIN providers v ON v.id = p.provider_id`
		args := []any{}
		if code != "" {
			q += " WHERE p.code = ?"
			args = append(args, code)
		}
		rows, err := tx.Query(q+" ORDER BY e.operator, p.code", args...)
		if err != nil {
			return err
		}
		byID := map[int64]int{}
		for rows.Next() {
			var e Ewallet
			if err := rows.Scan(&e.ID, &e.Code, &e.Name, &e.Active, &e.Operator, &e.MinAmount, &e.MaxAmount, &e.CustomerRule); err != nil {
				rows.Close()
				return err
			}
			e.Fees = map[string]int64{}
			byID[e.ID] = len(out)
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(out) == 0 {
			return err
		}
		filter, fargs := "", []any{}
		if code != "" {
			filter, fargs = " WHERE product_id = ?", []any{out[0].ID}
		}
		rows, err = tx.Query("SELECT product_id, level, fee FROM ewallet_fees"+filter, fargs...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, fee int64
			var level string
			if err := rows.Scan(&id, &level, &fee); err != nil {
				rows.Close()
				return err
			}
			if i, ok := byID[id]; ok {
				out[i].Fees[level] = fee
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query("SELECT product_id, supplier, sku, priority, fee, active FROM ewallet_skus"+filter+" ORDER BY product_id, priority", fargs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var k SKU
			if err := rows.Scan(&id, &k.Supplier, &k.SKU, &k.Priority, &k.Cost, &k.Active); err != nil {
				return err
			}
			if i, ok := byID[id]; ok {
				out[i].SKUs = append(out[i].SKUs, k)
			}
		}
		return rows.Err()
	})
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	return out, err
}
