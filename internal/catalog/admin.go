package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/fault"
)

// This file holds the catalog's calls for the operator API: listings with
// every level's price, and changes that run a caller's hook (the audit
// record) inside their own transaction.

// LevelPrice is a product's selling price for one member level.
type LevelPrice struct {
	Level    string
	Price    int64 // 0 when the product has no price for the level
	Source   PriceSource
	Explicit int64 // the explicit price set for the level; 0 when none
}

// Listed is a product as the operator sees it: its provider's code, all
// its SKUs by priority, and its price for every level.
type Listed struct {
	ID        int64
	Code      string
	Name      string
	Provider  string // the provider's code
	Active    bool
	SKUs      []SKU
	Prices    []LevelPrice // by level rank
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProductFilter selects products for ListProducts.
type ProductFilter struct {
	Provider string // a provider's code; "" for all
	Q        string // a part of the code or name, any case; "" for all
	Active   *bool  // nil for both
}

// where returns the condition on products p for f and its arguments.
func (f ProductFilter) where() (string, []any) {
	conds, args := []string{"1 = 1"}, []any{}
	if f.Provider != "" {
		conds = append(conds, "p.provider_id = (SELECT id FROM providers WHERE code = ?)")
		args = append(args, f.Provider)
	}
	if q := strings.ToLower(strings.TrimSpace(f.Q)); q != "" {
		conds = append(conds, "(LOWER(p.code) LIKE ? OR LOWER(p.name) LIKE ?)")
		like := "%" + q + "%"
		args = append(args, like, like)
	}
	if f.Active != nil {
		conds = append(conds, "p.active = ?")
		args = append(args, *f.Active)
	}
	return strings.Join(conds, " AND "), args
}

// ListProducts returns the products f selects, by id, one page of them
// (limit, offset), with every level's price, and how many f selects in
// all.
func (s *Store) ListProducts(ctx context.Context, f ProductFilter, limit, offset int) ([]Listed, int64, error) {
	var (
		out   []Listed
		total int64
	)
	where, args := f.where()
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow("SELECT COUNT(*) FROM products p WHERE "+where, args...).Scan(&total); err != nil {
			return err
		}
		var err error
		out, err = listedTx(tx, where+" ORDER BY p.id LIMIT ? OFFSET ?", append(slices.Clone(args), limit, offset))
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// ListedProduct returns the product with code as ListProducts shows it;
// fault.NotFound when there is none.
func (s *Store) ListedProduct(ctx context.Context, code string) (Listed, error) {
	var out []Listed
	err := s.db.Read(ctx, func(tx *db.Tx) error {
		var err error
		out, err = listedTx(tx, "p.code = ?", []any{code})
		return err
	})
	if err != nil {
		return Listed{}, err
	}
	if len(out) == 0 {
		return Listed{}, errNoProduct
	}
	return out[0], nil
}

// listedTx reads the products selected by cond (a condition on products
// p, possibly followed by ORDER BY and LIMIT) with their SKUs and prices.
// The SKUs and prices are read with cond as a subquery, so that the
// statements' text does not depend on how many products there are.
func listedTx(tx *db.Tx, cond string, args []any) ([]Listed, error) {
	levels, err := levelsTx(tx)
	if err != nil {
		return nil, err
	}
	rules, err := rulesTx(tx)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(`SELECT p.id, p.code, p.name, v.code, p.active, p.created_at, p.updated_at
		FROM products p JOIN providers v ON v.id = p.provider_id WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	var out []Listed
	at := map[int64]int{}
	for rows.Next() {
		var l Listed
		var created, updated int64
		if err := rows.Scan(&l.ID, &l.Code, &l.Name, &l.Provider, &l.Active, &created, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		l.CreatedAt, l.UpdatedAt = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		l.SKUs = []SKU{}
		at[l.ID] = len(out)
		out = append(out, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return []Listed{}, nil
	}
	ids := "SELECT p.id FROM products p WHERE " + cond
	rows, err = tx.Query(`SELECT product_id, supplier, sku, priority, cost, active FROM product_skus
		WHERE product_id IN (`+ids+`) ORDER BY product_id, priority`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var k SKU
		if err := rows.Scan(&id, &k.Supplier, &k.SKU, &k.Priority, &k.Cost, &k.Active); err != nil {
			rows.Close()
			return nil, err
		}
		if i, ok := at[id]; ok {
			out[i].SKUs = append(out[i].SKUs, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	explicit := map[priceKey]int64{}
	rows, err = tx.Query(`SELECT product_id, level, price FROM product_prices WHERE product_id IN (`+ids+`)`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var k priceKey
		var price int64
		if err := rows.Scan(&k.product, &k.level, &price); err != nil {
			rows.Close()
			return nil, err
		}
		explicit[k] = price
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		var cost int64
		for _, k := range out[i].SKUs {
			if k.Active {
				cost = k.Cost
				break
			}
		}
		out[i].Prices = make([]LevelPrice, 0, len(levels))
		for _, level := range levels {
			e := explicit[priceKey{out[i].ID, level}]
			price, src := resolvePrice(e, rules[level], cost)
			out[i].Prices = append(out[i].Prices, LevelPrice{Level: level, Price: price, Source: src, Explicit: e})
		}
	}
	return out, nil
}

// rulesTx returns every level's rule, by level.
func rulesTx(tx *db.Tx) (map[string]*Rule, error) {
	rows, err := tx.Query("SELECT level, percent_bp, flat FROM price_rules")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Rule{}
	for rows.Next() {
		var r Rule
		if err := rows.Scan(&r.Level, &r.PercentBP, &r.Flat); err != nil {
			return nil, err
		}
		out[r.Level] = &r
	}
	return out, rows.Err()
}

// prepareProvider checks np and returns the provider it describes and its
// form as stored.
func prepareProvider(np NewProvider) (Provider, string, error) {
	p := Provider{
		ID:       np.ID,
		Code:     strings.TrimSpace(np.Code),
		Name:     strings.TrimSpace(np.Name),
		Active:   np.Active,
		Icon:     strings.TrimSpace(np.Icon),
		Position: np.Position,
	}
	if err := checkCode("code", p.Code); err != nil {
		return Provider{}, "", err
	}
	if err := checkName("name", p.Name); err != nil {
		return Provider{}, "", err
	}
	if p.Icon != "" && !iconPattern.MatchString(p.Icon) {
		return Provider{}, "", fault.Field(fault.Invalid, "icon", "must be a plain file name")
	}
	if np.ID < 0 {
		return Provider{}, "", fault.Field(fault.Invalid, "id", "must not be negative")
	}
	forms, err := normalizeForms(np.Forms)
	if err != nil {
		return Provider{}, "", err
	}
	p.Forms = forms
	stored, err := encodeForms(forms)
	if err != nil {
		return Provider{}, "", err
	}
	return p, stored, nil
}

// AddProviderWith is AddProvider, running also (when not nil) with the new
// provider inside its transaction; an error of also undoes the addition.
func (s *Store) AddProviderWith(ctx context.Context, np NewProvider, also func(tx *db.Tx, p Provider) error) (Provider, error) {
	p, stored, err := prepareProvider(np)
	if err != nil {
		return Provider{}, err
	}
	now := s.clock().UnixMicro()
	defer s.invalidate()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		p.ID = np.ID
		if err := insertProviderTx(tx, &p, stored, now); err != nil {
			return conflict(err, "code", "provider code %q or id %d is taken", p.Code, np.ID)
		}
		if also == nil {
			return nil
		}
		return also(tx, p)
	})
	if err != nil {
		return Provider{}, err
	}
	return p, nil
}

// insertProviderTx inserts p (with its id when p.ID is set) and sets p.ID.
func insertProviderTx(tx *db.Tx, p *Provider, stored string, now int64) error {
	if p.ID == 0 {
		return tx.QueryRow(`INSERT INTO providers (code, name, active, icon, forms, position, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Code, p.Name, p.Active, p.Icon, stored, p.Position, now, now).Scan(&p.ID)
	}
	if _, err := tx.Exec(`INSERT INTO providers (id, code, name, active, icon, forms, position, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Code, p.Name, p.Active, p.Icon, stored, p.Position, now, now); err != nil {
		return err
	}
	return advanceSequence(tx, "providers")
}

// ProviderChanges are the fields UpdateProvider changes; nil ones stay.
type ProviderChanges struct {
	Name     *string
	Active   *bool
	Icon     *string
	Position *int64
	Forms    *[]Field
}

func (c ProviderChanges) empty() bool {
	return c.Name == nil && c.Active == nil && c.Icon == nil && c.Position == nil && c.Forms == nil
}

// UpdateProvider changes the provider with code and runs also (when not
// nil) with it before and after, in one transaction. The new values are
// checked as AddProvider checks them; no change at all is fault.Missing,
// an unknown provider fault.NotFound.
func (s *Store) UpdateProvider(ctx context.Context, code string, c ProviderChanges, also func(tx *db.Tx, before, after Provider) error) (Provider, error) {
	if c.empty() {
		return Provider{}, fault.New(fault.Missing, "nothing to change: give name, active, icon, position or forms")
	}
	now := s.clock().UnixMicro()
	var after Provider
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		before, err := scanProvider(tx.QueryRow("SELECT "+providerCols+" FROM providers WHERE code = ?", code))
		if errors.Is(err, db.ErrNotFound) {
			return errNoProvider
		}
		if err != nil {
			return err
		}
		np := NewProvider{Code: before.Code, Name: before.Name, Active: before.Active, Icon: before.Icon,
			Position: before.Position, Forms: before.Forms}
		if c.Name != nil {
			np.Name = *c.Name
		}
		if c.Active != nil {
			np.Active = *c.Active
		}
		if c.Icon != nil {
			np.Icon = *c.Icon
		}
		if c.Position != nil {
			np.Position = *c.Position
		}
		if c.Forms != nil {
			np.Forms = *c.Forms
		}
		var stored string
		after, stored, err = prepareProvider(np)
		if err != nil {
			return err
		}
		after.ID = before.ID
		if _, err := tx.Exec(`UPDATE providers SET name = ?, active = ?, icon = ?, forms = ?, position = ?, updated_at = ?
			WHERE id = ?`, after.Name, after.Active, after.Icon, stored, after.Position, now, after.ID); err != nil {
			return err
		}
		if also == nil {
			return nil
		}
		return also(tx, before, after)
	})
	if err != nil {
		return Provider{}, err
	}
	return after, nil
}

// preparedProduct is a checked NewProduct.
type preparedProduct struct {
	id         int64
	code, name string
	provider   string
	active     bool
	skus       []SKU
	prices     map[string]int64
	skusGiven  bool
}

// prepareProduct checks np as AddProduct does.
func prepareProduct(np NewProduct) (preparedProduct, error) {
	p := preparedProduct{id: np.ID, code: strings.TrimSpace(np.Code), name: strings.TrimSpace(np.Name),
		provider: strings.TrimSpace(np.Provider), active: np.Active, prices: np.Prices}
	if err := checkCode("code", p.code); err != nil {
		return p, err
	}
	if err := checkName("name", p.name); err != nil {
		return p, err
	}
	if np.ID < 0 {
		return p, fault.Field(fault.Invalid, "id", "must not be negative")
	}
	if p.provider == "" {
		return p, fault.Field(fault.Missing, "provider", "is required")
	}
	var err error
	if p.skus, err = normalizeSKUs(np.SKUs); err != nil {
		return p, err
	}
	for _, level := range slices.Sorted(maps.Keys(np.Prices)) {
		if err := checkMoney("prices", np.Prices[level]); err != nil {
			return p, fault.Field(fault.Invalid, "prices", "the price for %q must be 1 to %d rupiah", level, int64(MaxMoney))
		}
	}
	return p, nil
}

// providerIDTx returns the id of the provider with code, or a fault.Invalid
// about "provider".
func providerIDTx(tx *db.Tx, code string) (int64, error) {
	var id int64
	err := tx.QueryRow("SELECT id FROM providers WHERE code = ?", code).Scan(&id)
	if errors.Is(err, db.ErrNotFound) {
		return 0, fault.Field(fault.Invalid, "provider", "no provider %q", code)
	}
	return id, err
}

// insertProductTx inserts p with its SKUs and prices and returns its id.
func insertProductTx(tx *db.Tx, p preparedProduct, now int64) (int64, error) {
	providerID, err := providerIDTx(tx, p.provider)
	if err != nil {
		return 0, err
	}
	for level := range p.prices {
		if err := checkLevel(tx, "prices", level); err != nil {
			return 0, err
		}
	}
	id := p.id
	if id == 0 {
		err = tx.QueryRow(`INSERT INTO products (code, name, provider_id, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, p.code, p.name, providerID, p.active, now, now).Scan(&id)
	} else {
		_, err = tx.Exec(`INSERT INTO products (id, code, name, provider_id, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, p.code, p.name, providerID, p.active, now, now)
		if err == nil {
			err = advanceSequence(tx, "products")
		}
	}
	if err != nil {
		return 0, conflict(err, "code", "product code %q or id %d is taken", p.code, p.id)
	}
	if err := writeSKUsTx(tx, id, p.skus, now); err != nil {
		return 0, err
	}
	return id, writePricesTx(tx, id, p.prices, nil, now)
}

// writeSKUsTx adds skus to product id.
func writeSKUsTx(tx *db.Tx, id int64, skus []SKU, now int64) error {
	for _, k := range skus {
		if _, err := tx.Exec(`INSERT INTO product_skus (product_id, supplier, sku, priority, cost, active, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, id, k.Supplier, k.SKU, k.Priority, k.Cost, k.Active, now); err != nil {
			return err
		}
	}
	return nil
}

// writePricesTx sets product id's explicit prices and removes those of
// the levels in remove.
func writePricesTx(tx *db.Tx, id int64, prices map[string]int64, remove []string, now int64) error {
	for _, level := range slices.Sorted(maps.Keys(prices)) {
		if _, err := tx.Exec(`INSERT INTO product_prices (product_id, level, price, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (product_id, level) DO UPDATE SET price = excluded.price, updated_at = excluded.updated_at`,
			id, level, prices[level], now); err != nil {
			return err
		}
	}
	for _, level := range remove {
		if _, err := tx.Exec("DELETE FROM product_prices WHERE product_id = ? AND level = ?", id, level); err != nil {
			return err
		}
	}
	return nil
}

// AddProductWith is AddProduct, running also (when not nil) with the new
// product inside its transaction; an error of also undoes the addition.
func (s *Store) AddProductWith(ctx context.Context, np NewProduct, also func(tx *db.Tx, p Listed) error) (Listed, error) {
	p, err := prepareProduct(np)
	if err != nil {
		return Listed{}, err
	}
	now := s.clock().UnixMicro()
	var out Listed
	defer s.invalidate()
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		id, err := insertProductTx(tx, p, now)
		if err != nil {
			return err
		}
		if out, err = listedOneTx(tx, id); err != nil {
			return err
		}
		if also == nil {
			return nil
		}
		return also(tx, out)
	})
	if err != nil {
		return Listed{}, err
	}
	return out, nil
}

// listedOneTx reads product id as ListProducts shows it.
func listedOneTx(tx *db.Tx, id int64) (Listed, error) {
	ls, err := listedTx(tx, "p.id = ?", []any{id})
	if err != nil {
		return Listed{}, err
	}
	if len(ls) == 0 {
		return Listed{}, errNoProduct
	}
	return ls[0], nil
}

// ProductChanges are the fields UpdateProduct changes; nil ones stay.
type ProductChanges struct {
	Name     *string
	Active   *bool
	Provider *string // a provider's code
	// SKUs, when not nil, replace all the product's SKUs (a Priority of 0
	// means the SKU's place in the list).
	SKUs *[]SKU
	// Prices set explicit prices by level; a price of 0 removes the
	// level's explicit price, so that its Rule applies again.
	Prices map[string]int64
}

func (c ProductChanges) empty() bool {
	return c.Name == nil && c.Active == nil && c.Provider == nil && c.SKUs == nil && len(c.Prices) == 0
}

// UpdateProduct changes the product with code and runs also (when not
// nil) with it before and after and the prices that moved, in one
// transaction. Members of every level whose price for the product moved
// (by an explicit price, or by a new cost under the level's Rule) get a
// price_update webhook, written in the same transaction. The values are
// checked as AddProduct checks them; no change at all is fault.Missing, an
// unknown product fault.NotFound.
func (s *Store) UpdateProduct(ctx context.Context, code string, c ProductChanges,
	also func(tx *db.Tx, before, after Listed, moved []PriceChange) error) (Listed, []PriceChange, error) {
	if c.empty() {
		return Listed{}, nil, fault.New(fault.Missing, "nothing to change: give name, active, provider, skus or prices")
	}
	var skus []SKU
	if c.SKUs != nil {
		var err error
		if skus, err = normalizeSKUs(*c.SKUs); err != nil {
			return Listed{}, nil, err
		}
	}
	if c.Name != nil {
		if err := checkName("name", strings.TrimSpace(*c.Name)); err != nil {
			return Listed{}, nil, err
		}
	}
	set, remove := map[string]int64{}, []string{}
	for _, level := range slices.Sorted(maps.Keys(c.Prices)) {
		switch price := c.Prices[level]; {
		case price == 0:
			remove = append(remove, level)
		case checkMoney("prices", price) != nil:
			return Listed{}, nil, fault.Field(fault.Invalid, "prices", "the price for %q must be 0 (none) or 1 to %d rupiah", level, int64(MaxMoney))
		default:
			set[level] = price
		}
	}
	now := s.clock()
	var (
		after Listed
		moved []PriceChange
	)
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var id int64
		err := tx.QueryRow("SELECT id FROM products WHERE code = ?", code).Scan(&id)
		if errors.Is(err, db.ErrNotFound) {
			return errNoProduct
		}
		if err != nil {
			return err
		}
		before, err := listedOneTx(tx, id)
		if err != nil {
			return err
		}
		for level := range c.Prices {
			if err := checkLevel(tx, "prices", level); err != nil {
				return err
			}
		}
		levels, err := levelsTx(tx)
		if err != nil {
			return err
		}
		moved, err = s.repriced(tx, scopeCode, []any{code}, levels, now, func() error {
			return updateProductTx(tx, id, before, c, skus, set, remove, now.UnixMicro())
		})
		if err != nil {
			return err
		}
		if after, err = listedOneTx(tx, id); err != nil {
			return err
		}
		if also == nil {
			return nil
		}
		return also(tx, before, after, moved)
	})
	if err != nil {
		return Listed{}, nil, err
	}
	return after, moved, nil
}

// updateProductTx writes c (with skus, set and remove checked from it) to
// product id, which was before.
func updateProductTx(tx *db.Tx, id int64, before Listed, c ProductChanges, skus []SKU, set map[string]int64, remove []string, now int64) error {
	name, active, providerCode := before.Name, before.Active, before.Provider
	if c.Name != nil {
		name = strings.TrimSpace(*c.Name)
	}
	if c.Active != nil {
		active = *c.Active
	}
	if c.Provider != nil {
		providerCode = strings.TrimSpace(*c.Provider)
	}
	providerID, err := providerIDTx(tx, providerCode)
	if err != nil {
		return err
	}
	if _, err := tx.Exec("UPDATE products SET name = ?, active = ?, provider_id = ?, updated_at = ? WHERE id = ?",
		name, active, providerID, now, id); err != nil {
		return err
	}
	if c.SKUs != nil {
		if _, err := tx.Exec("DELETE FROM product_skus WHERE product_id = ?", id); err != nil {
			return err
		}
		if err := writeSKUsTx(tx, id, skus, now); err != nil {
			return err
		}
	}
	return writePricesTx(tx, id, set, remove, now)
}

// PriceSet is one row of a bulk price change: the explicit price of a
// product for a level; a Price of 0 removes it, so that the level's Rule
// applies again.
type PriceSet struct {
	ProductCode string
	Level       string
	Price       int64
}

// SetPrices sets many explicit prices and markup rules in one transaction
// and runs also (when not nil) with the prices that moved, inside it. Every
// row is checked first; one bad row (an unknown product or level, a price
// out of bounds) refuses them all, with a fault that names the row. The
// members of each level get one price_update webhook (split at
// MaxPriceRows rows) listing every product whose price for their level
// moved.
func (s *Store) SetPrices(ctx context.Context, sets []PriceSet, rules []Rule, also func(tx *db.Tx, moved []PriceChange) error) ([]PriceChange, error) {
	return s.setPrices(ctx, sets, rules, nil, also)
}

// setPrices is SetPrices, with first (when not nil) run inside the
// transaction before anything changes. PreviewPrices runs it with hooks
// that read what it wrote, and rolls it back.
func (s *Store) setPrices(ctx context.Context, sets []PriceSet, rules []Rule, first func(tx *db.Tx) error,
	also func(tx *db.Tx, moved []PriceChange) error) ([]PriceChange, error) {
	if len(sets) == 0 && len(rules) == 0 {
		return nil, fault.New(fault.Missing, "nothing to change: give at least one price or rule")
	}
	for i, p := range sets {
		if p.ProductCode == "" || p.Level == "" {
			return nil, fault.Field(fault.Missing, "prices", "row %d: product_code and level are required", i+1)
		}
		if p.Price != 0 && checkMoney("price", p.Price) != nil {
			return nil, fault.Field(fault.Invalid, "prices", "row %d: the price must be 0 (none) or 1 to %d rupiah", i+1, int64(MaxMoney))
		}
	}
	for i, r := range rules {
		if err := r.validate(); err != nil {
			return nil, fault.Field(fault.Invalid, "rules", "row %d: %s %s", i+1, fault.FieldOf(err), detail(err))
		}
	}
	now := s.clock()
	var moved []PriceChange
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		if first != nil {
			if err := first(tx); err != nil {
				return err
			}
		}
		ids := make([]int64, len(sets))
		touched := map[string]bool{}
		for i, p := range sets {
			err := tx.QueryRow("SELECT id FROM products WHERE code = ?", p.ProductCode).Scan(&ids[i])
			if errors.Is(err, db.ErrNotFound) {
				return fault.Field(fault.Invalid, "prices", "row %d: no product %q", i+1, p.ProductCode)
			}
			if err != nil {
				return err
			}
			if err := checkLevel(tx, "prices", p.Level); err != nil {
				return rowFault(err, "prices", "row %d: no level %q", i+1, p.Level)
			}
			touched[p.Level] = true
		}
		for i, r := range rules {
			if err := checkLevel(tx, "rules", r.Level); err != nil {
				return rowFault(err, "rules", "row %d: no level %q", i+1, r.Level)
			}
			touched[r.Level] = true
		}
		var err error
		moved, err = s.repriced(tx, scopeAll, nil, slices.Sorted(maps.Keys(touched)), now, func() error {
			for i, p := range sets {
				var err error
				if p.Price == 0 {
					err = writePricesTx(tx, ids[i], nil, []string{p.Level}, now.UnixMicro())
				} else {
					err = writePricesTx(tx, ids[i], map[string]int64{p.Level: p.Price}, nil, now.UnixMicro())
				}
				if err != nil {
					return err
				}
			}
			for _, r := range rules {
				if _, err := tx.Exec(`INSERT INTO price_rules (level, percent_bp, flat, updated_at) VALUES (?, ?, ?, ?)
					ON CONFLICT (level) DO UPDATE SET percent_bp = excluded.percent_bp, flat = excluded.flat,
					updated_at = excluded.updated_at`, r.Level, r.PercentBP, r.Flat, now.UnixMicro()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || also == nil {
			return err
		}
		return also(tx, moved)
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// rowFault turns a fault about one row of a list into a fault of the same
// code about field, described by format; an error that is not a fault is
// returned as it is.
func rowFault(err error, field, format string, args ...any) error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err
	}
	return &fault.Error{Code: fe.Code, Field: field, Detail: fmt.Sprintf(format, args...), Err: err}
}

// detail returns a fault's detail, or the error's text.
func detail(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Detail
	}
	return err.Error()
}

// CatalogImport is a catalog to bring in: providers and products in the
// shape of NewProvider and NewProduct.
type CatalogImport struct {
	Providers []NewProvider
	Products  []NewProduct
}

// ImportSummary says what ImportCatalog did.
type ImportSummary struct {
	ProvidersAdded   int
	ProvidersUpdated int
	ProductsAdded    int
	ProductsUpdated  int
	// Prices are the selling prices that moved; the members of each level
	// were sent them as price_update webhooks.
	Prices []PriceChange
}

// ImportCatalog brings in a catalog in one transaction, after checking
// every row (a bad row refuses the import, with a fault naming it). A
// provider is matched by code: a new one is added, a known one gets the
// import's name, active switch, icon, position and form. A product is
// matched by code: a new one is added; a known one gets the import's name,
// provider and active switch, its SKUs replaced by the import's when the
// import lists any, and the import's explicit prices set (the others
// stay). Prices that move are sent to the members of their level as
// price_update webhooks. also (when not nil) runs inside the transaction.
// Importing the same catalog twice changes nothing the second time.
func (s *Store) ImportCatalog(ctx context.Context, in CatalogImport, also func(tx *db.Tx, sum ImportSummary) error) (ImportSummary, error) {
	if len(in.Providers) == 0 && len(in.Products) == 0 {
		return ImportSummary{}, fault.New(fault.Missing, "nothing to import: give providers or products")
	}
	type provRow struct {
		p      Provider
		stored string
	}
	provs := make([]provRow, len(in.Providers))
	seen := map[string]bool{}
	for i, np := range in.Providers {
		p, stored, err := prepareProvider(np)
		if err != nil {
			return ImportSummary{}, fault.Field(fault.CodeOf(err), "providers", "provider %d: %s %s", i+1, fault.FieldOf(err), detail(err))
		}
		if seen[p.Code] {
			return ImportSummary{}, fault.Field(fault.Invalid, "providers", "provider %d: %s is listed twice", i+1, p.Code)
		}
		seen[p.Code] = true
		provs[i] = provRow{p, stored}
	}
	prods := make([]preparedProduct, len(in.Products))
	seen = map[string]bool{}
	for i, np := range in.Products {
		p, err := prepareProduct(np)
		if err != nil {
			return ImportSummary{}, fault.Field(fault.CodeOf(err), "products", "product %d: %s %s", i+1, fault.FieldOf(err), detail(err))
		}
		if seen[p.code] {
			return ImportSummary{}, fault.Field(fault.Invalid, "products", "product %d: %s is listed twice", i+1, p.code)
		}
		seen[p.code] = true
		p.skusGiven = len(np.SKUs) > 0
		prods[i] = p
	}
	now := s.clock()
	var sum ImportSummary
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		sum = ImportSummary{}
		levels, err := levelsTx(tx)
		if err != nil {
			return err
		}
		sum.Prices, err = s.repriced(tx, scopeAll, nil, levels, now, func() error {
			for i, r := range provs {
				if err := importProviderTx(tx, r.p, r.stored, now.UnixMicro(), &sum); err != nil {
					return rowFault(err, "providers", "provider %d: %s", i+1, detail(err))
				}
			}
			for i, p := range prods {
				if err := importProductTx(tx, p, now.UnixMicro(), &sum); err != nil {
					return rowFault(err, "products", "product %d: %s", i+1, detail(err))
				}
			}
			return nil
		})
		if err != nil || also == nil {
			return err
		}
		return also(tx, sum)
	})
	if err != nil {
		return ImportSummary{}, err
	}
	return sum, nil
}

// importProviderTx adds or updates provider p; see ImportCatalog.
func importProviderTx(tx *db.Tx, p Provider, stored string, now int64, sum *ImportSummary) error {
	before, err := scanProvider(tx.QueryRow("SELECT "+providerCols+" FROM providers WHERE code = ?", p.Code))
	if errors.Is(err, db.ErrNotFound) {
		if err := insertProviderTx(tx, &p, stored, now); err != nil {
			return conflict(err, "code", "provider code %q or id %d is taken", p.Code, p.ID)
		}
		sum.ProvidersAdded++
		return nil
	}
	if err != nil {
		return err
	}
	beforeForms, err := encodeForms(before.Forms)
	if err != nil {
		return err
	}
	if before.Name == p.Name && before.Active == p.Active && before.Icon == p.Icon && before.Position == p.Position && beforeForms == stored {
		return nil
	}
	if _, err := tx.Exec(`UPDATE providers SET name = ?, active = ?, icon = ?, forms = ?, position = ?, updated_at = ?
		WHERE id = ?`, p.Name, p.Active, p.Icon, stored, p.Position, now, before.ID); err != nil {
		return err
	}
	sum.ProvidersUpdated++
	return nil
}

// importProductTx adds or updates product p; see ImportCatalog.
func importProductTx(tx *db.Tx, p preparedProduct, now int64, sum *ImportSummary) error {
	var id int64
	err := tx.QueryRow("SELECT id FROM products WHERE code = ?", p.code).Scan(&id)
	if errors.Is(err, db.ErrNotFound) {
		if _, err := insertProductTx(tx, p, now); err != nil {
			return err
		}
		sum.ProductsAdded++
		return nil
	}
	if err != nil {
		return err
	}
	before, err := listedOneTx(tx, id)
	if err != nil {
		return err
	}
	for level := range p.prices {
		if err := checkLevel(tx, "prices", level); err != nil {
			return err
		}
	}
	same := before.Name == p.name && before.Active == p.active && before.Provider == p.provider
	if p.skusGiven && !slices.Equal(before.SKUs, p.skus) {
		same = false
	}
	for _, lp := range before.Prices {
		if price, ok := p.prices[lp.Level]; ok && price != lp.Explicit {
			same = false
		}
	}
	if same {
		return nil
	}
	c := ProductChanges{Name: &p.name, Active: &p.active, Provider: &p.provider}
	if p.skusGiven {
		c.SKUs = &p.skus
	}
	if err := updateProductTx(tx, id, before, c, p.skus, p.prices, nil, now); err != nil {
		return err
	}
	sum.ProductsUpdated++
	return nil
}
