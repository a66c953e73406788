package catalog

import "context"

// PrepaidProviders is Providers without the e-wallet operators (the
// providers of e-wallet products): those are sold through the PPOB face,
// by amount, and have nothing the prepaid face could sell.
func (s *Store) PrepaidProviders(ctx context.Context, activeOnly bool) ([]Provider, error) {
	q := "SELECT " + providerCols + ` FROM providers WHERE NOT EXISTS (SELECT 1 FROM products p
		JOIN ewallet_products e ON e.product_id = p.id WHERE p.provider_id = providers.id)`
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
