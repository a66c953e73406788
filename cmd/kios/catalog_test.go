package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// getJSON calls a prepaid read call the way the reference's PHP does and
// decodes the answer into v.
func getJSON(t *testing.T, rawURL, key string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v: %s", rawURL, err, b)
	}
	return resp.StatusCode
}

type demoProvider struct {
	Code    string `json:"code"`
	Active  int    `json:"active"`
	IconURL string `json:"icon_url"`
}

type demoProduct struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Active   int    `json:"active"`
	Price    int64  `json:"price"`
	Provider struct {
		Name string `json:"name"`
	} `json:"provider"`
}

// catalogSummary lists the demo catalog through the prepaid face, checks
// that every icon_url answers an image, and returns the providers' and
// products' codes.
func catalogSummary(t *testing.T, base, key string) (providers, products []string) {
	t.Helper()
	var pl struct {
		Data []demoProvider `json:"data"`
	}
	if status := getJSON(t, base+"/api/prepaid/provider", key, &pl); status != 200 {
		t.Fatalf("provider list: %d", status)
	}
	inactive := 0
	for _, p := range pl.Data {
		providers = append(providers, p.Code)
		if p.Active == 0 {
			inactive++
		}
		if !strings.HasPrefix(p.IconURL, base+"/images/provider/") {
			t.Errorf("%s: icon_url %q is not under the base URL %s", p.Code, p.IconURL, base)
		}
		resp, err := http.Get(p.IconURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
			t.Errorf("%s: icon_url %s answers %d %s", p.Code, p.IconURL, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var items struct {
			Data []demoProduct `json:"data"`
		}
		if status := getJSON(t, base+"/api/prepaid/product?provider="+url.QueryEscape(p.Code), key, &items); status != 200 {
			t.Fatalf("products of %s: %d", p.Code, status)
		}
		for _, it := range items.Data {
			products = append(products, it.Code)
		}
	}
	if inactive != 1 {
		t.Errorf("%d inactive providers in the demo, want 1", inactive)
	}
	return providers, products
}

// TestServeDemoCatalog: `kios serve --demo` serves the demo catalog through
// the prepaid face with resolvable icons and the demo member's (reseller)
// prices; a second start adds nothing.
func TestServeDemoCatalog(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--demo", "--data-dir", dir}, databaseArgs(t, target)...)
			base, stop := startServe(t, args...)
			info := readDemo(t, dir)
			providers, products := catalogSummary(t, base, info.APIKey)
			if len(providers) < 6 || len(products) < 40 {
				t.Fatalf("demo catalog: %d providers, %d products", len(providers), len(products))
			}
			var detail struct {
				Data demoProduct `json:"data"`
			}
			status := getJSON(t, base+"/api/prepaid/product/MLBB-BJ-V3-ALLMLBB_ID_5", info.APIKey, &detail)
			if status != 200 || detail.Data.Price != 1425 || detail.Data.Name != "5 Diamonds" ||
				detail.Data.Provider.Name != "Mobile Legends" || detail.Data.Active != 1 {
				t.Fatalf("MLBB 5 Diamonds: %d %+v", status, detail.Data)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			base, stop = startServe(t, args...)
			defer stop()
			providers2, products2 := catalogSummary(t, base, info.APIKey)
			if strings.Join(providers2, ",") != strings.Join(providers, ",") || strings.Join(products2, ",") != strings.Join(products, ",") {
				t.Fatalf("the second --demo run changed the catalog:\n%v\n%v", products, products2)
			}
		})
	}
}
