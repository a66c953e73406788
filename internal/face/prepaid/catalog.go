package prepaid

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"kios/internal/catalog"
	"kios/internal/fault"
)

// The catalog calls' data, field for field in the reference's order.
type (
	providerItem struct {
		ID      int64       `json:"id"`
		Code    string      `json:"code"`
		Name    string      `json:"name"`
		Active  int         `json:"active"`
		Icon    string      `json:"icon"`
		Forms   []formField `json:"forms"`
		IconURL string      `json:"icon_url"`
	}
	// formField is one entry of a provider's forms: label, key and type as
	// the reference has them, options for a dropdown, and kios's additions
	// pattern and max_length on a text field that sets them.
	formField struct {
		Label     string       `json:"label"`
		Key       string       `json:"key"`
		Type      string       `json:"type"`
		Options   []formOption `json:"options,omitempty"`
		Pattern   string       `json:"pattern,omitempty"`
		MaxLength int          `json:"max_length,omitempty"`
	}
	formOption struct {
		Name string `json:"name"`
		Code string `json:"code"`
	}
	productItem struct {
		ID       int64           `json:"id"`
		Code     string          `json:"code"`
		Name     string          `json:"name"`
		Active   int             `json:"active"`
		Price    int64           `json:"price"`
		Provider productProvider `json:"provider"`
	}
	productProvider struct {
		ID     int64  `json:"id"`
		Code   string `json:"code"`
		Name   string `json:"name"`
		Active int    `json:"active"`
	}
	productDetail struct {
		ID       int64          `json:"id"`
		Code     string         `json:"code"`
		Name     string         `json:"name"`
		Active   int            `json:"active"`
		Price    int64          `json:"price"`
		Provider detailProvider `json:"provider"`
	}
	detailProvider struct {
		ID      int64  `json:"id"`
		Code    string `json:"code"`
		Name    string `json:"name"`
		Icon    string `json:"icon"`
		IconURL string `json:"icon_url"`
	}
)

// oneOrZero renders a boolean as the reference does: 1 or 0.
func oneOrZero(on bool) int {
	if on {
		return 1
	}
	return 0
}

// iconURL is where kios serves a provider's icon; "" when it has none.
func iconURL(base, icon string) string {
	if icon == "" {
		return ""
	}
	return strings.TrimRight(base, "/") + "/images/provider/" + url.PathEscape(icon)
}

// missingParam and invalidParam answer a query parameter that is absent or
// unusable, naming it.
func missingParam(name string) apiError {
	return apiError{http.StatusBadRequest, "missing_field", "Parameter " + name + " wajib diisi"}
}

func invalidParam(name string) apiError {
	return apiError{http.StatusBadRequest, "invalid_field", "Parameter " + name + " tidak valid"}
}

// activeParam reads the optional active filter: 1/true/yes keeps active
// items only; absent, empty, 0/false/no lists everything. ok is false for
// any other value.
func activeParam(r *http.Request) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(r.URL.Query().Get("active"))) {
	case "1", "true", "yes", "on":
		return true, true
	case "", "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

func wireForms(fs []catalog.Field) []formField {
	out := make([]formField, 0, len(fs))
	for _, f := range fs {
		w := formField{Label: f.Label, Key: f.Key, Type: f.Type, Pattern: f.Pattern, MaxLength: f.MaxLength}
		for _, o := range f.Options {
			w.Options = append(w.Options, formOption{Name: o.Name, Code: o.Code})
		}
		out = append(out, w)
	}
	return out
}

// Providers answers GET /api/prepaid/provider: every provider (only the
// active ones with active=1), with its order form and icon URL.
func Providers(cat *catalog.Store, baseURL string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		activeOnly, ok := activeParam(r)
		if !ok {
			writeError(w, invalidParam("active"))
			return
		}
		ps, err := cat.PrepaidProviders(r.Context(), activeOnly)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		out := make([]providerItem, 0, len(ps))
		for _, p := range ps {
			out = append(out, providerItem{ID: p.ID, Code: p.Code, Name: p.Name, Active: oneOrZero(p.Active),
				Icon: p.Icon, Forms: wireForms(p.Forms), IconURL: iconURL(baseURL, p.Icon)})
		}
		writeData(w, out)
	})
}

// Products answers GET /api/prepaid/product?provider=<code>: the
// provider's products priced for the caller's level, cheapest first (only
// those that can be ordered with active=1). A product's active is 1 when it
// can be ordered now: it and its provider are on, and it has a price and a
// supplier.
func Products(cat *catalog.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		code := strings.TrimSpace(r.URL.Query().Get("provider"))
		if code == "" {
			writeError(w, missingParam("provider"))
			return
		}
		activeOnly, ok := activeParam(r)
		if !ok {
			writeError(w, invalidParam("active"))
			return
		}
		ps, err := cat.Products(r.Context(), code, c.Member.Level, activeOnly)
		if fault.CodeOf(err) == fault.NotFound || (len(ps) > 0 && ps[0].Ewallet) {
			// An e-wallet operator is not a provider of this face.
			writeError(w, errProviderNotFound)
			return
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		out := make([]productItem, 0, len(ps))
		for _, p := range ps {
			if p.Ewallet {
				continue // sold by amount through the PPOB face only
			}
			out = append(out, productItem{ID: p.ID, Code: p.Code, Name: p.Name,
				Active: oneOrZero(p.Orderable() == nil), Price: p.Price,
				Provider: productProvider{ID: p.Provider.ID, Code: p.Provider.Code, Name: p.Provider.Name,
					Active: oneOrZero(p.Provider.Active)}})
		}
		writeData(w, out)
	})
}

// Product answers GET /api/prepaid/product/{code}: one product priced for
// the caller's level, with its provider's icon; an unknown code is
// "Produk tidak ditemukan".
func Product(cat *catalog.Store, baseURL string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := CallerFrom(r.Context())
		p, err := cat.Product(r.Context(), r.PathValue("code"), c.Member.Level)
		if fault.CodeOf(err) == fault.NotFound || (err == nil && p.Ewallet) {
			writeError(w, errProductNotFound)
			return
		}
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeData(w, productDetail{ID: p.ID, Code: p.Code, Name: p.Name,
			Active: oneOrZero(p.Orderable() == nil), Price: p.Price,
			Provider: detailProvider{ID: p.Provider.ID, Code: p.Provider.Code, Name: p.Provider.Name,
				Icon: p.Provider.Icon, IconURL: iconURL(baseURL, p.Provider.Icon)}})
	})
}
