package catalog

import "context"

// PrepaidProviders is Providers without the e-wallet operators (the
// providers of e-wallet products): those are sold through the PPOB face,
// by amount, and have nothing the prepaid face could sell.
func (s *Store) PrepaidProviders(ctx context.Context, activeOnly bool) ([]Provider, error) {
	return s.providers(ctx, `NOT EXISTS (SELECT 1 FROM products p
		JOIN ewallet_products e ON e.product_id = p.id WHERE p.provider_id = providers.id)`, activeOnly)
}
