package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"kios/internal/db"
	"kios/internal/fault"
)

// What codes and names may look like. Codes appear in URL paths
// (/api/prepaid/product/{code}), so they are plain.
var (
	codePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	iconPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)
	supplierPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// NewProvider is the input of AddProvider.
type NewProvider struct {
	// ID is 0 to take the next id, or an id to keep, for a catalog imported
	// from another platform whose clients know its ids.
	ID       int64
	Code     string
	Name     string
	Active   bool
	Icon     string // a file name (no directories), or ""
	Position int64
	Forms    []Field
}

// NewProduct is the input of AddProduct.
type NewProduct struct {
	// ID is 0 to take the next id, or an id to keep (see NewProvider.ID).
	ID       int64
	Code     string
	Name     string
	Provider string // the provider's code
	Active   bool
	// SKUs deliver the product; a Priority of 0 means the SKU's place in
	// the list (1 for the first).
	SKUs []SKU
	// Prices are explicit selling prices by level code; levels without one
	// use their Rule.
	Prices map[string]int64
}

func checkCode(field, s string) error {
	if s == "" {
		return fault.Field(fault.Missing, field, "is required")
	}
	if !codePattern.MatchString(s) {
		return fault.Field(fault.Invalid, field, "must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'")
	}
	return nil
}

func checkName(field, s string) error {
	if s == "" {
		return fault.Field(fault.Missing, field, "is required")
	}
	if utf8.RuneCountInString(s) > 100 || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return fault.Field(fault.Invalid, field, "must be at most 100 characters, without control characters")
	}
	return nil
}

func checkMoney(field string, v int64) error {
	if v <= 0 || v > MaxMoney {
		return fault.Field(fault.Invalid, field, "must be 1 to %d rupiah", int64(MaxMoney))
	}
	return nil
}

// conflict turns a unique violation into a fault.Conflict about field.
func conflict(err error, field, format string, args ...any) error {
	if errors.Is(err, db.ErrConflict) {
		return &fault.Error{Code: fault.Conflict, Field: field, Detail: fmt.Sprintf(format, args...), Err: err}
	}
	return err
}

// AddProvider creates a provider. Its code must be unused (else
// fault.Conflict about "code"); its form is checked (fault.Invalid about
// "forms").
func (s *Store) AddProvider(ctx context.Context, np NewProvider) (Provider, error) {
	return s.AddProviderWith(ctx, np, nil)
}

// advanceSequence moves table's id sequence past its largest id after a row
// was inserted with an id of its own (PostgreSQL only: SQLite takes the
// largest rowid + 1 anyway).
func advanceSequence(tx *db.Tx, table string) error {
	if tx.Dialect() != db.Postgres {
		return nil
	}
	_, err := tx.Exec("SELECT setval(pg_get_serial_sequence('" + table + "', 'id'), (SELECT MAX(id) FROM " + table + "))")
	return err
}

// AddProduct creates a product of an existing provider, with its SKUs and
// explicit prices, in one write, and returns its id. The code must be
// unused (fault.Conflict about "code"); the provider and every price's
// level must exist (fault.Invalid about "provider" or "prices").
func (s *Store) AddProduct(ctx context.Context, np NewProduct) (int64, error) {
	p, err := prepareProduct(np)
	if err != nil {
		return 0, err
	}
	now := s.clock().UnixMicro()
	var id int64
	defer s.invalidate()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		id, err = insertProductTx(tx, p, now)
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// normalizeSKUs checks a product's SKUs and fills in default priorities.
func normalizeSKUs(in []SKU) ([]SKU, error) {
	out := make([]SKU, len(in))
	priorities := map[int]bool{}
	pairs := map[[2]string]bool{}
	for i, k := range in {
		k.Supplier, k.SKU = strings.TrimSpace(k.Supplier), strings.TrimSpace(k.SKU)
		if k.Priority == 0 {
			k.Priority = i + 1
		}
		switch {
		case !supplierPattern.MatchString(k.Supplier):
			return nil, fault.Field(fault.Invalid, "skus", "SKU %d: the supplier must be 1 to 32 characters of a-z, 0-9, '_' and '-'", i+1)
		case k.SKU == "" || len(k.SKU) > 64 || strings.ContainsFunc(k.SKU, unicode.IsControl):
			return nil, fault.Field(fault.Invalid, "skus", "SKU %d: the supplier's code must be 1 to 64 characters", i+1)
		case k.Priority < 1:
			return nil, fault.Field(fault.Invalid, "skus", "SKU %d: the priority must be 1 or more", i+1)
		case priorities[k.Priority]:
			return nil, fault.Field(fault.Invalid, "skus", "SKU %d: priority %d is used twice", i+1, k.Priority)
		case pairs[[2]string{k.Supplier, k.SKU}]:
			return nil, fault.Field(fault.Invalid, "skus", "SKU %d: %s %s is listed twice", i+1, k.Supplier, k.SKU)
		case k.Cost <= 0 || k.Cost > MaxMoney:
			return nil, fault.Field(fault.Invalid, "skus", "SKU %d: the cost must be 1 to %d rupiah", i+1, int64(MaxMoney))
		}
		priorities[k.Priority] = true
		pairs[[2]string{k.Supplier, k.SKU}] = true
		out[i] = k
	}
	return out, nil
}

// checkLevel returns a fault.Invalid about field unless level exists.
func checkLevel(tx *db.Tx, field, level string) error {
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM levels WHERE code = ?", level).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fault.Field(fault.Invalid, field, "no level %q", level)
	}
	return nil
}

// SetProviderActive switches the provider with code on or off; its products
// cannot be ordered while it is off. fault.NotFound when there is none.
func (s *Store) SetProviderActive(ctx context.Context, code string, on bool) error {
	return s.setActive(ctx, "providers", code, on, errNoProvider)
}

// SetProductActive switches the product with code on or off. fault.NotFound
// when there is none.
func (s *Store) SetProductActive(ctx context.Context, code string, on bool) error {
	return s.setActive(ctx, "products", code, on, errNoProduct)
}

func (s *Store) setActive(ctx context.Context, table, code string, on bool, notFound error) error {
	now := s.clock().UnixMicro()
	defer s.invalidate()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		n, err := tx.ExecAffected("UPDATE "+table+" SET active = ?, updated_at = ? WHERE code = ?", on, now, code)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound
		}
		return nil
	})
}

// SetPrice sets the explicit price of the product with code for level; a
// price of 0 removes it, so that the level's Rule applies again. When the
// product's price for the level changes, the members of the level get a
// price_update webhook, written in the same transaction (see
// priceChanges for what counts). Unknown product: fault.NotFound; unknown
// level: fault.Invalid about "level".
func (s *Store) SetPrice(ctx context.Context, code, level string, price int64) error {
	if price != 0 {
		if err := checkMoney("price", price); err != nil {
			return err
		}
	}
	now := s.clock().UnixMicro()
	defer s.invalidate()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRow("SELECT id FROM products WHERE code = ?", code).Scan(&id)
		if errors.Is(err, db.ErrNotFound) {
			return errNoProduct
		}
		if err != nil {
			return err
		}
		if err := checkLevel(tx, "level", level); err != nil {
			return err
		}
		_, err = s.repriced(tx, scopeCode, []any{code}, []string{level}, time.UnixMicro(now), func() error {
			if price == 0 {
				_, err := tx.Exec("DELETE FROM product_prices WHERE product_id = ? AND level = ?", id, level)
				return err
			}
			_, err := tx.Exec(`INSERT INTO product_prices (product_id, level, price, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (product_id, level) DO UPDATE SET price = excluded.price, updated_at = excluded.updated_at`,
				id, level, price, now)
			return err
		})
		return err
	})
}

// SetRule sets level's markup: percentBP basis points (250 = 2.5 %) plus
// flat rupiah over the cost of a product's first active SKU, for every
// product without an explicit price for the level (see Rule for the
// rounding). Members of the level get a price_update webhook for every
// product whose price the new rule moves, written in the same transaction.
// Unknown level: fault.Invalid about "level".
func (s *Store) SetRule(ctx context.Context, level string, percentBP, flat int64) error {
	r := Rule{Level: level, PercentBP: percentBP, Flat: flat}
	if err := r.validate(); err != nil {
		return err
	}
	now := s.clock().UnixMicro()
	defer s.invalidate()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		if err := checkLevel(tx, "level", level); err != nil {
			return err
		}
		_, err := s.repriced(tx, scopeAll, nil, []string{level}, time.UnixMicro(now), func() error {
			_, err := tx.Exec(`INSERT INTO price_rules (level, percent_bp, flat, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (level) DO UPDATE SET percent_bp = excluded.percent_bp, flat = excluded.flat,
				updated_at = excluded.updated_at`, level, percentBP, flat, now)
			return err
		})
		return err
	})
}

// DeleteRule removes level's markup, so that products without an explicit
// price for the level have none. Removing a rule that does not exist is not
// an error. No price_update is sent: no product gets a new price to sell
// at (see priceChanges).
func (s *Store) DeleteRule(ctx context.Context, level string) error {
	defer s.invalidate()
	return s.db.Write(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec("DELETE FROM price_rules WHERE level = ?", level)
		return err
	})
}
