package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzListQuery checks the list query parsers on any query string: they
// never panic, and what they accept is in range.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{"", "page=1&per_page=50", "page=0", "per_page=1001", "page=-1", "page=9999999999999999999",
		"from=2026-11-21&to=2026-11-21", "from=2026-11-22&to=2026-11-21", "from=21-11-2026", "to=2026-02-30", "page=1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if p, err := parsePage(q); err == nil {
			if p.Number < 1 || p.PerPage < 1 || p.PerPage > maxPerPage || p.Offset() < 0 {
				t.Fatalf("parsePage(%q) accepted %+v", raw, p)
			}
		}
		if from, to, err := dayRange(q); err == nil && !from.IsZero() && !to.IsZero() && !from.Before(to) {
			t.Fatalf("dayRange(%q) accepted from %v ≥ to %v", raw, from, to)
		}
	})
}

// FuzzDecode checks the body decoder on any body: it never panics, and a
// refusal is a 400 in the error shape that names no field it did not see.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "{}", `{"items":[{"reference":"DEP1","action":"accept","comment":"x"}]}`,
		`{"items":"x"}`, `{"items":[{"reference":7}]}`, "[", "null", `{"amount":1.5}`, `{"amount":"1"}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v struct {
			bulkBody
			Amount int64 `json:"amount"`
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/api/admin/x", strings.NewReader(body))
		if decode(w, r, &v) {
			return
		}
		if w.Code != http.StatusBadRequest {
			t.Fatalf("refused %q with %d", body, w.Code)
		}
		var e errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("refusal of %q is not the error shape: %s", body, w.Body.String())
		}
		if e.Error.Field != "" && !strings.Contains(body, e.Error.Field[strings.LastIndex(e.Error.Field, ".")+1:]) {
			t.Fatalf("refusal of %q names field %q", body, e.Error.Field)
		}
	})
}

// FuzzPricesBody checks the bulk price body reader on any body: it never
// panics; a refusal is a 400 in the error shape; an accepted array takes
// its comment from the query.
func FuzzPricesBody(f *testing.F) {
	for _, s := range []string{`[]`, `[{"product_code":"A","level":"reseller","price":1}]`, `{"prices":[],"rules":[{"level":"h2h","percent_bp":250}],"comment":"c"}`,
		`[{"price":"1"}]`, `{"prices":{}}`, ` [`, `[1,2]`, `{"rules":[{"flat":1.5}]}`, "null", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/api/admin/prices?comment=from-query", strings.NewReader(body))
		got, ok := readPriceBody(w, r)
		if ok {
			if strings.HasPrefix(strings.TrimSpace(body), "[") && got.Comment != "from-query" {
				t.Fatalf("array %q: comment %q, want the query's", body, got.Comment)
			}
			return
		}
		var e errorBody
		if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Code == "" {
			t.Fatalf("refusal of %q: %d %s", body, w.Code, w.Body.String())
		}
	})
}
