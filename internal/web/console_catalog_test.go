package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/operator"
)

// catalogFixture adds provider GAME with product P1 (cost 1.000, a +10 %
// rule for reseller: Rp 1.100) and gives budi, a reseller, a webhook URL.
func (s *site) catalogFixture() {
	s.t.Helper()
	ctx := context.Background()
	if _, err := s.cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true}); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.cat.AddProduct(ctx, catalog.NewProduct{Code: "P1", Name: "Seribu", Provider: "GAME", Active: true,
		SKUs: []catalog.SKU{{Supplier: "sim", SKU: "A1", Cost: 1000, Active: true}}}); err != nil {
		s.t.Fatal(err)
	}
	if err := s.cat.SetRule(ctx, "reseller", 1000, 0); err != nil {
		s.t.Fatal(err)
	}
	if err := s.hooks.SetURL(ctx, s.member.ID, "https://hooks.example.com/budi"); err != nil {
		s.t.Fatal(err)
	}
}

// priceUpdates counts budi's price_update messages.
func (s *site) priceUpdates() int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), "SELECT COUNT(*) FROM webhook_messages WHERE kind = 'price_update'").Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *site) resellerPrice(code string) int64 {
	s.t.Helper()
	p, err := s.cat.Product(context.Background(), code, "reseller")
	if err != nil {
		s.t.Fatal(err)
	}
	return p.Price
}

// TestConsoleCatalog: providers and products are listed with their form
// fields and per-level prices; created and edited with the operator API's
// audit rows; a bad form changes nothing and says why; a viewer gets no
// forms.
func TestConsoleCatalog(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		s.catalogFixture()
		s.addOperator("kato", operator.Catalog)
		kato, vina := s.browser(), s.browser()
		kato.signIn("admin", "kato")
		vina.signIn("admin", "vina")

		r := kato.get("/admin/catalog")
		if r.status != 200 || !strings.Contains(r.body, `id="product-P1"`) || !strings.Contains(r.body, "1.100") ||
			!strings.Contains(r.body, "sim/A1") || !strings.Contains(r.body, "/admin/catalog/products/new") {
			t.Errorf("the product list: %d, without P1, its reseller price, its SKU or the new-product link", r.status)
		}
		if r := vina.get("/admin/catalog"); r.status != 200 || strings.Contains(r.body, "/admin/catalog/products/new") ||
			strings.Contains(r.body, `href="/admin/catalog/prices"`) {
			t.Error("the viewer is offered changes")
		}
		if r := vina.get("/admin/catalog/products/P1"); r.status != 200 || strings.Contains(r.body, `id="product-form"`) {
			t.Errorf("the viewer's product page: %d, with a form", r.status)
		}
		if r := kato.get("/admin/catalog/products/NOPE"); r.status != http.StatusNotFound {
			t.Errorf("unknown product: %d", r.status)
		}

		// Providers.
		forms := `[{"label":"User ID","key":"user_id","type":"text","pattern":"[0-9]+"}]`
		steps := []struct {
			name, from, action string
			form               url.Values
			status             int
			want               string // in the body, or the redirect
		}{
			{"provider: bad forms", "/admin/catalog/providers", "/admin/catalog/providers",
				url.Values{"code": {"ML"}, "name": {"Mobile Legends"}, "forms": {"[{"}, "comment": {"baru"}}, 400, "tidak valid"},
			{"provider: no comment", "/admin/catalog/providers", "/admin/catalog/providers",
				url.Values{"code": {"ML"}, "name": {"Mobile Legends"}, "forms": {forms}}, 400, "Komentar wajib diisi"},
			{"provider: created", "/admin/catalog/providers", "/admin/catalog/providers",
				url.Values{"code": {"ML"}, "name": {"Mobile Legends"}, "active": {"on"}, "forms": {forms}, "comment": {"baru"}},
				303, "/admin/catalog/providers/ML?done=saved"},
			{"provider: duplicate", "/admin/catalog/providers", "/admin/catalog/providers",
				url.Values{"code": {"ML"}, "name": {"Lagi"}, "forms": {"[]"}, "comment": {"baru"}}, 409, ""},
			{"provider: edited", "/admin/catalog/providers/ML", "/admin/catalog/providers/ML",
				url.Values{"name": {"MLBB"}, "active": {"on"}, "position": {"2"}, "forms": {forms}, "comment": {"ganti nama"}},
				303, "/admin/catalog/providers/ML?done=saved"},
			{"product: bad SKU line", "/admin/catalog/products/new", "/admin/catalog/products/new",
				url.Values{"code": {"P2"}, "name": {"Dua"}, "provider": {"GAME"}, "skus": {"sim B2 satu 2000"}, "comment": {"baru"}}, 400, "line 1"},
			{"product: unknown level", "/admin/catalog/products/new", "/admin/catalog/products/new",
				url.Values{"code": {"P2"}, "name": {"Dua"}, "provider": {"GAME"}, "skus": {"sim B2 1 2000"}, "prices": {"sultan 2500"}, "comment": {"baru"}}, 400, ""},
			{"product: created", "/admin/catalog/products/new", "/admin/catalog/products/new",
				url.Values{"code": {"P2"}, "name": {"Dua"}, "provider": {"GAME"}, "active": {"on"}, "skus": {"sim B2 1 2000\nsim B3 2 2100 off"},
					"prices": {"reseller 2500"}, "comment": {"baru"}}, 303, "/admin/catalog/products/P2?done=saved"},
			{"product: explicit price removed", "/admin/catalog/products/P2", "/admin/catalog/products/P2",
				url.Values{"name": {"Dua"}, "provider": {"ML"}, "active": {"on"}, "skus": {"sim B2 1 2000"}, "prices": {""}, "comment": {"ikut aturan"}},
				303, "/admin/catalog/products/P2?done=saved"},
		}
		for _, st := range steps {
			r := kato.submit(st.from, st.action, st.form)
			if r.status != st.status || st.status == 303 && r.location != st.want || st.status != 303 && !strings.Contains(r.body, st.want) {
				t.Errorf("%s: %d → %q, want %d %q", st.name, r.status, r.location, st.status, st.want)
			}
		}
		ctx := context.Background()
		ml, err := s.cat.ProviderByCode(ctx, "ML")
		if err != nil || ml.Name != "MLBB" || ml.Position != 2 || len(ml.Forms) != 1 || ml.Forms[0].Key != "user_id" {
			t.Errorf("provider ML: %+v %v", ml, err)
		}
		if r := kato.get("/admin/catalog/providers"); !strings.Contains(r.body, "User ID (user_id, text)") {
			t.Error("the provider list lacks ML's form field")
		}
		p2, err := s.cat.ListedProduct(ctx, "P2")
		if err != nil || p2.Provider != "ML" || len(p2.SKUs) != 1 || s.resellerPrice("P2") != 2200 {
			t.Errorf("product P2: %+v %v (reseller %d, want the rule's 2.200)", p2, err, s.resellerPrice("P2"))
		}
		if r := kato.get("/admin/catalog/products/P2"); !strings.Contains(r.body, "sim B2 1 2000") {
			t.Error("the product form does not show its SKU lines")
		}
		for action, n := range map[string]int{"provider.create": 1, "provider.update": 1, "product.create": 1, "product.update": 1} {
			if es := s.audits(action); len(es) != n || es[0].Operator != "kato" {
				t.Errorf("%s: %d audit rows", action, len(es))
			}
		}
		s.verify()
	})
}

// TestConsoleBulkPrices: the preview lists the prices that would move and
// the members who would get a price_update with their row counts, and
// changes nothing; the apply makes exactly the previewed change in one
// audit row.
func TestConsoleBulkPrices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		s.catalogFixture()
		ani := s.browser()
		ani.signIn("admin", "ani")
		change := url.Values{"prices": {"P1 reseller 1.234\nP1 member 0"}, "rules": {"h2h 500 0"}}

		r := ani.submit("/admin/catalog/prices", "/admin/catalog/prices/preview", change)
		if r.status != 200 || !strings.Contains(r.body, `id="preview-changes"`) || !strings.Contains(r.body, "1.234") ||
			!strings.Contains(r.body, `<a href="/admin/members/budi">budi</a> (reseller): 1 baris`) {
			t.Fatalf("preview: %d %s", r.status, r.body)
		}
		if s.resellerPrice("P1") != 1100 || s.priceUpdates() != 0 || len(s.audits("prices.set")) != 0 {
			t.Fatal("the preview changed something")
		}
		if r := ani.submit("/admin/catalog/prices", "/admin/catalog/prices/preview", url.Values{"prices": {"P9 reseller 1"}}); r.status != 400 ||
			!strings.Contains(r.body, "P9") {
			t.Errorf("preview of an unknown product: %d", r.status)
		}
		if r := ani.submit("/admin/catalog/prices", "/admin/catalog/prices/preview", url.Values{"prices": {"P1 reseller"}}); r.status != 400 ||
			!strings.Contains(r.body, "line 1") {
			t.Errorf("preview of a short line: %d", r.status)
		}
		if r := ani.submit("/admin/catalog/prices", "/admin/catalog/prices", change); r.status != 400 || s.resellerPrice("P1") != 1100 {
			t.Errorf("apply without a comment: %d", r.status)
		}
		change.Set("comment", "promo")
		if r := ani.submit("/admin/catalog/prices", "/admin/catalog/prices", change); r.status != 303 || r.location != "/admin/catalog/prices?done=prices" {
			t.Fatalf("apply: %d %q", r.status, r.location)
		}
		if s.resellerPrice("P1") != 1234 || s.priceUpdates() != 1 {
			t.Errorf("after apply: reseller %d, %d price_update messages", s.resellerPrice("P1"), s.priceUpdates())
		}
		if es := s.audits("prices.set"); len(es) != 1 || es[0].Operator != "ani" || es[0].Comment != "promo" {
			t.Errorf("audit: %+v", es)
		}
		// Previewing it again: nothing would move, nobody would be told.
		if r := ani.submit("/admin/catalog/prices", "/admin/catalog/prices/preview", change); !strings.Contains(r.body, "Tidak ada harga yang berubah") {
			t.Error("a no-op preview does not say so")
		}
		s.verify()
	})
}

// TestConsoleImport: a pasted JSON catalog is imported with one audit row
// and its summary shown; malformed JSON is refused; the supplier import
// says when the server has no importer.
func TestConsoleImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		s.catalogFixture()
		ani := s.browser()
		ani.signIn("admin", "ani")
		doc := `{"providers":[{"code":"PLN","name":"Token PLN"}],
			"products":[{"code":"PLN20","name":"PLN 20rb","provider":"PLN","skus":[{"supplier":"sim","sku":"PLN20","cost":20500}],"prices":{"reseller":21000}},
			{"code":"P1","name":"Seribu baru","provider":"GAME","skus":[{"supplier":"sim","sku":"A1","cost":1000}]}]}`
		cases := []struct {
			name, action string
			form         url.Values
			status       int
			want         string
		}{
			{"not JSON", "/admin/catalog/import", url.Values{"json": {"{providers"}, "comment": {"x"}}, 400, "tidak valid"},
			{"empty", "/admin/catalog/import", url.Values{"json": {""}, "comment": {"x"}}, 400, "tidak valid"},
			{"bad product", "/admin/catalog/import", url.Values{"json": {`{"products":[{"code":"X","name":"X","provider":"NOPE"}]}`}, "comment": {"x"}}, 400, ""},
			{"imported", "/admin/catalog/import", url.Values{"json": {doc}, "comment": {"katalog awal"}}, 200, "+1 / 0 Provider, +1 / 1 Produk"},
			{"no importer", "/admin/catalog/import/supplier", url.Values{"supplier": {"digi"}, "comment": {"sinkron"}}, 422, "tidak tersedia"},
			{"supplier without comment", "/admin/catalog/import/supplier", url.Values{"supplier": {"digi"}}, 400, "Komentar wajib diisi"},
		}
		for _, tc := range cases {
			r := ani.submit("/admin/catalog/import", tc.action, tc.form)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Errorf("%s: %d, want %d with %q", tc.name, r.status, tc.status, tc.want)
			}
		}
		if s.resellerPrice("PLN20") != 21000 {
			t.Errorf("PLN20 for reseller: %d", s.resellerPrice("PLN20"))
		}
		if es := s.audits("catalog.import"); len(es) != 1 || es[0].Comment != "katalog awal" {
			t.Errorf("import audit rows: %+v", es)
		}
		s.verify()
	})
}
