package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
)

var ctx = context.Background()

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)} }

func wantFault(t *testing.T, err error, code fault.Code, field string) {
	t.Helper()
	if fault.CodeOf(err) != code || fault.FieldOf(err) != field {
		t.Fatalf("err = %v; want a %s fault about %q", err, code, field)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// gameForm is the form of the test game: a numeric user id, a server
// dropdown and a short nickname.
var gameForm = []catalog.Field{
	{Label: "User ID", Key: "id", Type: catalog.Text, Pattern: `[0-9]{5,12}`},
	{Label: "Server", Key: "server", Type: catalog.Dropdown, Options: []catalog.Option{
		{Name: "AMERICAS", Code: "10040400"}, {Name: "KR / JP / TW", Code: "10040300"}, {Name: "SEA / OCE", Code: "10040200"}}},
	{Label: "Nickname", Key: "nick", Type: catalog.Text, MaxLength: 10},
}

func addGame(t *testing.T, s *catalog.Store) catalog.Provider {
	t.Helper()
	return must[catalog.Provider](t)(s.AddProvider(ctx, catalog.NewProvider{
		Code: "GAME", Name: "Test Game", Active: true, Icon: "game.png", Forms: gameForm}))
}

// formCases are ValidateForm's table: the input (as JSON, decoded like a
// face does, or as Go values), and either the normalised values or the
// fault's code and field.
var formCases = []struct {
	name  string
	input map[string]any
	want  map[string]string
	code  fault.Code
	field string
}{
	{"all good", map[string]any{"id": "12345", "server": "10040200", "nick": "zorro"},
		map[string]string{"id": "12345", "server": "10040200", "nick": "zorro"}, "", ""},
	{"trimmed", map[string]any{"id": "  12345 ", "server": " 10040300\t", "nick": "  zorro  "},
		map[string]string{"id": "12345", "server": "10040300", "nick": "zorro"}, "", ""},
	{"extra keys ignored", map[string]any{"id": "12345", "server": "10040200", "nick": "z", "target_product_code": "X", "other": true},
		map[string]string{"id": "12345", "server": "10040200", "nick": "z"}, "", ""},
	{"numbers as float64", map[string]any{"id": float64(1122334455), "server": float64(10040400), "nick": float64(1e9)},
		map[string]string{"id": "1122334455", "server": "10040400", "nick": "1000000000"}, "", ""},
	{"numbers as json.Number", map[string]any{"id": json.Number("112233445566"), "server": json.Number("10040400"), "nick": json.Number("1e5")},
		map[string]string{"id": "112233445566", "server": "10040400", "nick": "100000"}, "", ""},
	{"exactly max length, in characters", map[string]any{"id": "12345", "server": "10040200", "nick": "ÅÅÅÅÅÅÅÅÅÅ"},
		map[string]string{"id": "12345", "server": "10040200", "nick": "ÅÅÅÅÅÅÅÅÅÅ"}, "", ""},

	{"missing field", map[string]any{"server": "10040200", "nick": "z"}, nil, fault.Missing, "id"},
	{"null field", map[string]any{"id": nil, "server": "10040200", "nick": "z"}, nil, fault.Missing, "id"},
	{"blank field", map[string]any{"id": "12345", "server": "10040200", "nick": "   "}, nil, fault.Missing, "nick"},
	{"missing dropdown", map[string]any{"id": "12345", "nick": "z"}, nil, fault.Missing, "server"},
	{"dropdown value not in options", map[string]any{"id": "12345", "server": "10040100", "nick": "z"}, nil, fault.Invalid, "server"},
	{"dropdown option name instead of code", map[string]any{"id": "12345", "server": "SEA / OCE", "nick": "z"}, nil, fault.Invalid, "server"},
	{"pattern mismatch", map[string]any{"id": "12ab5", "server": "10040200", "nick": "z"}, nil, fault.Invalid, "id"},
	{"pattern is anchored", map[string]any{"id": "x123456", "server": "10040200", "nick": "z"}, nil, fault.Invalid, "id"},
	{"pattern too long", map[string]any{"id": "1234567890123", "server": "10040200", "nick": "z"}, nil, fault.Invalid, "id"},
	{"oversize", map[string]any{"id": "12345", "server": "10040200", "nick": "abcdefghijk"}, nil, fault.Invalid, "nick"},
	{"fractional number fails the pattern", map[string]any{"id": 12345.5, "server": "10040200", "nick": "z"}, nil, fault.Invalid, "id"},
	{"boolean", map[string]any{"id": "12345", "server": "10040200", "nick": true}, nil, fault.Invalid, "nick"},
	{"object", map[string]any{"id": map[string]any{"a": 1}, "server": "10040200", "nick": "z"}, nil, fault.Invalid, "id"},
	{"control character", map[string]any{"id": "12345", "server": "10040200", "nick": "zo\nrro"}, nil, fault.Invalid, "nick"},
}

// TestValidateForm runs the table against the provider as stored and read
// back on each database, through both ProviderByCode and Product.
func TestValidateForm(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		addGame(t, s)
		must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-1", Name: "1", Provider: "GAME", Active: true,
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "G1", Cost: 100, Active: true}}}))
		viaCode := must[catalog.Provider](t)(s.ProviderByCode(ctx, "GAME"))
		viaProduct := must[catalog.Product](t)(s.Product(ctx, "GAME-1", "member")).Provider
		labels := map[string]string{}
		for _, f := range gameForm {
			labels[f.Key] = f.Label
		}
		for _, p := range []catalog.Provider{viaCode, viaProduct} {
			for _, c := range formCases {
				got, err := p.ValidateForm(c.input)
				if c.code == "" {
					if err != nil || !maps.Equal(got, c.want) {
						t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
					}
					continue
				}
				var fe *fault.Error
				if fault.CodeOf(err) != c.code || fault.FieldOf(err) != c.field || !asFault(err, &fe) ||
					fe.Label != labels[c.field] || fe.Detail != labels[c.field] || got != nil {
					t.Errorf("%s: got %v, %v; want a %s fault about %q labelled %q", c.name, got, err, c.code, c.field, labels[c.field])
				}
			}
		}
	})
}

func asFault(err error, fe **fault.Error) bool { return errors.As(err, fe) }

func TestAddProviderRefusesBadDefinitions(t *testing.T) {
	text := func(key string) catalog.Field { return catalog.Field{Label: "L", Key: key, Type: catalog.Text} }
	cases := []struct {
		name  string
		np    catalog.NewProvider
		code  fault.Code
		field string
	}{
		{"no code", catalog.NewProvider{Name: "N"}, fault.Missing, "code"},
		{"code with a slash", catalog.NewProvider{Code: "A/B", Name: "N"}, fault.Invalid, "code"},
		{"no name", catalog.NewProvider{Code: "A"}, fault.Missing, "name"},
		{"icon with a directory", catalog.NewProvider{Code: "A", Name: "N", Icon: "../x.png"}, fault.Invalid, "icon"},
		{"duplicate key", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{text("id"), text("id")}}, fault.Invalid, "forms"},
		{"reserved key", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{text("partner_reference")}}, fault.Invalid, "forms"},
		{"bad key", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{text("User ID")}}, fault.Invalid, "forms"},
		{"no label", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{{Key: "id", Type: catalog.Text}}}, fault.Invalid, "forms"},
		{"unknown type", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{{Label: "L", Key: "id", Type: "radio"}}}, fault.Invalid, "forms"},
		{"dropdown without options", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{{Label: "L", Key: "id", Type: catalog.Dropdown}}}, fault.Invalid, "forms"},
		{"dropdown with a repeated code", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{{Label: "L", Key: "id", Type: catalog.Dropdown,
			Options: []catalog.Option{{Name: "a", Code: "1"}, {Name: "b", Code: "1"}}}}}, fault.Invalid, "forms"},
		{"text with options", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{{Label: "L", Key: "id", Type: catalog.Text,
			Options: []catalog.Option{{Name: "a", Code: "1"}}}}}, fault.Invalid, "forms"},
		{"bad pattern", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{{Label: "L", Key: "id", Type: catalog.Text, Pattern: "[0-9"}}}, fault.Invalid, "forms"},
		{"max length too big", catalog.NewProvider{Code: "A", Name: "N", Forms: []catalog.Field{{Label: "L", Key: "id", Type: catalog.Text, MaxLength: 1000}}}, fault.Invalid, "forms"},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		for _, c := range cases {
			_, err := s.AddProvider(ctx, c.np)
			if fault.CodeOf(err) != c.code || fault.FieldOf(err) != c.field {
				t.Errorf("%s: err = %v; want a %s fault about %q", c.name, err, c.code, c.field)
			}
		}
		if ps := must[[]catalog.Provider](t)(s.Providers(ctx, false)); len(ps) != 0 {
			t.Fatalf("refused providers were stored: %+v", ps)
		}
		addGame(t, s)
		_, err := s.AddProvider(ctx, catalog.NewProvider{Code: "GAME", Name: "Again"})
		wantFault(t, err, fault.Conflict, "code")
	})
}

// TestRuleRounding: the percentage is rounded up to the whole rupiah.
func TestRuleRounding(t *testing.T) {
	cases := []struct {
		cost, bp, flat, want int64
	}{
		{1_372, 250, 0, 1_407},   // 34.3 → 35
		{1_000, 250, 0, 1_025},   // exact
		{1, 1, 0, 2},             // 0.0001 → 1
		{999, 0, 0, 999},         // no markup
		{100, 0, 50, 150},        // flat only
		{14_448, 300, 0, 14_882}, // 433.44 → 434
		{18_067, 300, 0, 18_610}, // 542.01 → 543
		{10_000, 500, 100, 10_600},
		{catalog.MaxMoney, catalog.MaxPercentBP, catalog.MaxMoney, 12 * catalog.MaxMoney}, // the bounds do not overflow
	}
	for _, c := range cases {
		if got := (catalog.Rule{PercentBP: c.bp, Flat: c.flat}).Apply(c.cost); got != c.want {
			t.Errorf("cost %d, %d bp + %d: %d, want %d", c.cost, c.bp, c.flat, got, c.want)
		}
	}
}

// TestPrices: an explicit price wins over the rule; the rule applies to
// the first ACTIVE SKU by priority; without either there is no price; and
// every change through the Store is seen at once.
func TestPrices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		addGame(t, s)
		must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-5", Name: "5 Gems", Provider: "GAME", Active: true,
			// Given out of order, and the first by priority is off.
			SKUs: []catalog.SKU{
				{Supplier: "simulator-b", SKU: "B5", Priority: 3, Cost: 1_500, Active: true},
				{Supplier: "simulator", SKU: "S5", Priority: 1, Cost: 1_000, Active: false},
				{Supplier: "simulator", SKU: "T5", Priority: 2, Cost: 1_372, Active: true},
			},
			Prices: map[string]int64{"member": 1_600}}))
		mustDo(t, s.SetRule(ctx, "reseller", 250, 0))

		type want struct {
			price  int64
			source catalog.PriceSource
		}
		check := func(step string, wants map[string]want) {
			t.Helper()
			for level, w := range wants {
				p := must[catalog.Product](t)(s.Product(ctx, "GAME-5", level))
				if p.Price != w.price || p.PriceSource != w.source || p.Level != level {
					t.Errorf("%s: %s: price %d (%q), want %d (%q)", step, level, p.Price, p.PriceSource, w.price, w.source)
				}
			}
		}
		check("start", map[string]want{
			"member":   {1_600, catalog.PriceExplicit},
			"reseller": {1_407, catalog.PriceRule}, // 1 372 (the first active SKU) + ⌈34.3⌉
			"h2h":      {0, catalog.PriceNone},
		})
		p := must[catalog.Product](t)(s.Product(ctx, "GAME-5", "reseller"))
		if p.Cost != 1_372 || len(p.SKUs) != 3 || p.SKUs[0].SKU != "S5" || p.SKUs[1].SKU != "T5" || p.SKUs[2].SKU != "B5" {
			t.Fatalf("cost %d, SKUs %+v: want cost 1372 and the SKUs by priority", p.Cost, p.SKUs)
		}
		if as := p.ActiveSKUs(); len(as) != 2 || as[0].SKU != "T5" || as[1].SKU != "B5" {
			t.Fatalf("active SKUs: %+v", as)
		}
		if p.Orderable() != nil {
			t.Fatalf("priced product not orderable: %v", p.Orderable())
		}
		h := must[catalog.Product](t)(s.Product(ctx, "GAME-5", "h2h"))
		wantFault(t, h.Orderable(), fault.Inactive, "product")

		// A caller that modifies what it got does not change the next answer.
		p.SKUs[1].Cost = 1
		p.Provider.Forms[1].Options[0].Code = "x"
		again := must[catalog.Product](t)(s.Product(ctx, "GAME-5", "reseller"))
		if again.SKUs[1].Cost != 1_372 || again.Provider.Forms[1].Options[0].Code != "10040400" {
			t.Fatal("the cache handed out shared slices")
		}

		mustDo(t, s.SetPrice(ctx, "GAME-5", "reseller", 1_450))
		mustDo(t, s.SetRule(ctx, "h2h", 100, 10))
		mustDo(t, s.SetRule(ctx, "member", 1_000, 0))
		check("explicit reseller price, h2h rule", map[string]want{
			"member":   {1_600, catalog.PriceExplicit}, // explicit still wins over the new member rule
			"reseller": {1_450, catalog.PriceExplicit},
			"h2h":      {1_372 + 14 + 10, catalog.PriceRule},
		})
		mustDo(t, s.SetPrice(ctx, "GAME-5", "member", 0))
		mustDo(t, s.DeleteRule(ctx, "h2h"))
		check("explicit member price removed, h2h rule removed", map[string]want{
			"member":   {1_372 + 138, catalog.PriceRule},
			"reseller": {1_450, catalog.PriceExplicit},
			"h2h":      {0, catalog.PriceNone},
		})
		rules := must[[]catalog.Rule](t)(s.Rules(ctx))
		if len(rules) != 2 || rules[0] != (catalog.Rule{Level: "member", PercentBP: 1_000}) || rules[1] != (catalog.Rule{Level: "reseller", PercentBP: 250}) {
			t.Fatalf("rules: %+v", rules)
		}

		// No active SKU: the rule has no cost to work on; an explicit price
		// stays, but the product cannot be ordered.
		must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-0", Name: "Off", Provider: "GAME", Active: true,
			SKUs:   []catalog.SKU{{Supplier: "simulator", SKU: "S0", Cost: 500, Active: false}},
			Prices: map[string]int64{"reseller": 700}}))
		off := must[catalog.Product](t)(s.Product(ctx, "GAME-0", "member"))
		if off.Price != 0 || off.Cost != 0 {
			t.Fatalf("rule over an inactive SKU: %+v", off)
		}
		off = must[catalog.Product](t)(s.Product(ctx, "GAME-0", "reseller"))
		if off.Price != 700 {
			t.Fatalf("explicit price without an active SKU: %d", off.Price)
		}
		wantFault(t, off.Orderable(), fault.Inactive, "product")

		// Bad input.
		wantFault(t, s.SetPrice(ctx, "GAME-5", "gold", 100), fault.Invalid, "level")
		wantFault(t, s.SetPrice(ctx, "GAME-5", "member", -1), fault.Invalid, "price")
		wantFault(t, s.SetPrice(ctx, "NOPE", "member", 100), fault.NotFound, "product")
		wantFault(t, s.SetRule(ctx, "gold", 100, 0), fault.Invalid, "level")
		wantFault(t, s.SetRule(ctx, "member", -1, 0), fault.Invalid, "percent")
		wantFault(t, s.SetRule(ctx, "member", 0, -5), fault.Invalid, "flat")
		_, err := s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-X", Name: "X", Provider: "GAME",
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "X", Cost: 1}}, Prices: map[string]int64{"gold": 5}})
		wantFault(t, err, fault.Invalid, "prices")
		_, err = s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-X", Name: "X", Provider: "NOPE"})
		wantFault(t, err, fault.Invalid, "provider")
		_, err = s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-X", Name: "X", Provider: "GAME",
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "X", Cost: 1}, {Supplier: "simulator", SKU: "Y", Priority: 1, Cost: 1}}})
		wantFault(t, err, fault.Invalid, "skus")
		_, err = s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-X", Name: "X", Provider: "GAME",
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "X", Cost: 0}}})
		wantFault(t, err, fault.Invalid, "skus")
		_, err = s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-5", Name: "Again", Provider: "GAME"})
		wantFault(t, err, fault.Conflict, "code")
		if _, err := s.Product(ctx, "GAME-X", "member"); fault.CodeOf(err) != fault.NotFound {
			t.Fatalf("a refused product was stored: %v", err)
		}
	})
}

// TestActiveFilters: activeOnly keeps providers that are on, and products
// that can be ordered at the level.
func TestActiveFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		for _, np := range []catalog.NewProvider{
			{Code: "ON", Name: "On", Active: true, Position: 2},
			{Code: "OFF", Name: "Off", Active: false, Position: 3},
			{Code: "FIRST", Name: "First", Active: true, Position: 1},
		} {
			must[catalog.Provider](t)(s.AddProvider(ctx, np))
		}
		mustDo(t, s.SetRule(ctx, "member", 1_000, 0))
		sku := func(cost int64, active bool) []catalog.SKU {
			return []catalog.SKU{{Supplier: "simulator", SKU: "S", Cost: cost, Active: active}}
		}
		for _, np := range []catalog.NewProduct{
			{Code: "ON-BIG", Name: "Big", Provider: "ON", Active: true, SKUs: sku(9_000, true)},
			{Code: "ON-SMALL", Name: "Small", Provider: "ON", Active: true, SKUs: sku(1_000, true)},
			{Code: "ON-OFF", Name: "Switched off", Provider: "ON", Active: false, SKUs: sku(2_000, true)},
			{Code: "ON-NOSKU", Name: "No SKU", Provider: "ON", Active: true, SKUs: sku(3_000, false)},
			{Code: "ON-EXPLICIT", Name: "Explicit", Provider: "ON", Active: true, SKUs: sku(4_000, true), Prices: map[string]int64{"member": 5_000}},
			{Code: "OFF-1", Name: "Of an inactive provider", Provider: "OFF", Active: true, SKUs: sku(1_000, true)},
		} {
			must[int64](t)(s.AddProduct(ctx, np))
		}
		providerCodes := func(active bool) []string {
			var out []string
			for _, p := range must[[]catalog.Provider](t)(s.Providers(ctx, active)) {
				out = append(out, p.Code)
			}
			return out
		}
		productCodes := func(provider, level string, active bool) []string {
			out := []string{}
			for _, p := range must[[]catalog.Product](t)(s.Products(ctx, provider, level, active)) {
				out = append(out, p.Code)
				if p.Provider.Code != provider || p.SKUs != nil {
					t.Errorf("listing of %s: %+v", provider, p)
				}
			}
			return out
		}
		cases := []struct {
			name string
			got  []string
			want []string
		}{
			{"all providers, by position", providerCodes(false), []string{"FIRST", "ON", "OFF"}},
			{"active providers", providerCodes(true), []string{"FIRST", "ON"}},
			// Cheapest first; without a price (no active SKU) last.
			{"all products", productCodes("ON", "member", false), []string{"ON-SMALL", "ON-OFF", "ON-EXPLICIT", "ON-BIG", "ON-NOSKU"}},
			{"orderable products", productCodes("ON", "member", true), []string{"ON-SMALL", "ON-EXPLICIT", "ON-BIG"}},
			// No rule for h2h: only the explicit price is there... and it is
			// for member only.
			{"orderable at a level without prices", productCodes("ON", "h2h", true), []string{}},
			{"products of an inactive provider", productCodes("OFF", "member", false), []string{"OFF-1"}},
			{"orderable products of an inactive provider", productCodes("OFF", "member", true), []string{}},
		}
		for _, c := range cases {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
			}
		}
		ps := must[[]catalog.Product](t)(s.Products(ctx, "ON", "member", false))
		if ps[0].Price != 1_100 || ps[0].PriceSource != catalog.PriceRule || ps[2].Price != 5_000 || ps[2].PriceSource != catalog.PriceExplicit {
			t.Fatalf("listing prices: %+v", ps)
		}

		// Switching things off is seen at once by Product (through its cache).
		if p := must[catalog.Product](t)(s.Product(ctx, "ON-SMALL", "member")); p.Orderable() != nil {
			t.Fatal(p.Orderable())
		}
		mustDo(t, s.SetProviderActive(ctx, "ON", false))
		wantFault(t, must[catalog.Product](t)(s.Product(ctx, "ON-SMALL", "member")).Orderable(), fault.Inactive, "provider")
		mustDo(t, s.SetProviderActive(ctx, "ON", true))
		mustDo(t, s.SetProductActive(ctx, "ON-SMALL", false))
		wantFault(t, must[catalog.Product](t)(s.Product(ctx, "ON-SMALL", "member")).Orderable(), fault.Inactive, "product")
		if got := productCodes("ON", "member", true); !slices.Equal(got, []string{"ON-EXPLICIT", "ON-BIG"}) {
			t.Fatalf("after switching ON-SMALL off: %v", got)
		}
		wantFault(t, s.SetProductActive(ctx, "NOPE", true), fault.NotFound, "product")
		wantFault(t, s.SetProviderActive(ctx, "NOPE", true), fault.NotFound, "provider")
	})
}

func TestNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		addGame(t, s)
		_, err := s.Product(ctx, "NOPE", "member")
		wantFault(t, err, fault.NotFound, "product")
		_, err = s.Product(ctx, "", "member")
		wantFault(t, err, fault.NotFound, "product")
		_, err = s.ProviderByCode(ctx, "NOPE")
		wantFault(t, err, fault.NotFound, "provider")
		_, err = s.Products(ctx, "NOPE", "member", false)
		wantFault(t, err, fault.NotFound, "provider")
		// A product added after a miss is found: misses are not cached.
		must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "NOPE", Name: "Now it exists", Provider: "GAME", Active: true}))
		if p := must[catalog.Product](t)(s.Product(ctx, "NOPE", "member")); p.Name != "Now it exists" {
			t.Fatalf("%+v", p)
		}
	})
}

// TestImportedIDs: a provider or product may keep an id from another
// platform, and ids assigned afterwards do not collide with it.
func TestImportedIDs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		p := must[catalog.Provider](t)(s.AddProvider(ctx, catalog.NewProvider{ID: 159, Code: "A", Name: "A", Active: true}))
		q := must[catalog.Provider](t)(s.AddProvider(ctx, catalog.NewProvider{Code: "B", Name: "B", Active: true}))
		if p.ID != 159 || q.ID <= 159 {
			t.Fatalf("ids %d, %d", p.ID, q.ID)
		}
		_, err := s.AddProvider(ctx, catalog.NewProvider{ID: 159, Code: "C", Name: "C"})
		wantFault(t, err, fault.Conflict, "code")
		id := must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{ID: 472, Code: "A-1", Name: "1", Provider: "A", Active: true}))
		id2 := must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "A-2", Name: "2", Provider: "A", Active: true}))
		if id != 472 || id2 <= 472 {
			t.Fatalf("product ids %d, %d", id, id2)
		}
		if got := must[catalog.Product](t)(s.Product(ctx, "A-1", "member")); got.ID != 472 || got.Provider.ID != 159 {
			t.Fatalf("%+v", got)
		}
	})
}

// TestCacheAcrossStores: a change made through another Store (another kios
// process on the same database) is seen once the cached entry expires.
func TestCacheAcrossStores(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		a := catalog.NewStore(d, c.now)
		b := catalog.NewStore(d, c.now)
		addGame(t, a)
		must[int64](t)(a.AddProduct(ctx, catalog.NewProduct{Code: "GAME-1", Name: "1", Provider: "GAME", Active: true,
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "G1", Cost: 100, Active: true}}, Prices: map[string]int64{"member": 150}}))
		if p := must[catalog.Product](t)(a.Product(ctx, "GAME-1", "member")); p.Price != 150 {
			t.Fatal(p.Price)
		}
		mustDo(t, b.SetPrice(ctx, "GAME-1", "member", 175))
		if p := must[catalog.Product](t)(b.Product(ctx, "GAME-1", "member")); p.Price != 175 {
			t.Fatalf("the writing store: %d", p.Price)
		}
		if p := must[catalog.Product](t)(a.Product(ctx, "GAME-1", "member")); p.Price != 150 {
			t.Fatalf("within the TTL the other store serves its cached entry (%d): the cache is not in use", p.Price)
		}
		c.add(time.Second)
		if p := must[catalog.Product](t)(a.Product(ctx, "GAME-1", "member")); p.Price != 175 {
			t.Fatalf("after the TTL: %d, want 175", p.Price)
		}
	})
}

// TestCacheRace: concurrent readers while prices change never see a price
// older than the last write that returned before their read began.
func TestCacheRace(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		addGame(t, s)
		must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "GAME-1", Name: "1", Provider: "GAME", Active: true,
			SKUs: []catalog.SKU{{Supplier: "simulator", SKU: "G1", Cost: 100, Active: true}}, Prices: map[string]int64{"member": 1000}}))
		var (
			mu      sync.Mutex
			written int64 = 1000
			stop          = make(chan struct{})
			wg      sync.WaitGroup
			bad     = make(chan string, 1)
		)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					floor := written
					mu.Unlock()
					p, err := s.Product(ctx, "GAME-1", "member")
					if err != nil || p.Price < floor {
						select {
						case bad <- strings.TrimSpace(err2s(err) + " stale price"):
						default:
						}
						return
					}
				}
			}()
		}
		for price := int64(1001); price <= 1040; price++ {
			mustDo(t, s.SetPrice(ctx, "GAME-1", "member", price))
			mu.Lock()
			written = price
			mu.Unlock()
		}
		close(stop)
		wg.Wait()
		select {
		case msg := <-bad:
			t.Fatal(msg)
		default:
		}
	})
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// BenchmarkProduct measures the order path's lookup: from the cache, and
// from the database (a fresh Store each time, SQLite).
func BenchmarkProduct(b *testing.B) {
	d := dbtest.Open(b, dbtest.DSN(b, "sqlite"))
	s := catalog.NewStore(d, nil)
	if err := catalog.LoadDemo(ctx, s); err != nil {
		b.Fatal(err)
	}
	const code = "FFMAX-BJ-V3FFMAX_ID_140"
	b.Run("cached", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Product(ctx, code, "reseller"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			if _, err := catalog.NewStore(d, nil).Product(ctx, code, "reseller"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
