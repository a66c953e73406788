package prepaid_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/httpx"
	"kios/internal/member"
	"kios/internal/ratelimit"
	"kios/internal/server"
)

// referenceBase is the base URL of the reference's examples, so that their
// icon_url values compare byte for byte.
const referenceBase = "https://tokowendigg.com"

// catalogFixture is a running server with a catalog, the member "zorro"
// (reseller) and an API key for it. baseURL "" means the server's own URL.
type catalogFixture struct {
	*fixture
	cat *catalog.Store
	key string
}

func newCatalogFixture(t *testing.T, d *db.DB, baseURL string) *catalogFixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{d: d, members: member.NewStore(d, time.Now), logs: &syncBuffer{}}
	logger := slog.New(httpx.LogHandler{Handler: slog.NewTextHandler(f.logs, nil)})
	var err error
	if f.zorro, err = f.members.Add(ctx, member.NewMember{Username: "zorro", Level: "reseller", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewStore(d, time.Now)
	f.srv = httptest.NewUnstartedServer(nil)
	if baseURL == "" {
		baseURL = "http://" + f.srv.Listener.Addr().String()
	}
	f.srv.Config.Handler = server.New(server.Deps{
		Logger: logger, DB: d, Members: f.members, Limiter: ratelimit.New(1000, 1000, time.Now),
		Metrics: server.NewMetrics(), Now: time.Now, BaseURL: baseURL, Catalog: cat,
	})
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	cf := &catalogFixture{fixture: f, cat: cat}
	cf.key = f.credential(t, member.NewCredential{}).APIKey
	return cf
}

// get calls path with the fixture's key, as the reference's PHP does: GET,
// Bearer, Accept: application/json, no Signature.
func (f *catalogFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	return f.call(t, "GET", path, map[string]string{"Authorization": "Bearer " + f.key}, "")
}

// must returns a function that returns a call's value, failing t on its
// error: must[T](t)(call()).
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ffmax is the reference's Free Fire MAX provider.
func ffmax(id int64) catalog.NewProvider {
	return catalog.NewProvider{ID: id, Code: "FFMAX-BJ-V3", Name: "Free Fire MAX [PROMO TERMURAH] V3", Active: true,
		Icon: "17182474347Vr0hpu1dG.png", Forms: []catalog.Field{{Label: "Player ID", Key: "id", Type: catalog.Text}}}
}

func sim(cost int64) []catalog.SKU {
	return []catalog.SKU{{Supplier: "simulator", SKU: "X", Cost: cost, Active: true}}
}

// TestProviderListMatchesReference: the reference's two providers, with
// their ids, icons and forms, and an inactive one that active=1 leaves out.
func TestProviderListMatchesReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newCatalogFixture(t, d, referenceBase)
		for _, np := range []catalog.NewProvider{
			{ID: 6, Code: "ABM22-RCF", Name: "ARENA BREAKOUT [PROMO TERMURAH] Q2", Active: true, Icon: "1717855735f7nQaJ4A4G.jpg", Position: 2,
				Forms: []catalog.Field{{Label: "User ID", Key: "player_id", Type: catalog.Text}, {Label: "Sever List/Server ID", Key: "server", Type: catalog.Text}}},
			{ID: 9, Code: "AKV-BJ", Name: "Astra Knights of Veda V3", Active: true, Icon: "1717861533U2HAY5jfw1.png", Position: 1,
				Forms: []catalog.Field{{Label: "UID", Key: "id", Type: catalog.Text}, {Label: "Sever List/Server ID", Key: "server", Type: catalog.Dropdown,
					Options: []catalog.Option{{Name: "AMERICAS", Code: "10040400"}, {Name: "KR / JP / TW", Code: "10040300"}, {Name: "SEA / OCE", Code: "10040200"}}}}},
			{ID: 12, Code: "TSEL", Name: "Pulsa Telkomsel", Active: false, Icon: "telkomsel.png", Position: 3,
				Forms: []catalog.Field{{Label: "Nomor HP", Key: "phone", Type: catalog.Text, Pattern: `08[0-9]{8,11}`, MaxLength: 13}}},
		} {
			must[catalog.Provider](t)(f.cat.AddProvider(ctx, np))
		}
		for _, q := range []string{"?active=1", "?active=true"} {
			status, body := f.get(t, "/api/prepaid/provider"+q)
			if status != 200 || body != golden(t, "provider_list.json") {
				t.Fatalf("%s: %d %s\nwant the reference example byte for byte: %s", q, status, body, golden(t, "provider_list.json"))
			}
		}

		// Without the filter the inactive provider is there, with active 0
		// and kios's additions on its text field.
		status, body := f.get(t, "/api/prepaid/provider")
		want := `{"id":12,"code":"TSEL","name":"Pulsa Telkomsel","active":0,"icon":"telkomsel.png",` +
			`"forms":[{"label":"Nomor HP","key":"phone","type":"text","pattern":"08[0-9]{8,11}","max_length":13}],` +
			`"icon_url":"https://tokowendigg.com/images/provider/telkomsel.png"}]}`
		if status != 200 || !strings.HasSuffix(body, want) || !strings.HasPrefix(body, strings.TrimSuffix(golden(t, "provider_list.json"), "]}")) {
			t.Fatalf("all providers: %d %s", status, body)
		}
	})
}

// TestProductListMatchesReference: the reference's three Free Fire
// products, priced for zorro's level (reseller) by a 3 % rule over their
// costs, cheapest first; a switched-off product is left out by active=1.
func TestProductListMatchesReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newCatalogFixture(t, d, referenceBase)
		must[catalog.Provider](t)(f.cat.AddProvider(ctx, ffmax(159)))
		for _, np := range []catalog.NewProduct{
			{ID: 468, Code: "FFMAX-BJ-V3FFMAX_ID_1000", Name: "1000 Diamonds", Active: true, SKUs: sim(126_388)},
			{ID: 466, Code: "FFMAX-BJ-V3FFMAX_ID_10", Name: "10 Diamonds", Active: true, SKUs: sim(1_809)},
			{ID: 467, Code: "FFMAX-BJ-V3FFMAX_ID_100", Name: "100 Diamonds", Active: true, SKUs: sim(14_448)},
			{ID: 469, Code: "FFMAX-BJ-V3FFMAX_ID_5", Name: "5 Diamonds", Active: false, SKUs: sim(870)},
		} {
			np.Provider = "FFMAX-BJ-V3"
			must[int64](t)(f.cat.AddProduct(ctx, np))
		}
		if err := f.cat.SetRule(ctx, "reseller", 300, 0); err != nil {
			t.Fatal(err)
		}
		status, body := f.get(t, "/api/prepaid/product?provider=FFMAX-BJ-V3&active=1")
		if status != 200 || body != golden(t, "product_list.json") {
			t.Fatalf("%d %s\nwant the reference example byte for byte: %s", status, body, golden(t, "product_list.json"))
		}
		// Without the filter the switched-off product comes first (it is
		// the cheapest) with active 0.
		status, body = f.get(t, "/api/prepaid/product?provider=FFMAX-BJ-V3")
		want := `{"status":200,"data":[{"id":469,"code":"FFMAX-BJ-V3FFMAX_ID_5","name":"5 Diamonds","active":0,"price":897,` +
			`"provider":{"id":159,"code":"FFMAX-BJ-V3","name":"Free Fire MAX [PROMO TERMURAH] V3","active":1}},`
		if status != 200 || !strings.HasPrefix(body, want) {
			t.Fatalf("all products: %d %s", status, body)
		}

		// A member of another level sees its own prices.
		other := must[member.Member](t)(f.members.Add(ctx, member.NewMember{Username: "budi", Level: "member", Password: "correct horse"}))
		if err := f.cat.SetRule(ctx, "member", 500, 0); err != nil {
			t.Fatal(err)
		}
		ic := must[member.Issued](t)(f.members.CreateCredential(ctx, member.NewCredential{MemberID: other.ID}))
		_, body = f.call(t, "GET", "/api/prepaid/product?provider=FFMAX-BJ-V3&active=1", map[string]string{"Authorization": "Bearer " + ic.APIKey}, "")
		var got struct {
			Data []struct {
				Code  string `json:"code"`
				Price int64  `json:"price"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Data) != 3 || got.Data[0].Price != 1_809+91 {
			t.Fatalf("member level: %v %s", err, body)
		}
	})
}

// TestProductDetailMatchesReference: the reference's 140 Diamonds with an
// explicit reseller price.
func TestProductDetailMatchesReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newCatalogFixture(t, d, referenceBase)
		must[catalog.Provider](t)(f.cat.AddProvider(ctx, ffmax(49)))
		must[int64](t)(f.cat.AddProduct(ctx, catalog.NewProduct{ID: 472, Code: "FFMAX-BJ-V3FFMAX_ID_140", Name: "140 Diamonds",
			Provider: "FFMAX-BJ-V3", Active: true, SKUs: sim(18_000), Prices: map[string]int64{"reseller": 18_610, "member": 19_000}}))
		status, body := f.get(t, "/api/prepaid/product/FFMAX-BJ-V3FFMAX_ID_140")
		if status != 200 || body != golden(t, "product_detail.json") {
			t.Fatalf("%d %s\nwant the reference example byte for byte: %s", status, body, golden(t, "product_detail.json"))
		}
		// Switched off: still described, with active 0.
		if err := f.cat.SetProductActive(ctx, "FFMAX-BJ-V3FFMAX_ID_140", false); err != nil {
			t.Fatal(err)
		}
		status, body = f.get(t, "/api/prepaid/product/FFMAX-BJ-V3FFMAX_ID_140")
		if status != 200 || body != strings.Replace(golden(t, "product_detail.json"), `"active":1`, `"active":0`, 1) {
			t.Fatalf("switched off: %d %s", status, body)
		}
	})
}

// TestCatalogErrors: each bad request gets the face's own answer.
func TestCatalogErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newCatalogFixture(t, d, referenceBase)
		must[catalog.Provider](t)(f.cat.AddProvider(ctx, ffmax(0)))
		cases := []struct {
			name, method, path string
			header             map[string]string
			status             int
			golden, body       string
		}{
			{"unknown product", "GET", "/api/prepaid/product/FFMAX-NOPE", nil, 400, "error_product_not_found.json", ""},
			{"unknown product, odd characters", "GET", "/api/prepaid/product/%E2%80%A6%27%22", nil, 400, "error_product_not_found.json", ""},
			{"provider missing", "GET", "/api/prepaid/product", nil, 400, "error_provider_missing.json", ""},
			{"provider blank", "GET", "/api/prepaid/product?provider=+&active=1", nil, 400, "error_provider_missing.json", ""},
			{"unknown provider", "GET", "/api/prepaid/product?provider=NOPE", nil, 400, "error_provider_not_found.json", ""},
			{"bad active", "GET", "/api/prepaid/product?provider=FFMAX-BJ-V3&active=maybe", nil, 400, "",
				`{"status":400,"message":"Parameter active tidak valid","error":"invalid_field"}`},
			{"bad active on providers", "GET", "/api/prepaid/provider?active=2", nil, 400, "",
				`{"status":400,"message":"Parameter active tidak valid","error":"invalid_field"}`},
			{"no key", "GET", "/api/prepaid/provider", map[string]string{}, 400, "error_invalid_api_key.json", ""},
			{"wrong key", "GET", "/api/prepaid/product/FFMAX-NOPE", map[string]string{"Authorization": "Bearer " + strings.Repeat("x", 40)}, 400, "error_invalid_api_key.json", ""},
			{"POST to a GET call", "POST", "/api/prepaid/provider", nil, 404, "error_not_found.json", ""},
		}
		for _, c := range cases {
			h := c.header
			if h == nil {
				h = map[string]string{"Authorization": "Bearer " + f.key}
			}
			status, body := f.call(t, c.method, c.path, h, "")
			want := c.body
			if c.golden != "" {
				want = golden(t, c.golden)
			}
			if status != c.status || body != want {
				t.Errorf("%s: %d %s\nwant %d %s", c.name, status, body, c.status, want)
			}
		}
		if strings.Contains(f.logs.String(), "internal error") {
			t.Fatalf("a bad request reached the internal-error path:\n%s", f.logs.String())
		}
	})
}

// TestIconURLResolves: the icon_url of a provider whose icon kios ships
// answers the image, cacheable for a long time; other names are 404.
func TestIconURLResolves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newCatalogFixture(t, d, "")
		must[catalog.Provider](t)(f.cat.AddProvider(ctx, catalog.NewProvider{Code: "MLBB", Name: "Mobile Legends", Active: true, Icon: "mlbb.png"}))
		_, body := f.get(t, "/api/prepaid/provider")
		var got struct {
			Data []struct {
				IconURL string `json:"icon_url"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Data) != 1 {
			t.Fatalf("%v %s", err, body)
		}
		if want := f.srv.URL + "/images/provider/mlbb.png"; got.Data[0].IconURL != want {
			t.Fatalf("icon_url %q, want %q", got.Data[0].IconURL, want)
		}
		resp, err := http.Get(got.Data[0].IconURL)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want, _ := fs.ReadFile(catalog.Icons, "mlbb.png")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || string(img) != string(want) ||
			!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=31536000") || len(img) < 8 || string(img[1:4]) != "PNG" {
			t.Fatalf("icon: %d %v, %d bytes", resp.StatusCode, resp.Header, len(img))
		}
		for _, p := range []string{"/images/provider/nope.png", "/images/provider/..%2fkios.db", "/images/provider/.hidden", "/images/provider/"} {
			resp, err := http.Get(f.srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Errorf("%s: %d, want 404", p, resp.StatusCode)
			}
		}
	})
}

// TestEwalletsAreNotPrepaidProducts: e-wallet products are sold by amount
// through the PPOB face; the prepaid face neither lists their operators nor
// their products, and answers them as unknown.
func TestEwalletsAreNotPrepaidProducts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newCatalogFixture(t, d, referenceBase)
		if err := catalog.LoadDemo(ctx, f.cat); err != nil {
			t.Fatal(err)
		}
		if err := catalog.LoadDemoEwallets(ctx, f.cat); err != nil {
			t.Fatal(err)
		}
		gopay, err := f.cat.Product(ctx, "GOPAY", "reseller")
		if err != nil || !gopay.Ewallet {
			t.Fatalf("GOPAY in the catalog: %+v %v", gopay, err)
		}
		auth := map[string]string{"Authorization": "Bearer " + f.key}
		_, body := f.call(t, "GET", "/api/prepaid/provider", auth, "")
		if !strings.Contains(body, `"code":"MLBB-BJ-V3-ALL"`) || strings.Contains(body, gopay.Provider.Code) {
			t.Fatalf("provider list: %s", body)
		}
		if status, body := f.call(t, "GET", "/api/prepaid/product/GOPAY", auth, ""); status != 400 || body != golden(t, "error_product_not_found.json") {
			t.Fatalf("product/GOPAY: %d %s", status, body)
		}
		if status, body := f.call(t, "GET", "/api/prepaid/product?provider="+gopay.Provider.Code, auth, ""); status != 400 || body != golden(t, "error_provider_not_found.json") {
			t.Fatalf("products of %s: %d %s", gopay.Provider.Code, status, body)
		}
	})
}
