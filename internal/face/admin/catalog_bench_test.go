package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"kios/internal/catalog"
	"kios/internal/dbtest"
	"kios/internal/operator"
)

// benchCatalog fills the catalog with one provider of n products, each
// with two SKUs and an explicit reseller price, and a markup rule for
// member; ten resellers have a webhook URL.
func benchCatalog(b *testing.B, e *env, n int) {
	b.Helper()
	ctx := context.Background()
	if _, err := e.cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true}); err != nil {
		b.Fatal(err)
	}
	if err := e.cat.SetRule(ctx, "member", 500, 0); err != nil {
		b.Fatal(err)
	}
	in := catalog.CatalogImport{}
	for i := range n {
		in.Products = append(in.Products, catalog.NewProduct{Code: fmt.Sprintf("G-%05d", i), Name: fmt.Sprintf("%d Gems", i),
			Provider: "GAME", Active: true, Prices: map[string]int64{"reseller": int64(1000 + i)},
			SKUs: []catalog.SKU{{Supplier: "sim-a", SKU: fmt.Sprint("A", i), Cost: int64(900 + i), Active: true},
				{Supplier: "sim-b", SKU: fmt.Sprint("B", i), Cost: int64(950 + i), Active: true}}})
	}
	if _, err := e.cat.ImportCatalog(ctx, in, nil); err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		m := e.member(b, fmt.Sprint("res", i), "", 0)
		if err := e.hooks.SetURL(ctx, m.ID, "https://example.com/hook"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProductsPage measures one page of 50 of GET /api/admin/products
// over 2,000 products, over HTTP on loopback: the count, the page with
// its SKUs and explicit prices, and every level's price resolved.
func BenchmarkProductsPage(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			dsn := dbtest.DSN(b, target)
			if dsn == "" {
				b.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			e := newEnv(b, dbtest.Open(b, dsn))
			benchCatalog(b, e, 2000)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				status, body := e.call(b, operator.Viewer, "GET", fmt.Sprintf("/api/admin/products?page=%d", 1+i%40), "")
				if status != 200 {
					b.Fatalf("%d %s", status, body)
				}
			}
		})
	}
}

// BenchmarkBulkPrices measures POST /api/admin/prices with 100 reseller
// prices over a catalog of 2,000 products: one transaction that reads the
// prices of the whole catalog before and after, writes the rows, an audit
// row and a price_update message for each of ten resellers.
func BenchmarkBulkPrices(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			dsn := dbtest.DSN(b, target)
			if dsn == "" {
				b.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			e := newEnv(b, dbtest.Open(b, dsn))
			benchCatalog(b, e, 2000)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				var rows []string
				for j := range 100 {
					rows = append(rows, fmt.Sprintf(`{"product_code":"G-%05d","level":"reseller","price":%d}`, (i*100+j)%2000, 5000+i))
				}
				status, body := e.call(b, operator.Catalog, "POST", "/api/admin/prices?comment=bench", "["+strings.Join(rows, ",")+"]")
				if status != 200 || !strings.Contains(body, `"changed":100`) {
					b.Fatalf("%d %.300s", status, body)
				}
			}
		})
	}
}
