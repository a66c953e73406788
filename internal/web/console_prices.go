package web

import (
	"encoding/json"
	"net/http"
	"strings"

	kcatalog "kios/internal/catalog"
	"kios/internal/face/admin"
	"kios/internal/fault"
)

// pricesView is /admin/catalog/prices: a bulk price change as lines, its
// preview (the prices that would move and who would be told), and the
// form that applies exactly the previewed lines.
type pricesView struct {
	catalogView
	Form      map[string]string
	Preview   *kcatalog.PricePreview
	Previewed bool
}

var pricesTemplate = parse("admin_prices.html", "catalog_tabs.html")

// Prices serves GET /admin/catalog/prices.
func (c *Console) Prices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := pricesView{catalogView: c.catalogPage(r, "prices", "catalog.prices"), Form: map[string]string{}}
		v.Path = "/admin/catalog/prices"
		render(w, r, c.d.Logger, pricesTemplate, http.StatusOK, v)
	})
}

// parsePriceChange reads the lines of a bulk change: prices "product_code
// level price" (0 removes the explicit price) and rules "level percent_bp
// flat".
func parsePriceChange(form map[string]string) ([]admin.PriceRow, []admin.RuleRow, error) {
	var prices []admin.PriceRow
	ls, ns := fieldLines(form["prices"])
	for i, f := range ls {
		if len(f) != 3 {
			return nil, nil, fault.Field(fault.Invalid, "prices", "line %d: write a product code, a level and a price", ns[i])
		}
		p, err := number("prices", ns[i], f[2])
		if err != nil {
			return nil, nil, err
		}
		prices = append(prices, admin.PriceRow{ProductCode: f[0], Level: f[1], Price: p})
	}
	var rules []admin.RuleRow
	ls, ns = fieldLines(form["rules"])
	for i, f := range ls {
		if len(f) != 3 {
			return nil, nil, fault.Field(fault.Invalid, "rules", "line %d: write a level, basis points and a flat markup", ns[i])
		}
		bp, err := number("rules", ns[i], f[1])
		if err != nil {
			return nil, nil, err
		}
		flat, err := number("rules", ns[i], f[2])
		if err != nil {
			return nil, nil, err
		}
		rules = append(rules, admin.RuleRow{Level: f[0], PercentBP: bp, Flat: flat})
	}
	return prices, rules, nil
}

// PreviewPrices serves POST /admin/catalog/prices/preview (prices, rules):
// what the change would do, from the catalog's rolled-back run of the
// same change the apply makes; nothing is changed.
func (c *Console) PreviewPrices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := pricesView{catalogView: c.catalogPage(r, "prices", "catalog.prices"), Form: formValues(r, "prices", "rules", "comment")}
		v.Path = "/admin/catalog/prices"
		prices, rules, err := parsePriceChange(v.Form)
		var pv kcatalog.PricePreview
		if err == nil {
			pv, err = admin.PreviewPrices(r.Context(), c.d.Catalog, prices, rules)
		}
		status := http.StatusOK
		if err != nil {
			var ok bool
			if status, ok = c.fail(w, r, &v.page, err); !ok {
				return
			}
		} else {
			v.Preview, v.Previewed = &pv, true
		}
		render(w, r, c.d.Logger, pricesTemplate, status, v)
	})
}

// ApplyPrices serves POST /admin/catalog/prices (prices, rules, comment):
// the bulk change in one transaction with one audit row.
func (c *Console) ApplyPrices() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := pricesView{catalogView: c.catalogPage(r, "prices", "catalog.prices"), Form: formValues(r, "prices", "rules", "comment")}
		v.Path = "/admin/catalog/prices"
		prices, rules, err := parsePriceChange(v.Form)
		if err == nil {
			_, err = admin.ChangePrices(r.Context(), c.d.Catalog, c.d.Now, operatorOf(r), prices, rules, v.Form["comment"])
		}
		if err != nil {
			status, ok := c.fail(w, r, &v.page, err)
			if ok {
				render(w, r, c.d.Logger, pricesTemplate, status, v)
			}
			return
		}
		http.Redirect(w, r, "/admin/catalog/prices?done=prices", http.StatusSeeOther)
	})
}

// importView is /admin/catalog/import: a JSON catalog pasted as text, or
// a sync from a configured prepaid supplier, and what the last one did.
type importView struct {
	catalogView
	Form     map[string]string
	Summary  map[string]any
	Supplier *admin.SupplierImport
}

var importTemplate = parse("admin_import.html", "catalog_tabs.html")

// Import serves GET /admin/catalog/import.
func (c *Console) Import() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := importView{catalogView: c.catalogPage(r, "import", "catalog.import"), Form: map[string]string{}}
		v.Path = "/admin/catalog/import"
		render(w, r, c.d.Logger, importTemplate, http.StatusOK, v)
	})
}

// ImportJSON serves POST /admin/catalog/import (json, comment): the
// operator API's import document {"providers":[…],"products":[…]}, added
// or updated by code in one transaction with one audit row.
func (c *Console) ImportJSON() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := importView{catalogView: c.catalogPage(r, "import", "catalog.import"), Form: formValues(r, "json", "comment")}
		v.Path, v.CleanURL = "/admin/catalog/import", "/admin/catalog/import"
		var doc admin.CatalogDoc
		err := json.Unmarshal([]byte(v.Form["json"]), &doc)
		if err != nil || strings.TrimSpace(v.Form["json"]) == "" {
			err = fault.Field(fault.Invalid, "json", "not a catalog document")
		} else {
			var sum kcatalog.ImportSummary
			if sum, err = admin.ImportDoc(r.Context(), c.d.Catalog, c.d.Now, operatorOf(r), doc, v.Form["comment"]); err == nil {
				v.Summary, v.Notice, v.Form = admin.ImportAnswer(sum), v.T("console.imported"), map[string]string{}
			}
		}
		status := http.StatusOK
		if err != nil {
			var ok bool
			if status, ok = c.fail(w, r, &v.page, err); !ok {
				return
			}
		}
		render(w, r, c.d.Logger, importTemplate, status, v)
	})
}

// ImportSupplier serves POST /admin/catalog/import/supplier (supplier,
// prefix, comment): a sync from a configured prepaid supplier through the
// server's importer, audited after it as the operator API does.
func (c *Console) ImportSupplier() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := importView{catalogView: c.catalogPage(r, "import", "catalog.import"), Form: formValues(r, "supplier", "prefix", "comment")}
		v.Path, v.CleanURL = "/admin/catalog/import", "/admin/catalog/import"
		res, err := admin.ImportFromSupplier(r.Context(), c.d.Audit, c.d.Importer, c.d.Now, operatorOf(r),
			strings.TrimSpace(v.Form["supplier"]), strings.TrimSpace(v.Form["prefix"]), v.Form["comment"])
		status := http.StatusOK
		if fault.CodeOf(err) == fault.Inactive && fault.FieldOf(err) == "supplier" {
			status, v.Problem = http.StatusUnprocessableEntity, v.T("catalog.no_importer")
		} else if err != nil {
			var ok bool
			if status, ok = c.fail(w, r, &v.page, err); !ok {
				return
			}
		} else {
			v.Supplier, v.Notice, v.Form = &res, v.T("console.imported"), map[string]string{}
		}
		render(w, r, c.d.Logger, importTemplate, status, v)
	})
}
