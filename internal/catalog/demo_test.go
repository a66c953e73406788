package catalog_test

import (
	"io/fs"
	"maps"
	"slices"
	"sync"
	"testing"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
)

func countRows(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"providers", "products", "product_skus", "product_prices", "price_rules"} {
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// TestLoadDemo: the demo catalog has what the issue asks for, is sane
// (prices member > reseller > h2h > every active SKU's cost, icons
// shipped), and loading it again — also twice at once — adds nothing.
func TestLoadDemo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := catalog.NewStore(d, nil)
		mustDo(t, catalog.LoadDemo(ctx, s))
		first := countRows(t, d)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { errs[i] = catalog.LoadDemo(ctx, catalog.NewStore(d, nil)) })
		}
		wg.Wait()
		for _, err := range errs {
			mustDo(t, err)
		}
		if again := countRows(t, d); !maps.Equal(first, again) {
			t.Fatalf("loading the demo again changed the catalog: %v → %v", first, again)
		}
		if first["providers"] < 6 || first["products"] < 40 || first["price_rules"] != 3 {
			t.Fatalf("demo catalog too small: %v", first)
		}

		providers := must[[]catalog.Provider](t)(s.Providers(ctx, false))
		byCode := map[string]catalog.Provider{}
		inactiveProviders := 0
		for _, p := range providers {
			byCode[p.Code] = p
			if !p.Active {
				inactiveProviders++
			}
			if _, err := fs.Stat(catalog.Icons, p.Icon); err != nil {
				t.Errorf("%s: icon %q is not shipped: %v", p.Code, p.Icon, err)
			}
		}
		if inactiveProviders != 1 {
			t.Errorf("%d inactive providers, want 1", inactiveProviders)
		}

		// The forms the issue names.
		keys := func(code string) []string {
			var out []string
			for _, f := range byCode[code].Forms {
				out = append(out, f.Key+":"+f.Type)
			}
			return out
		}
		formCases := []struct {
			provider string
			want     []string
		}{
			{"MLBB-BJ-V3-ALL", []string{"id:text", "server:text"}},
			{"FFMAX-BJ-V3", []string{"id:text"}},
			{"AKV-BJ", []string{"id:text", "server:dropdown"}},
			{"TSEL-PULSA", []string{"phone:text"}},
			{"PLN-TOKEN", []string{"meter:text"}},
		}
		for _, c := range formCases {
			if got := keys(c.provider); !slices.Equal(got, c.want) {
				t.Errorf("%s forms: %v, want %v", c.provider, got, c.want)
			}
		}
		inputs := []struct {
			provider string
			input    map[string]any
			ok       bool
		}{
			{"MLBB-BJ-V3-ALL", map[string]any{"id": "1122334455", "server": "112233"}, true},
			{"AKV-BJ", map[string]any{"id": "123456", "server": "10040300"}, true},
			{"AKV-BJ", map[string]any{"id": "123456", "server": "KR / JP / TW"}, false},
			{"TSEL-PULSA", map[string]any{"phone": "081234567890"}, true},
			{"TSEL-PULSA", map[string]any{"phone": "0712345678"}, false},
			{"TSEL-PULSA", map[string]any{"phone": "08123"}, false},
			{"PLN-TOKEN", map[string]any{"meter": "12345678901"}, true},
			{"PLN-TOKEN", map[string]any{"meter": float64(123456789012)}, true},
			{"PLN-TOKEN", map[string]any{"meter": "1234567890"}, false},
		}
		for _, c := range inputs {
			_, err := byCode[c.provider].ValidateForm(c.input)
			if (err == nil) != c.ok {
				t.Errorf("%s %v: %v, want ok=%v", c.provider, c.input, err, c.ok)
			}
		}

		// Prices: member > reseller > h2h > the cost of every active SKU.
		inactive, failover := 0, 0
		for _, pv := range providers {
			for _, listed := range must[[]catalog.Product](t)(s.Products(ctx, pv.Code, "member", false)) {
				var prices [3]int64
				for i, level := range []string{"member", "reseller", "h2h"} {
					p := must[catalog.Product](t)(s.Product(ctx, listed.Code, level))
					prices[i] = p.Price
					for _, k := range p.ActiveSKUs() {
						if k.Cost >= p.Price {
							t.Errorf("%s at %s: SKU %s %s costs %d, the price is %d", p.Code, level, k.Supplier, k.SKU, k.Cost, p.Price)
						}
					}
					if level == "member" {
						if !p.Active {
							inactive++
						}
						if len(p.SKUs) == 0 || p.SKUs[0].Supplier != "simulator" || p.SKUs[0].Priority != 1 {
							t.Errorf("%s: SKUs %+v, want simulator first", p.Code, p.SKUs)
						}
						if len(p.SKUs) == 2 && p.SKUs[1].Supplier == "simulator-b" && p.SKUs[1].Priority == 2 {
							failover++
						}
					}
				}
				if !(prices[0] > prices[1] && prices[1] > prices[2] && prices[2] > 0) {
					t.Errorf("%s: prices %v, want member > reseller > h2h > 0", listed.Code, prices)
				}
			}
		}
		if inactive < 3 || failover < 3 {
			t.Errorf("%d inactive products and %d with a second supplier; want a few of each", inactive, failover)
		}

		// Prices the reference's examples show for the reseller level.
		for code, want := range map[string]int64{
			"MLBB-BJ-V3-ALLMLBB_ID_5":  1_425,
			"FFMAX-BJ-V3FFMAX_ID_10":   1_864,
			"FFMAX-BJ-V3FFMAX_ID_100":  14_882,
			"FFMAX-BJ-V3FFMAX_ID_140":  18_610,
			"FFMAX-BJ-V3FFMAX_ID_1000": 130_180,
		} {
			if p := must[catalog.Product](t)(s.Product(ctx, code, "reseller")); p.Price != want {
				t.Errorf("%s: reseller price %d, want %d", code, p.Price, want)
			}
		}

		// Operator changes survive a reload.
		mustDo(t, s.SetProductActive(ctx, "MLBB-BJ-V3-ALLMLBB_ID_10", false))
		mustDo(t, s.SetRule(ctx, "member", 700, 0))
		mustDo(t, catalog.LoadDemo(ctx, s))
		if p := must[catalog.Product](t)(s.Product(ctx, "MLBB-BJ-V3-ALLMLBB_ID_10", "member")); p.Active || p.Price != 2_750+193 {
			t.Fatalf("reload undid the operator's changes: %+v", p)
		}
		_, err := s.Product(ctx, "NOT-IN-DEMO", "member")
		wantFault(t, err, fault.NotFound, "product")
	})
}
