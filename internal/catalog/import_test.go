package catalog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
)

var upstreamCatalog = []catalog.ImportProvider{
	{Code: "AKV-BJ", Name: "Astra Knights of Veda", Active: true, Icon: "akv.png",
		Forms: []catalog.Field{{Label: "UID", Key: "id", Type: catalog.Text},
			{Label: "Server", Key: "server", Type: catalog.Dropdown, Options: []catalog.Option{{Name: "SEA", Code: "10040200"}}}},
		Products: []catalog.ImportProduct{
			{Code: "AKV-BJ-10", Name: "10 Gems", Active: true, Cost: 1_000},
			{Code: "AKV-BJ-20", Name: "20 Gems", Active: false, Cost: 2_000},
			{Code: "AKV-BJ-FREE", Name: "Free", Active: true, Cost: 0},
		}},
	{Code: "BAD CODE", Name: "Broken", Active: true, Products: []catalog.ImportProduct{{Code: "X", Name: "X", Cost: 1}}},
}

// TestImport: a supplier's catalog becomes ours with its forms and its
// prices as costs, priced by the level rule; importing again changes
// nothing; a product we already had gets the supplier's SKU last; new
// costs are reported for ApplyCosts, not applied; what cannot be taken is
// named.
func TestImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := catalog.NewStore(d, time.Now)
		if err := s.SetRule(ctx, "reseller", 500, 10); err != nil {
			t.Fatal(err)
		}
		// We already sell AKV-BJ-10 through another supplier.
		if _, err := s.AddProvider(ctx, catalog.NewProvider{Code: "AKV-BJ", Name: "AKV", Active: true,
			Forms: []catalog.Field{{Label: "UID", Key: "id", Type: catalog.Text}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddProduct(ctx, catalog.NewProduct{Code: "AKV-BJ-10", Name: "10 Gems", Provider: "AKV-BJ", Active: true,
			SKUs: []catalog.SKU{{Supplier: "other", SKU: "O10", Cost: 900, Active: true}}}); err != nil {
			t.Fatal(err)
		}

		res, err := s.Import(ctx, "up", upstreamCatalog, catalog.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ProvidersAdded != 0 || res.ProductsAdded != 1 || res.SKUsAdded != 1 || len(res.Costs) != 0 || len(res.Skipped) != 2 ||
			!strings.Contains(res.Skipped[0], "AKV-BJ-FREE") || !strings.Contains(res.Skipped[1], "BAD CODE") {
			t.Fatalf("first import: %+v", res)
		}
		p, err := s.Product(ctx, "AKV-BJ-10", "reseller")
		if err != nil || len(p.SKUs) != 2 || p.SKUs[1] != (catalog.SKU{Supplier: "up", SKU: "AKV-BJ-10", Priority: 2, Cost: 1_000, Active: true}) {
			t.Fatalf("existing product: %+v %v", p.SKUs, err)
		}
		p, err = s.Product(ctx, "AKV-BJ-20", "reseller")
		if err != nil || p.Active || p.Cost != 2_000 || p.Price != 2_000+100+10 || p.PriceSource != catalog.PriceRule {
			t.Fatalf("new product: %+v %v", p, err)
		}

		// With a prefix the provider is new too, with the supplier's form.
		res, err = s.Import(ctx, "up", upstreamCatalog[:1], catalog.ImportOptions{Prefix: "U-"})
		if err != nil || res.ProvidersAdded != 1 || res.ProductsAdded != 2 {
			t.Fatalf("prefixed import: %+v %v", res, err)
		}
		prov, err := s.ProviderByCode(ctx, "U-AKV-BJ")
		if err != nil || prov.Icon != "akv.png" || len(prov.Forms) != 2 || prov.Forms[1].Options[0].Code != "10040200" {
			t.Fatalf("imported provider: %+v %v", prov, err)
		}

		// Again, unchanged: nothing happens. With a new price: reported.
		res, err = s.Import(ctx, "up", upstreamCatalog[:1], catalog.ImportOptions{Prefix: "U-"})
		if err != nil || res.ProvidersAdded+res.ProductsAdded+res.SKUsAdded != 0 || res.Unchanged != 2 || len(res.Costs) != 0 {
			t.Fatalf("second import: %+v %v", res, err)
		}
		changed := []catalog.ImportProvider{upstreamCatalog[0]}
		changed[0].Products = []catalog.ImportProduct{{Code: "AKV-BJ-10", Name: "10 Gems", Active: true, Cost: 1_100}}
		res, err = s.Import(ctx, "up", changed, catalog.ImportOptions{Prefix: "U-"})
		if err != nil || len(res.Costs) != 1 || res.Costs["AKV-BJ-10"] != 1_100 {
			t.Fatalf("changed import: %+v %v", res, err)
		}
		if p, _ := s.Product(ctx, "U-AKV-BJ-10", "reseller"); p.Cost != 1_000 {
			t.Fatalf("Import changed a cost itself: %d", p.Cost)
		}
		if _, err := s.Import(ctx, "Not A Name", nil, catalog.ImportOptions{}); err == nil {
			t.Fatal("a bad supplier name was taken")
		}
	})
}
