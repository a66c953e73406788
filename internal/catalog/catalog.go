// Package catalog keeps what kios sells: providers (a game, a phone
// operator, a utility) with the order form each needs, their products, the
// supplier SKUs that deliver a product in priority order with their costs,
// and the selling price of a product for each member level.
//
// A product's price for a level is its explicit price for that level when
// one is set; otherwise the level's markup Rule applied to the cost of the
// product's first active SKU in priority order; otherwise it has none (and
// cannot be ordered at that level).
//
// Writes go through db.Write; reads use the read pool. Product, the lookup
// on the hot path of order creation, is served from a small in-process
// cache; see Store.
package catalog

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// Provider is a brand that products belong to, with the form an order for
// any of its products must carry.
type Provider struct {
	ID       int64
	Code     string
	Name     string
	Active   bool
	Icon     string  // the icon's file name, served at /images/provider/<Icon>
	Forms    []Field // in the order clients should show them
	Position int64   // listing order: lower first, then ID
}

// SKU is one way to deliver a product: a supplier's code for it and what
// the supplier charges.
type SKU struct {
	Supplier string // the supplier's name, e.g. "simulator"
	SKU      string // the supplier's product code
	Priority int    // 1 is tried first
	Cost     int64  // rupiah
	Active   bool
}

// PriceSource says where a product's price for a level came from.
type PriceSource string

// The sources of a price.
const (
	PriceExplicit PriceSource = "explicit" // set for the product and level
	PriceRule     PriceSource = "rule"     // the level's markup over the first active SKU's cost
	PriceNone     PriceSource = ""         // no price: the product cannot be ordered at this level
)

// Product is something a member can order, priced for one member level.
type Product struct {
	ID       int64
	Code     string
	Name     string
	Active   bool
	Provider Provider
	// SKUs are all the product's SKUs, active or not, by priority. Products
	// (the listing) leaves it nil.
	SKUs []SKU
	// Level is the member level the price is for.
	Level string
	// Price is the selling price for Level in rupiah; 0 when there is none.
	Price       int64
	PriceSource PriceSource
	// Cost is the cost of the first active SKU in priority order; 0 when
	// no SKU is active.
	Cost int64
	// Ewallet marks an e-wallet product (see Ewallet): it has no fixed
	// price and is sold through the PPOB face only.
	Ewallet bool
}

// Orderable returns nil when the product can be ordered at its level now:
// it and its provider are switched on, it has a price for the level, and an
// active SKU to deliver it. Otherwise it returns a fault.Inactive error
// whose Field is "product" or "provider".
func (p Product) Orderable() error {
	switch {
	case !p.Active:
		return fault.Field(fault.Inactive, "product", "product %s is switched off", p.Code)
	case !p.Provider.Active:
		return fault.Field(fault.Inactive, "provider", "provider %s is switched off", p.Provider.Code)
	case p.Price <= 0:
		return fault.Field(fault.Inactive, "product", "product %s has no price for level %q", p.Code, p.Level)
	case p.Cost <= 0:
		return fault.Field(fault.Inactive, "product", "product %s has no active supplier SKU", p.Code)
	}
	return nil
}

// ActiveSKUs returns the product's active SKUs in priority order: the
// suppliers to try, first to last.
func (p Product) ActiveSKUs() []SKU {
	out := make([]SKU, 0, len(p.SKUs))
	for _, s := range p.SKUs {
		if s.Active {
			out = append(out, s)
		}
	}
	return out
}

// clone returns a copy of p that shares no slice with p.
func (p Product) clone() Product {
	p.SKUs = slices.Clone(p.SKUs)
	p.Provider.Forms = cloneForms(p.Provider.Forms)
	return p
}

func cloneForms(fs []Field) []Field {
	if fs == nil {
		return nil
	}
	out := slices.Clone(fs)
	for i := range out {
		out[i].Options = slices.Clone(out[i].Options)
	}
	return out
}

// The product cache's bounds.
const (
	// cacheTTL bounds how long a cached product is served. Changes made
	// through this Store invalidate the cache at once; the TTL bounds how
	// long another kios process sharing the PostgreSQL database serves a
	// product as it was before a change made there.
	cacheTTL = time.Second
	// cacheMax bounds the entries (product × level); beyond it the cache
	// starts afresh.
	cacheMax = 50_000
)

// Store reads and writes the catalog.
//
// Product answers from an in-process cache of the products asked for, per
// level. Every write method of the Store advances a generation counter
// after its write has returned, which invalidates every entry; an entry
// also expires after cacheTTL (one second), which bounds how stale another
// process's cache can be after a change made through that process's Store.
// An entry records the generation read before its rows were loaded, so a
// load that races with a write is never served after the write returns.
// Catalog tables must therefore be written only through a Store. Unknown
// codes are not cached.
type Store struct {
	db  *db.DB
	now func() time.Time

	// Notify, when set, is called after a commit that wrote price_update
	// webhooks to the outbox (the webhook worker's Poke), so that they
	// are sent at once rather than at the worker's next poll. Set it
	// before the Store is used.
	Notify func()

	gen   atomic.Uint64
	cache sync.Map // cacheKey → *cacheEntry
	size  atomic.Int64

	ewallets sync.Map // code → *ewalletEntry (ewallet.go), invalidated by gen like cache
}

type cacheKey struct{ code, level string }

type cacheEntry struct {
	p       Product
	gen     uint64
	expires time.Time
}

// NewStore returns a Store on d that reads the time from now (time.Now when
// nil).
func NewStore(d *db.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: d, now: now}
}

// clock returns the current time as it is stored: UTC, in microseconds.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// invalidate drops every cached product; write methods call it after
// their write has returned.
func (s *Store) invalidate() {
	s.gen.Add(1)
	s.cache.Clear()
	s.size.Store(0)
}

var (
	errNoProduct  = fault.Field(fault.NotFound, "product", "no such product")
	errNoProvider = fault.Field(fault.NotFound, "provider", "no such provider")
)

// Product returns the product with code, priced for level, with its
// provider (and the provider's form) and all its SKUs by priority;
// fault.NotFound about "product" when there is none. It does not check that
// the product can be ordered: see Orderable.
//
// It is on the hot path of order creation: answered from the cache when it
// can be (see Store), else with one indexed query.
func (s *Store) Product(ctx context.Context, code, level string) (Product, error) {
	key := cacheKey{code, level}
	gen := s.gen.Load()
	if v, ok := s.cache.Load(key); ok {
		e := v.(*cacheEntry)
		if e.gen == gen && s.now().Before(e.expires) {
			return e.p.clone(), nil
		}
	}
	p, err := s.loadProduct(ctx, code, level)
	if err != nil {
		return Product{}, err
	}
	if _, loaded := s.cache.Swap(key, &cacheEntry{p: p, gen: gen, expires: s.now().Add(cacheTTL)}); !loaded {
		if s.size.Add(1) > cacheMax {
			s.cache.Clear()
			s.size.Store(0)
		}
	}
	return p.clone(), nil
}

// productQuery reads a product, its provider, its explicit price for a
// level, the level's rule and its SKUs by priority: one statement (so one
// snapshot), driven by the unique index on products.code, one row per SKU
// (one row with NULL SKU columns when there is none).
const productQuery = `SELECT p.id, p.code, p.name, p.active,
	v.id, v.code, v.name, v.active, v.icon, v.forms, v.position,
	pp.price, r.percent_bp, r.flat,
	k.supplier, k.sku, k.priority, k.cost, k.active,
	EXISTS (SELECT 1 FROM ewallet_products e WHERE e.product_id = p.id)
	FROM products p
	JOIN providers v ON v.id = p.provider_id
	LEFT JOIN product_prices pp ON pp.product_id = p.id AND pp.level = ?
	LEFT JOIN price_rules r ON r.level = ?
	LEFT JOIN product_skus k ON k.product_id = p.id
	WHERE p.code = ?
	ORDER BY k.priority`

func (s *Store) loadProduct(ctx context.Context, code, level string) (Product, error) {
	rows, err := s.db.Query(ctx, productQuery, level, level, code)
	if err != nil {
		return Product{}, err
	}
	defer rows.Close()
	var (
		p              Product
		forms          string
		explicit       sql.NullInt64
		percent, fixed sql.NullInt64
		found          bool
	)
	for rows.Next() {
		var (
			supplier, sku sql.NullString
			priority      sql.NullInt64
			cost          sql.NullInt64
			active        sql.NullBool
		)
		if err := rows.Scan(&p.ID, &p.Code, &p.Name, &p.Active,
			&p.Provider.ID, &p.Provider.Code, &p.Provider.Name, &p.Provider.Active, &p.Provider.Icon, &forms, &p.Provider.Position,
			&explicit, &percent, &fixed,
			&supplier, &sku, &priority, &cost, &active, &p.Ewallet); err != nil {
			return Product{}, err
		}
		found = true
		if supplier.Valid {
			p.SKUs = append(p.SKUs, SKU{Supplier: supplier.String, SKU: sku.String, Priority: int(priority.Int64),
				Cost: cost.Int64, Active: active.Bool})
		}
	}
	if err := rows.Err(); err != nil {
		return Product{}, err
	}
	if !found {
		return Product{}, errNoProduct
	}
	if p.Provider.Forms, err = decodeForms(forms); err != nil {
		return Product{}, err
	}
	for _, k := range p.SKUs {
		if k.Active {
			p.Cost = k.Cost
			break
		}
	}
	var rule *Rule
	if percent.Valid {
		rule = &Rule{Level: level, PercentBP: percent.Int64, Flat: fixed.Int64}
	}
	p.Level = level
	p.Price, p.PriceSource = resolvePrice(explicit.Int64, rule, p.Cost)
	return p, nil
}

const providerCols = "id, code, name, active, icon, forms, position"

type scanner interface{ Scan(dest ...any) error }

func scanProvider(row scanner) (Provider, error) {
	var (
		p     Provider
		forms string
	)
	if err := row.Scan(&p.ID, &p.Code, &p.Name, &p.Active, &p.Icon, &forms, &p.Position); err != nil {
		return Provider{}, err
	}
	var err error
	p.Forms, err = decodeForms(forms)
	return p, err
}

// Providers lists the providers by Position, then ID; with activeOnly,
// only those switched on.
func (s *Store) Providers(ctx context.Context, activeOnly bool) ([]Provider, error) {
	return s.providers(ctx, "TRUE", activeOnly)
}

// providers lists the providers meeting cond (SQL on the providers
// table), by Position, then ID; with activeOnly, only those switched on.
func (s *Store) providers(ctx context.Context, cond string, activeOnly bool) ([]Provider, error) {
	q := "SELECT " + providerCols + " FROM providers WHERE " + cond
	if activeOnly {
		q += " AND active"
	}
	rows, err := s.db.Query(ctx, q+" ORDER BY position, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Provider{}
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProviderByCode returns the provider with code; fault.NotFound about
// "provider" when there is none.
func (s *Store) ProviderByCode(ctx context.Context, code string) (Provider, error) {
	p, err := scanProvider(s.db.QueryRow(ctx, "SELECT "+providerCols+" FROM providers WHERE code = ?", code))
	if errors.Is(err, db.ErrNotFound) {
		return Provider{}, errNoProvider
	}
	return p, err
}

// Products lists the products of the provider with code, priced for level,
// cheapest first (products without a price last, then by ID); SKUs are left
// out. With activeOnly, only products that can be ordered (Orderable) are
// listed. An unknown provider is fault.NotFound about "provider".
func (s *Store) Products(ctx context.Context, providerCode, level string, activeOnly bool) ([]Product, error) {
	out := []Product{}
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		out = out[:0]
		prov, err := scanProvider(tx.QueryRow("SELECT "+providerCols+" FROM providers WHERE code = ?", providerCode))
		if errors.Is(err, db.ErrNotFound) {
			return errNoProvider
		}
		if err != nil {
			return err
		}
		var rule *Rule
		var r Rule
		err = tx.QueryRow("SELECT percent_bp, flat FROM price_rules WHERE level = ?", level).Scan(&r.PercentBP, &r.Flat)
		switch {
		case err == nil:
			r.Level = level
			rule = &r
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
		rows, err := tx.Query(`SELECT p.id, p.code, p.name, p.active, pp.price,
			(SELECT s.cost FROM product_skus s WHERE s.product_id = p.id AND s.active ORDER BY s.priority LIMIT 1),
			EXISTS (SELECT 1 FROM ewallet_products e WHERE e.product_id = p.id)
			FROM products p
			LEFT JOIN product_prices pp ON pp.product_id = p.id AND pp.level = ?
			WHERE p.provider_id = ?`, level, prov.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := Product{Provider: prov, Level: level}
			var explicit, cost sql.NullInt64
			if err := rows.Scan(&p.ID, &p.Code, &p.Name, &p.Active, &explicit, &cost, &p.Ewallet); err != nil {
				return err
			}
			p.Cost = cost.Int64
			p.Price, p.PriceSource = resolvePrice(explicit.Int64, rule, p.Cost)
			if activeOnly && p.Orderable() != nil {
				continue
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Product) int {
		switch {
		case (a.Price == 0) != (b.Price == 0):
			if a.Price == 0 {
				return 1
			}
			return -1
		case a.Price != b.Price:
			return cmp.Compare(a.Price, b.Price)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Rules returns the markup rule of every level that has one, by level.
func (s *Store) Rules(ctx context.Context) ([]Rule, error) {
	rows, err := s.db.Query(ctx, "SELECT level, percent_bp, flat FROM price_rules ORDER BY level")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Rule{}
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.Level, &r.PercentBP, &r.Flat); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: rules: %w", err)
	}
	return out, nil
}
