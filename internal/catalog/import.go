package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"kios/internal/db"
	"kios/internal/fault"
)

// ImportProvider is a supplier's provider as its catalog lists it, with
// its products.
type ImportProvider struct {
	Code     string
	Name     string
	Active   bool
	Icon     string // the supplier's icon file name; kept only when kios ships that icon
	Forms    []Field
	Products []ImportProduct
}

// ImportProduct is one of a supplier's products: its code is the SKU we
// order it by, its price to us our cost.
type ImportProduct struct {
	Code   string
	Name   string
	Active bool
	Cost   int64
}

// ImportOptions tunes Import.
type ImportOptions struct {
	// Prefix is put before the supplier's provider and product codes to
	// make ours ("" keeps them as they are).
	Prefix string
}

// ImportResult says what Import did.
type ImportResult struct {
	ProvidersAdded int
	ProductsAdded  int
	// SKUsAdded counts the supplier's SKUs added to products we already
	// had (at the lowest priority).
	SKUsAdded int
	// Unchanged counts products whose SKU of this supplier already had the
	// supplier's cost.
	Unchanged int
	// Costs are the supplier's SKUs, of products we already had, whose
	// cost at the supplier differs from ours, with the new cost. Import
	// does not change them: the caller passes them to ApplyCosts, which
	// also moves the prices that follow and tells the members.
	Costs map[string]int64
	// Skipped names what could not be imported, and why.
	Skipped []string
}

// Import makes a supplier's catalog ours. A provider we do not have (by
// Prefix + its code) is added with its order form; a product we do not
// have is added, delivered by supplier with the product's code as SKU and
// its price as cost, priced for every level by the level's Rule. A product
// we already have gets the supplier's SKU at its lowest priority if it
// lacks one; if it has one whose cost differs, the new cost is reported in
// Costs. Running Import again with the same catalog changes nothing.
// Products without a price (cost 0) and codes kios cannot take are
// skipped and named in Skipped.
func (s *Store) Import(ctx context.Context, supplier string, provs []ImportProvider, opt ImportOptions) (ImportResult, error) {
	var res ImportResult
	if !supplierPattern.MatchString(supplier) {
		return res, fault.Field(fault.Invalid, "supplier", "must be 1 to 32 characters of a-z, 0-9, '_' and '-'")
	}
	for _, ip := range provs {
		code := opt.Prefix + strings.TrimSpace(ip.Code)
		if _, err := s.ProviderByCode(ctx, code); fault.CodeOf(err) == fault.NotFound {
			icon := ip.Icon
			if _, err := fs.Stat(Icons, icon); icon == "" || err != nil {
				icon = ""
			}
			_, err := s.AddProvider(ctx, NewProvider{Code: code, Name: ip.Name, Active: ip.Active, Icon: icon, Forms: ip.Forms})
			if err != nil {
				if fault.CodeOf(err) == fault.Invalid || fault.CodeOf(err) == fault.Missing {
					res.Skipped = append(res.Skipped, fmt.Sprintf("provider %s and its %d products: %v", ip.Code, len(ip.Products), err))
					continue
				}
				return res, err
			}
			res.ProvidersAdded++
		} else if err != nil {
			return res, err
		}
		for _, q := range ip.Products {
			if err := s.importProduct(ctx, supplier, code, opt.Prefix, q, &res); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// importProduct imports one product of provider (our code); see Import.
func (s *Store) importProduct(ctx context.Context, supplier, provider, prefix string, q ImportProduct, res *ImportResult) error {
	sku := strings.TrimSpace(q.Code)
	if q.Cost <= 0 || q.Cost > MaxMoney {
		res.Skipped = append(res.Skipped, fmt.Sprintf("product %s: no usable price (%d)", sku, q.Cost))
		return nil
	}
	code := prefix + sku
	p, err := s.Product(ctx, code, "")
	switch {
	case fault.CodeOf(err) == fault.NotFound:
		_, err := s.AddProduct(ctx, NewProduct{Code: code, Name: q.Name, Provider: provider, Active: q.Active,
			SKUs: []SKU{{Supplier: supplier, SKU: sku, Cost: q.Cost, Active: true}}})
		if c := fault.CodeOf(err); c == fault.Invalid || c == fault.Missing || c == fault.Conflict {
			res.Skipped = append(res.Skipped, fmt.Sprintf("product %s: %v", sku, err))
			return nil
		}
		if err == nil {
			res.ProductsAdded++
		}
		return err
	case err != nil:
		return err
	}
	for _, k := range p.SKUs {
		if k.Supplier == supplier && k.SKU == sku {
			if k.Cost == q.Cost {
				res.Unchanged++
			} else {
				if res.Costs == nil {
					res.Costs = map[string]int64{}
				}
				res.Costs[sku] = q.Cost
			}
			return nil
		}
	}
	if err := s.addSKU(ctx, p.ID, SKU{Supplier: supplier, SKU: sku, Cost: q.Cost, Active: true}); err != nil {
		return err
	}
	res.SKUsAdded++
	return nil
}

// addSKU gives the product with id one more SKU, after all it has.
func (s *Store) addSKU(ctx context.Context, productID int64, k SKU) error {
	if _, err := normalizeSKUs([]SKU{k}); err != nil {
		return err
	}
	now := s.clock().UnixMicro()
	defer s.invalidate()
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var last int64
		if err := tx.QueryRow("SELECT COALESCE(MAX(priority), 0) FROM product_skus WHERE product_id = ?", productID).Scan(&last); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO product_skus (product_id, supplier, sku, priority, cost, active, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, productID, k.Supplier, k.SKU, last+1, k.Cost, k.Active, now)
		return err
	})
	if errors.Is(err, db.ErrConflict) {
		return nil // added meanwhile by another import
	}
	return err
}
