package admin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/face/admin"
	"kios/internal/fault"
	"kios/internal/operator"
	"kios/internal/server"
)

var catalogWriters = []operator.Role{operator.Admin, operator.Catalog}

func init() {
	roleMatrix = append(roleMatrix,
		endpoint{"catalog", "GET", "/api/admin/providers", "", all},
		endpoint{"catalog", "POST", "/api/admin/providers", `{}`, catalogWriters},
		endpoint{"catalog", "PATCH", "/api/admin/providers/NOPE", `{}`, catalogWriters},
		endpoint{"catalog", "GET", "/api/admin/products", "", all},
		endpoint{"catalog", "GET", "/api/admin/products/NOPE", "", all},
		endpoint{"catalog", "POST", "/api/admin/products", `{}`, catalogWriters},
		endpoint{"catalog", "PATCH", "/api/admin/products/NOPE", `{}`, catalogWriters},
		endpoint{"catalog", "GET", "/api/admin/prices", "", all},
		endpoint{"catalog", "POST", "/api/admin/prices", `[]`, catalogWriters},
		endpoint{"catalog", "POST", "/api/admin/catalog/import", `{}`, catalogWriters},
	)
}

// priceUpdates returns the price_update messages the outbox holds for
// member id, oldest first.
func (e *env) priceUpdates(t *testing.T, memberID int64) []string {
	t.Helper()
	rows, err := e.d.Query(context.Background(),
		"SELECT payload FROM webhook_messages WHERE member_id = ? AND kind = 'price_update' ORDER BY id", memberID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// auditRows returns how many audit rows there are in all.
func (e *env) auditRows(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.d.QueryRow(context.Background(), "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// listedProduct is a product row of the API.
type listedProduct struct {
	Code     string `json:"code"`
	Provider string `json:"provider"`
	Active   bool   `json:"active"`
	SKUs     []struct {
		Supplier string `json:"supplier"`
		SKU      string `json:"sku"`
		Priority int    `json:"priority"`
		Cost     int64  `json:"cost"`
	} `json:"skus"`
	Prices []struct {
		Level  string `json:"level"`
		Price  int64  `json:"price"`
		Source string `json:"source"`
	} `json:"prices"`
}

func (p listedProduct) price(level string) (int64, string) {
	for _, lp := range p.Prices {
		if lp.Level == level {
			return lp.Price, lp.Source
		}
	}
	return -1, ""
}

func TestProvidersCreateUpdateList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		status, body := e.call(t, operator.Catalog, "POST", "/api/admin/providers",
			`{"code":"MLBB","name":"Mobile Legends","position":2,"comment":"game baru",
			  "forms":[{"label":"User ID","key":"user_id","type":"text","pattern":"[0-9]+"},
			           {"label":"Server","key":"server","type":"dropdown","options":[{"name":"Asia","code":"as"}]}]}`)
		if status != 200 || !strings.Contains(body, `"code":"MLBB"`) || !strings.Contains(body, `"active":true`) {
			t.Fatalf("create: %d %s", status, body)
		}
		op, comment, _, after := e.auditOf(t, "provider.create", "MLBB")
		if op != "op-catalog" || comment != "game baru" || !strings.Contains(after, `"key":"server"`) {
			t.Errorf("create audit: %s %q %s", op, comment, after)
		}
		status, body = e.call(t, operator.Admin, "PATCH", "/api/admin/providers/MLBB",
			`{"active":false,"name":"MLBB","comment":"gangguan"}`)
		if status != 200 || !strings.Contains(body, `"active":false`) || !strings.Contains(body, `"name":"MLBB"`) {
			t.Fatalf("update: %d %s", status, body)
		}
		_, _, before, after := e.auditOf(t, "provider.update", "MLBB")
		if !strings.Contains(before, `"active":true`) || !strings.Contains(after, `"active":false`) ||
			!strings.Contains(after, `"key":"user_id"`) {
			t.Errorf("update audit: before %s after %s", before, after)
		}
		p, err := e.cat.ProviderByCode(context.Background(), "MLBB")
		if err != nil || p.Active || len(p.Forms) != 2 || p.Position != 2 {
			t.Errorf("stored: %+v %v", p, err)
		}
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/providers?per_page=1", "")
		l := decodeJSON[struct {
			Data []struct {
				Code  string          `json:"code"`
				Forms json.RawMessage `json:"forms"`
			} `json:"data"`
			TotalRows int `json:"total_rows"`
		}](t, body)
		if status != 200 || l.TotalRows != 1 || len(l.Data) != 1 || l.Data[0].Code != "MLBB" || !strings.Contains(string(l.Data[0].Forms), "dropdown") {
			t.Errorf("list: %d %s", status, body)
		}

		audits := e.auditRows(t)
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"no comment", "POST", "/api/admin/providers", `{"code":"FF","name":"Free Fire"}`, 400, "comment"},
			{"bad code", "POST", "/api/admin/providers", `{"code":"no spaces","name":"x","comment":"c"}`, 400, "code"},
			{"code taken", "POST", "/api/admin/providers", `{"code":"MLBB","name":"x","comment":"c"}`, 409, "code"},
			{"bad form", "POST", "/api/admin/providers", `{"code":"FF","name":"x","forms":[{"label":"x","key":"1bad","type":"text"}],"comment":"c"}`, 400, "forms"},
			{"wrong type", "POST", "/api/admin/providers", `{"code":"FF","name":"x","position":"first","comment":"c"}`, 400, "position"},
			{"nothing to change", "PATCH", "/api/admin/providers/MLBB", `{"comment":"c"}`, 400, ""},
			{"unknown provider", "PATCH", "/api/admin/providers/NOPE", `{"active":true,"comment":"c"}`, 404, "provider"},
		} {
			status, body := e.call(t, operator.Admin, tc.method, tc.path, tc.body)
			er := decodeJSON[apiErr](t, body)
			if status != tc.status || er.Error.Field != tc.field || er.Error.Message == "" {
				t.Errorf("%s: %d %s; want %d about %q", tc.name, status, body, tc.status, tc.field)
			}
		}
		if n := e.auditRows(t); n != audits {
			t.Errorf("refused changes wrote %d audit rows", n-audits)
		}
	})
}

func TestProductsCreateUpdateWithPriceUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		if err := e.hooks.SetURL(ctx, e.zorro.ID, "https://zorro.example/hook"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cat.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Game", Active: true}); err != nil {
			t.Fatal(err)
		}
		if err := e.cat.SetRule(ctx, "member", 1000, 0); err != nil { // 10 %
			t.Fatal(err)
		}
		status, body := e.call(t, operator.Catalog, "POST", "/api/admin/products",
			`{"code":"G-10","name":"10 Gems","provider":"GAME","comment":"produk baru",
			  "skus":[{"supplier":"sim-a","sku":"A10","cost":900},{"supplier":"sim-b","sku":"B10","cost":950,"active":false}],
			  "prices":{"reseller":1000}}`)
		if status != 200 {
			t.Fatalf("create: %d %s", status, body)
		}
		p := decodeJSON[struct{ Data listedProduct }](t, body).Data
		if len(p.SKUs) != 2 || p.SKUs[0].SKU != "A10" || p.SKUs[1].Priority != 2 {
			t.Errorf("skus: %+v", p.SKUs)
		}
		if price, src := p.price("reseller"); price != 1000 || src != "explicit" {
			t.Errorf("reseller price %d %s", price, src)
		}
		if price, src := p.price("member"); price != 990 || src != "rule" {
			t.Errorf("member price %d %s, want 990 by rule", price, src)
		}
		if price, src := p.price("h2h"); price != 0 || src != "none" {
			t.Errorf("h2h price %d %s, want none", price, src)
		}
		e.auditOf(t, "product.create", "G-10")

		// A new explicit price for reseller and a new first SKU: the
		// reseller (zorro) hears of its new price, once.
		status, body = e.call(t, operator.Admin, "PATCH", "/api/admin/products/G-10",
			`{"prices":{"reseller":1100},"skus":[{"supplier":"sim-b","sku":"B10","cost":800}],"comment":"naik"}`)
		if status != 200 || !strings.Contains(body, `"price_changes":[`) {
			t.Fatalf("update: %d %s", status, body)
		}
		p = decodeJSON[struct{ Data listedProduct }](t, body).Data
		if price, _ := p.price("reseller"); price != 1100 || len(p.SKUs) != 1 || p.SKUs[0].Cost != 800 {
			t.Errorf("after update: %+v", p)
		}
		if price, _ := p.price("member"); price != 880 {
			t.Errorf("member price %d, want 880 by the rule over the new cost", price)
		}
		_, comment, before, after := e.auditOf(t, "product.update", "G-10")
		if comment != "naik" || !strings.Contains(before, `"A10"`) || strings.Contains(after, `"A10"`) {
			t.Errorf("update audit: %q %s → %s", comment, before, after)
		}
		msgs := e.priceUpdates(t, e.zorro.ID)
		if len(msgs) != 1 || !strings.Contains(msgs[0], `{"product_code":"G-10","price_old":1000,"price_new":1100}`) {
			t.Errorf("price_update for zorro: %q", msgs)
		}
		// The order path sees the change at once.
		got, err := e.cat.Product(ctx, "G-10", "reseller")
		if err != nil || got.Price != 1100 || got.Cost != 800 {
			t.Errorf("catalog product: %+v %v", got, err)
		}

		status, body = e.call(t, operator.Viewer, "PATCH", "/api/admin/products/G-10", `{"active":false,"comment":"x"}`)
		if status != 403 {
			t.Errorf("viewer changed a product: %d %s", status, body)
		}
		status, body = e.call(t, operator.Catalog, "PATCH", "/api/admin/products/G-10", `{"active":false,"comment":"habis"}`)
		if status != 200 || !strings.Contains(body, `"active":false`) || !strings.Contains(body, `"price_changes":[]`) {
			t.Errorf("switch off: %d %s", status, body)
		}
		if n := e.auditCount(t, "product.update", "G-10"); n != 2 {
			t.Errorf("%d product.update rows, want 2", n)
		}
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/products?provider=GAME&active=false&q=gem", "")
		if status != 200 || !strings.Contains(body, `"total_rows":1`) || !strings.Contains(body, `"code":"G-10"`) {
			t.Errorf("list: %d %s", status, body)
		}
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/products?active=true", "")
		if status != 200 || !strings.Contains(body, `"total_rows":0`) || !strings.Contains(body, `"data":[]`) {
			t.Errorf("list of active: %d %s", status, body)
		}

		audits := e.auditRows(t)
		for _, tc := range []struct {
			name, method, path, body string
			status                   int
			field                    string
		}{
			{"unknown provider", "POST", "/api/admin/products", `{"code":"X","name":"x","provider":"NOPE","comment":"c"}`, 400, "provider"},
			{"code taken", "POST", "/api/admin/products", `{"code":"G-10","name":"x","provider":"GAME","comment":"c"}`, 409, "code"},
			{"bad sku cost", "POST", "/api/admin/products", `{"code":"X","name":"x","provider":"GAME","skus":[{"supplier":"a","sku":"b","cost":0}],"comment":"c"}`, 400, "skus"},
			{"unknown level", "PATCH", "/api/admin/products/G-10", `{"prices":{"vip":5},"comment":"c"}`, 400, "prices"},
			{"negative price", "PATCH", "/api/admin/products/G-10", `{"prices":{"member":-5},"comment":"c"}`, 400, "prices"},
			{"skus not a list", "PATCH", "/api/admin/products/G-10", `{"skus":{"a":1},"comment":"c"}`, 400, "skus"},
			{"unknown product", "PATCH", "/api/admin/products/NOPE", `{"active":true,"comment":"c"}`, 404, "product"},
			{"unknown product read", "GET", "/api/admin/products/NOPE", ``, 404, "product"},
			{"bad active filter", "GET", "/api/admin/products?active=maybe", ``, 400, "active"},
		} {
			status, body := e.call(t, operator.Admin, tc.method, tc.path, tc.body)
			er := decodeJSON[apiErr](t, body)
			if status != tc.status || er.Error.Field != tc.field {
				t.Errorf("%s: %d %s; want %d about %q", tc.name, status, body, tc.status, tc.field)
			}
		}
		if n := e.auditRows(t); n != audits {
			t.Errorf("refused changes wrote %d audit rows", n-audits)
		}
		if got, _ := e.cat.Product(ctx, "G-10", "reseller"); got.Price != 1100 {
			t.Errorf("a refused change moved the price to %d", got.Price)
		}
	})
}

func TestBulkPrices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		e.placeOrders(t, 0) // GAME with GAME-10: reseller 1.000, cost 900
		if _, err := e.cat.AddProduct(ctx, catalog.NewProduct{Code: "GAME-20", Name: "20 Gems", Provider: "GAME", Active: true,
			Prices: map[string]int64{"reseller": 1900}, SKUs: []catalog.SKU{{Supplier: "sim-a", SKU: "A20", Cost: 1800, Active: true}}}); err != nil {
			t.Fatal(err)
		}
		if err := e.hooks.SetURL(ctx, e.zorro.ID, "https://zorro.example/hook"); err != nil {
			t.Fatal(err)
		}
		h2h := e.member(t, "hulk", "", 0)
		if err := e.members.SetLevel(ctx, h2h.ID, "h2h"); err != nil {
			t.Fatal(err)
		}
		if err := e.hooks.SetURL(ctx, h2h.ID, "https://hulk.example/hook"); err != nil {
			t.Fatal(err)
		}

		// A bad row refuses the whole change: nothing moves, nothing is
		// sent, nothing is audited.
		status, body := e.call(t, operator.Catalog, "POST", "/api/admin/prices?comment=promo",
			`[{"product_code":"GAME-10","level":"reseller","price":950},{"product_code":"NOPE","level":"reseller","price":1}]`)
		if er := decodeJSON[apiErr](t, body); status != 400 || er.Error.Field != "prices" || !strings.Contains(er.Error.Message, "row 2") {
			t.Errorf("bad row: %d %s", status, body)
		}
		if got, _ := e.cat.Product(ctx, "GAME-10", "reseller"); got.Price != 1000 || len(e.priceUpdates(t, e.zorro.ID)) != 0 || e.auditRows(t) != 0 {
			t.Errorf("a refused bulk change left traces: price %d", got.Price)
		}

		// The spec's array: two products for reseller, one for h2h, in one
		// transaction, one audit row, one message per member.
		status, body = e.call(t, operator.Catalog, "POST", "/api/admin/prices?comment=promo",
			`[{"product_code":"GAME-10","level":"reseller","price":950},
			  {"product_code":"GAME-20","level":"reseller","price":1850},
			  {"product_code":"GAME-10","level":"h2h","price":920}]`)
		if status != 200 || !strings.Contains(body, `"changed":3`) {
			t.Fatalf("bulk: %d %s", status, body)
		}
		op, comment, _, _ := e.auditOf(t, "prices.set", "")
		if op != "op-catalog" || comment != "promo" {
			t.Errorf("audit: %s %q", op, comment)
		}
		z := e.priceUpdates(t, e.zorro.ID)
		if len(z) != 1 || !strings.Contains(z[0], `{"product_code":"GAME-10","price_old":1000,"price_new":950}`) ||
			!strings.Contains(z[0], `{"product_code":"GAME-20","price_old":1900,"price_new":1850}`) || strings.Contains(z[0], "920") {
			t.Errorf("zorro's price_update: %q", z)
		}
		hk := e.priceUpdates(t, h2h.ID)
		if len(hk) != 1 || !strings.Contains(hk[0], `{"product_code":"GAME-10","price_old":0,"price_new":920}`) || strings.Contains(hk[0], "GAME-20") {
			t.Errorf("hulk's price_update: %q", hk)
		}

		// The object form sets a rule too; removing an explicit price
		// (0) hands the product back to the rule.
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/prices",
			`{"prices":[{"product_code":"GAME-20","level":"reseller","price":0}],
			  "rules":[{"level":"reseller","percent_bp":500,"flat":10}],"comment":"pakai markup"}`)
		if status != 200 {
			t.Fatalf("rules: %d %s", status, body)
		}
		if got, _ := e.cat.Product(ctx, "GAME-20", "reseller"); got.Price != 1800+90+10 || got.PriceSource != catalog.PriceRule {
			t.Errorf("GAME-20 for reseller: %d %s, want 1900 by rule", got.Price, got.PriceSource)
		}
		if got, _ := e.cat.Product(ctx, "GAME-10", "reseller"); got.Price != 950 {
			t.Errorf("GAME-10 keeps its explicit price: %d", got.Price)
		}
		if n := e.auditCount(t, "prices.set", ""); n != 2 {
			t.Errorf("%d prices.set rows, want 2", n)
		}
		status, body = e.call(t, operator.Viewer, "GET", "/api/admin/prices", "")
		if status != 200 || !strings.Contains(body, `{"level":"reseller","percent_bp":500,"flat":10}`) {
			t.Errorf("rules: %d %s", status, body)
		}
		for _, tc := range []struct{ name, body, field string }{
			{"empty", `[]`, ""},
			{"no comment", `{"prices":[{"product_code":"GAME-10","level":"reseller","price":1}]}`, "comment"},
			{"bad rule", `{"rules":[{"level":"reseller","percent_bp":-1}],"comment":"c"}`, "rules"},
			{"unknown level", `{"prices":[{"product_code":"GAME-10","level":"vip","price":1}],"comment":"c"}`, "prices"},
			{"price as text", `[{"product_code":"GAME-10","level":"reseller","price":"1"}]`, "price"},
		} {
			status, body := e.call(t, operator.Admin, "POST", "/api/admin/prices?comment=c", tc.body)
			if er := decodeJSON[apiErr](t, body); status != 400 || er.Error.Field != tc.field {
				t.Errorf("%s: %d %s; want 400 about %q", tc.name, status, body, tc.field)
			}
		}
	})
}

// catalogImport is the JSON import the tests send.
const catalogImport = `{"comment":"katalog awal",
  "providers":[{"code":"FF","name":"Free Fire","forms":[{"label":"Player ID","key":"player_id","type":"text"}]},
               {"code":"PLN","name":"PLN","active":false}],
  "products":[{"code":"FF-5","name":"5 Diamonds","provider":"FF","skus":[{"supplier":"sim-a","sku":"FF5","cost":1200}],"prices":{"reseller":1300}},
              {"code":"FF-12","name":"12 Diamonds","provider":"FF","skus":[{"supplier":"sim-a","sku":"FF12","cost":2800}]}]}`

func TestCatalogImportJSON(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		if err := e.hooks.SetURL(ctx, e.zorro.ID, "https://zorro.example/hook"); err != nil {
			t.Fatal(err)
		}
		status, body := e.call(t, operator.Catalog, "POST", "/api/admin/catalog/import", catalogImport)
		if status != 200 || !strings.Contains(body, `"products_added":2`) || !strings.Contains(body, `"providers_added":2`) {
			t.Fatalf("import: %d %s", status, body)
		}
		if _, comment, _, _ := e.auditOf(t, "catalog.import", "json"); comment != "katalog awal" {
			t.Errorf("audit comment %q", comment)
		}
		p, err := e.cat.Product(ctx, "FF-5", "reseller")
		if err != nil || p.Price != 1300 || p.Cost != 1200 || p.Provider.Forms[0].Key != "player_id" || p.Orderable() != nil {
			t.Errorf("FF-5: %+v %v", p, err)
		}
		if pln, _ := e.cat.ProviderByCode(ctx, "PLN"); pln.Active {
			t.Error("PLN imported switched on")
		}
		msgs := e.priceUpdates(t, e.zorro.ID)
		if len(msgs) != 1 || !strings.Contains(msgs[0], `"price_new":1300`) {
			t.Errorf("price_update after import: %q", msgs)
		}

		// The same catalog again changes nothing and sends nothing.
		status, body = e.call(t, operator.Catalog, "POST", "/api/admin/catalog/import", catalogImport)
		if status != 200 {
			t.Errorf("second import: %d %s", status, body)
		}
		if s := decodeJSON[struct {
			Data struct {
				PA int `json:"providers_added"`
				PU int `json:"providers_updated"`
				QA int `json:"products_added"`
				QU int `json:"products_updated"`
			}
		}](t, body).Data; s.PA+s.PU+s.QA+s.QU != 0 {
			t.Errorf("second import changed %+v", s)
		}
		if n := len(e.priceUpdates(t, e.zorro.ID)); n != 1 {
			t.Errorf("%d price_update messages after a repeat, want 1", n)
		}

		// An update of one product's price, and a bad row that refuses
		// the whole import.
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/catalog/import",
			`{"products":[{"code":"FF-5","name":"5 Diamonds","provider":"FF","prices":{"reseller":1250}}],"comment":"turun"}`)
		if status != 200 || !strings.Contains(body, `"products_updated":1`) || !strings.Contains(body, `"price_new":1250`) {
			t.Errorf("update import: %d %s", status, body)
		}
		if p, _ := e.cat.Product(ctx, "FF-5", "reseller"); p.Price != 1250 || p.Cost != 1200 {
			t.Errorf("FF-5 after update: %d cost %d (SKUs not listed must stay)", p.Price, p.Cost)
		}
		audits := e.auditRows(t)
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/catalog/import",
			`{"products":[{"code":"FF-50","name":"50","provider":"FF"},{"code":"X-1","name":"x","provider":"NOPE"}],"comment":"c"}`)
		if er := decodeJSON[apiErr](t, body); status != 400 || er.Error.Field != "products" || !strings.Contains(er.Error.Message, "product 2") {
			t.Errorf("bad import: %d %s", status, body)
		}
		if _, err := e.cat.Product(ctx, "FF-50", ""); err == nil {
			t.Error("a refused import added FF-50")
		}
		if e.auditRows(t) != audits {
			t.Error("a refused import was audited")
		}
		status, body = e.call(t, operator.Admin, "POST", "/api/admin/catalog/import", `{"comment":"c"}`)
		if status != 400 {
			t.Errorf("empty import: %d %s", status, body)
		}
	})
}

// fakeImporter stands in for a prepaid supplier: it adds one provider to
// the real catalog, as the supplier import would.
type fakeImporter struct{ cat *catalog.Store }

func (f fakeImporter) ImportSupplier(ctx context.Context, supplier, prefix string) (admin.SupplierImport, error) {
	if supplier != "hulu" {
		return admin.SupplierImport{}, fault.Field(fault.NotFound, "supplier", "no supplier %q", supplier)
	}
	if _, err := f.cat.AddProvider(ctx, catalog.NewProvider{Code: prefix + "HULU", Name: "Hulu", Active: true}); err != nil {
		return admin.SupplierImport{}, err
	}
	return admin.SupplierImport{ProvidersAdded: 1}, nil
}

func TestCatalogImportFromSupplier(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		// This server has no supplier import wired.
		status, body := e.call(t, operator.Admin, "POST", "/api/admin/catalog/import", `{"supplier":"hulu","comment":"sync"}`)
		if er := decodeJSON[apiErr](t, body); status != 422 || er.Error.Field != "supplier" {
			t.Errorf("without an importer: %d %s", status, body)
		}
		e.serve(t, func(deps *server.Deps) { deps.SupplierImport = fakeImporter{e.cat} })
		status, body = e.call(t, operator.Catalog, "POST", "/api/admin/catalog/import", `{"supplier":"hulu","prefix":"H-","comment":"sync"}`)
		if status != 200 || !strings.Contains(body, `"providers_added":1`) || !strings.Contains(body, `"skipped":[]`) {
			t.Fatalf("supplier import: %d %s", status, body)
		}
		if _, err := e.cat.ProviderByCode(context.Background(), "H-HULU"); err != nil {
			t.Error(err)
		}
		if op, comment, _, after := e.auditOf(t, "catalog.import", "hulu"); op != "op-catalog" || comment != "sync" || !strings.Contains(after, `"providers_added":1`) {
			t.Errorf("audit: %s %q %s", op, comment, after)
		}
		status, body = e.call(t, operator.Catalog, "POST", "/api/admin/catalog/import", `{"supplier":"nope","comment":"sync"}`)
		if status != 404 || e.auditCount(t, "catalog.import", "nope") != 0 {
			t.Errorf("unknown supplier: %d %s", status, body)
		}
		status, body = e.call(t, operator.Catalog, "POST", "/api/admin/catalog/import",
			`{"supplier":"hulu","providers":[{"code":"A","name":"A"}],"comment":"sync"}`)
		if status != 400 {
			t.Errorf("supplier and providers: %d %s", status, body)
		}
	})
}
