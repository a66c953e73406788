package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	kcatalog "kios/internal/catalog"
	"kios/internal/face/admin"
	"kios/internal/fault"
)

// The catalog pages edit providers and products, change prices in bulk
// after a preview, and import. Every change calls the operator API's
// audited function (internal/face/admin), so it leaves the same audit row
// as the API; lists of SKUs and prices are edited as text, one per line.

// catalogView is the frame of every catalog page: its sub-tab and whether
// the operator may change the catalog.
type catalogView struct {
	page
	Sub       string
	CanChange bool
}

func (c *Console) catalogPage(r *http.Request, sub, title string) catalogView {
	return catalogView{page: consolePage(r, "catalog", title), Sub: sub, CanChange: can(r, admin.FamilyCatalog)}
}

// fail shows a form's domain error on the page again, or the error page
// for anything else.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *page, err error) (int, bool) {
	st, msg := p.problem(err)
	if st == http.StatusInternalServerError {
		c.serverError(w, r, *p, err)
		return st, false
	}
	p.Problem = msg
	p.CleanURL = ""
	return st, true
}

// productsView is /admin/catalog: products with their SKUs and every
// level's price.
type productsView struct {
	catalogView
	Provider, Query string
	Providers       []option
	Levels          []string
	Rows            []productRow
	Pager           pager
}

type productRow struct {
	Code, Name, Provider string
	Active               bool
	SKUs                 []string
	Prices               []levelPrice
}

type levelPrice struct {
	Level, Source string
	Price         int64
	Explicit      bool
}

func toProductRow(l kcatalog.Listed) productRow {
	row := productRow{Code: l.Code, Name: l.Name, Provider: l.Provider, Active: l.Active}
	for _, k := range l.SKUs {
		s := k.Supplier + "/" + k.SKU + " Rp " + strconv.FormatInt(k.Cost, 10)
		if !k.Active {
			s += " (off)"
		}
		row.SKUs = append(row.SKUs, s)
	}
	for _, p := range l.Prices {
		row.Prices = append(row.Prices, levelPrice{Level: p.Level, Source: string(p.Source), Price: p.Price, Explicit: p.Explicit > 0})
	}
	return row
}

var productsTemplate = parse("admin_catalog.html", "catalog_tabs.html", "pager.html")

// Products serves GET /admin/catalog?provider=&q=&page=.
func (c *Console) Products() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := productsView{catalogView: c.catalogPage(r, "products", "catalog.title")}
		q := r.URL.Query()
		v.Provider, v.Query = strings.TrimSpace(q.Get("provider")), strings.TrimSpace(q.Get("q"))
		provs, err := c.d.Catalog.Providers(r.Context(), false)
		if err != nil {
			c.serverError(w, r, v.page, err)
			return
		}
		for _, p := range provs {
			v.Providers = append(v.Providers, option{p.Code, p.Name})
		}
		n := pageNumber(r)
		items, total, err := c.d.Catalog.ListProducts(r.Context(), kcatalog.ProductFilter{Provider: v.Provider, Q: v.Query},
			perPage, (n-1)*perPage)
		if err != nil {
			c.serverError(w, r, v.page, err)
			return
		}
		for i, it := range items {
			if i == 0 {
				for _, p := range it.Prices {
					v.Levels = append(v.Levels, p.Level)
				}
			}
			v.Rows = append(v.Rows, toProductRow(it))
		}
		v.Pager = newPager(r, n, total)
		render(w, r, c.d.Logger, productsTemplate, http.StatusOK, v)
	})
}

// productView is the form of one product, new (Code empty) or existing.
type productView struct {
	catalogView
	New       bool
	Code      string
	Form      map[string]string
	Providers []option
	Levels    []levelPrice
}

var productTemplate = parse("admin_product.html", "catalog_tabs.html")

// Product serves GET /admin/catalog/products/{code}, and the empty form at
// /admin/catalog/products/new.
func (c *Console) Product() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.product(w, r, c.catalogPage(r, "products", "catalog.product"), http.StatusOK, r.PathValue("code"), nil)
	})
}

func (c *Console) product(w http.ResponseWriter, r *http.Request, cv catalogView, status int, code string, form map[string]string) {
	v := productView{catalogView: cv, New: code == "new" || code == "", Form: form}
	if !v.New {
		l, err := c.d.Catalog.ListedProduct(r.Context(), code)
		if err != nil {
			if st, _ := v.problem(err); st == http.StatusNotFound {
				showMessage(w, r, c.d.Logger, v.page, http.StatusNotFound, "notfound.title", "catalog.notfound")
				return
			}
			c.serverError(w, r, v.page, err)
			return
		}
		v.Code, v.Title = l.Code, l.Code
		v.Levels = toProductRow(l).Prices
		if form == nil {
			v.Form = productForm(l)
		}
	}
	if v.Form == nil {
		v.Form = map[string]string{"active": "on"}
	}
	v.Path = "/admin/catalog/products/" + url.PathEscape(code)
	if v.New {
		v.Path = "/admin/catalog/products/new"
	}
	if r.Method == http.MethodPost && status == http.StatusOK {
		v.CleanURL = v.Path
	}
	provs, err := c.d.Catalog.Providers(r.Context(), false)
	if err != nil {
		c.serverError(w, r, v.page, err)
		return
	}
	for _, p := range provs {
		v.Providers = append(v.Providers, option{p.Code, p.Name})
	}
	render(w, r, c.d.Logger, productTemplate, status, v)
}

// productForm is the form of product l: its SKUs as lines "supplier sku
// priority cost [off]" and its explicit prices as lines "level price".
func productForm(l kcatalog.Listed) map[string]string {
	var skus, prices []string
	for _, k := range l.SKUs {
		line := k.Supplier + " " + k.SKU + " " + strconv.Itoa(k.Priority) + " " + strconv.FormatInt(k.Cost, 10)
		if !k.Active {
			line += " off"
		}
		skus = append(skus, line)
	}
	for _, p := range l.Prices {
		if p.Explicit > 0 {
			prices = append(prices, p.Level+" "+strconv.FormatInt(p.Explicit, 10))
		}
	}
	active := ""
	if l.Active {
		active = "on"
	}
	return map[string]string{"code": l.Code, "name": l.Name, "provider": l.Provider, "active": active,
		"skus": strings.Join(skus, "\n"), "prices": strings.Join(prices, "\n")}
}

// fieldLines returns the non-empty lines of s, split into fields, with their
// line numbers.
func fieldLines(s string) (out [][]string, numbers []int) {
	for i, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if f := strings.Fields(strings.ReplaceAll(l, ",", " ")); len(f) > 0 {
			out, numbers = append(out, f), append(numbers, i+1)
		}
	}
	return out, numbers
}

// number reads a whole number of a line for field.
func number(field string, line int, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ".", ""), 10, 64)
	if err != nil {
		return 0, fault.Field(fault.Invalid, field, "line %d: %q is not a whole number", line, s)
	}
	return n, nil
}

// parseSKUs reads lines "supplier sku [priority] cost [off]".
func parseSKUs(s string) ([]kcatalog.SKU, error) {
	ls, ns := fieldLines(s)
	out := []kcatalog.SKU{}
	for i, f := range ls {
		k := kcatalog.SKU{Active: true}
		if f[len(f)-1] == "off" {
			k.Active, f = false, f[:len(f)-1]
		}
		if len(f) != 3 && len(f) != 4 {
			return nil, fault.Field(fault.Invalid, "skus", "line %d: write supplier, sku, priority and cost", ns[i])
		}
		k.Supplier, k.SKU = f[0], f[1]
		var err error
		if len(f) == 4 {
			var p int64
			if p, err = number("skus", ns[i], f[2]); err != nil {
				return nil, err
			}
			k.Priority = int(p)
		}
		if k.Cost, err = number("skus", ns[i], f[len(f)-1]); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// parseLevelPrices reads lines "level price".
func parseLevelPrices(s string) (map[string]int64, error) {
	ls, ns := fieldLines(s)
	out := map[string]int64{}
	for i, f := range ls {
		if len(f) != 2 {
			return nil, fault.Field(fault.Invalid, "prices", "line %d: write a level and a price", ns[i])
		}
		p, err := number("prices", ns[i], f[1])
		if err != nil {
			return nil, err
		}
		out[f[0]] = p
	}
	return out, nil
}

// SaveProduct serves POST /admin/catalog/products/{code} (code "new"
// creates): name, provider, active, skus, prices, comment. An existing
// product's SKUs are replaced by the lines; a level whose explicit price
// line is removed goes back to its rule.
func (c *Console) SaveProduct() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cv := c.catalogPage(r, "products", "catalog.product")
		form := formValues(r, "code", "name", "provider", "active", "skus", "prices", "comment")
		code := r.PathValue("code")
		op := operatorOf(r)
		skus, err := parseSKUs(form["skus"])
		var prices map[string]int64
		if err == nil {
			prices, err = parseLevelPrices(form["prices"])
		}
		active := form["active"] != ""
		name, provider := strings.TrimSpace(form["name"]), strings.TrimSpace(form["provider"])
		if err == nil && code == "new" {
			var l kcatalog.Listed
			l, err = admin.AddProduct(r.Context(), c.d.Catalog, c.d.Now, op, kcatalog.NewProduct{Code: strings.TrimSpace(form["code"]),
				Name: name, Provider: provider, Active: active, SKUs: skus, Prices: prices}, form["comment"])
			code = l.Code
		} else if err == nil {
			var before kcatalog.Listed
			if before, err = c.d.Catalog.ListedProduct(r.Context(), code); err == nil {
				for _, p := range before.Prices {
					if _, ok := prices[p.Level]; !ok && p.Explicit > 0 {
						prices[p.Level] = 0
					}
				}
				_, _, err = admin.ChangeProduct(r.Context(), c.d.Catalog, c.d.Now, op, code, kcatalog.ProductChanges{Name: &name,
					Active: &active, Provider: &provider, SKUs: &skus, Prices: prices}, form["comment"])
			}
		}
		if err != nil {
			st, ok := c.fail(w, r, &cv.page, err)
			if ok {
				c.product(w, r, cv, st, r.PathValue("code"), form)
			}
			return
		}
		http.Redirect(w, r, "/admin/catalog/products/"+url.PathEscape(code)+"?done=saved", http.StatusSeeOther)
	})
}

// providersView is /admin/catalog/providers: every provider with its order
// form, and the form of a new one.
type providersView struct {
	catalogView
	Rows []providerRow
	Form map[string]string
}

type providerRow struct {
	Code, Name, Icon string
	Active           bool
	Position         int64
	Fields           []string
}

var providersTemplate = parse("admin_providers.html", "catalog_tabs.html")

// Providers serves GET /admin/catalog/providers.
func (c *Console) Providers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.providers(w, r, c.catalogPage(r, "providers", "catalog.providers"), http.StatusOK, nil)
	})
}

func (c *Console) providers(w http.ResponseWriter, r *http.Request, cv catalogView, status int, form map[string]string) {
	v := providersView{catalogView: cv, Form: form}
	if v.Form == nil {
		v.Form = map[string]string{"active": "on", "forms": "[]"}
	}
	v.Path = "/admin/catalog/providers"
	provs, err := c.d.Catalog.Providers(r.Context(), false)
	if err != nil {
		c.serverError(w, r, v.page, err)
		return
	}
	for _, p := range provs {
		row := providerRow{Code: p.Code, Name: p.Name, Icon: p.Icon, Active: p.Active, Position: p.Position}
		for _, f := range p.Forms {
			row.Fields = append(row.Fields, f.Label+" ("+f.Key+", "+f.Type+")")
		}
		v.Rows = append(v.Rows, row)
	}
	render(w, r, c.d.Logger, providersTemplate, status, v)
}

// providerView is the form of one provider.
type providerView struct {
	catalogView
	Code string
	Form map[string]string
}

var providerTemplate = parse("admin_provider.html", "catalog_tabs.html")

// Provider serves GET /admin/catalog/providers/{code}.
func (c *Console) Provider() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.provider(w, r, c.catalogPage(r, "providers", "catalog.providers"), http.StatusOK, nil)
	})
}

func (c *Console) provider(w http.ResponseWriter, r *http.Request, cv catalogView, status int, form map[string]string) {
	p, err := c.d.Catalog.ProviderByCode(r.Context(), r.PathValue("code"))
	if err != nil {
		if st, _ := cv.problem(err); st == http.StatusNotFound {
			showMessage(w, r, c.d.Logger, cv.page, http.StatusNotFound, "notfound.title", "catalog.notfound")
			return
		}
		c.serverError(w, r, cv.page, err)
		return
	}
	v := providerView{catalogView: cv, Code: p.Code, Form: form}
	v.Title, v.Path = p.Name, "/admin/catalog/providers/"+url.PathEscape(p.Code)
	if v.Form == nil {
		forms, _ := json.MarshalIndent(p.Forms, "", "  ")
		if p.Forms == nil {
			forms = []byte("[]")
		}
		active := ""
		if p.Active {
			active = "on"
		}
		v.Form = map[string]string{"name": p.Name, "icon": p.Icon, "position": strconv.FormatInt(p.Position, 10),
			"active": active, "forms": string(forms)}
	}
	render(w, r, c.d.Logger, providerTemplate, status, v)
}

// providerFields reads a provider form's position and order form (a JSON
// array of fields, as the operator API takes them).
func providerFields(form map[string]string) (int64, []kcatalog.Field, error) {
	var pos int64
	if s := strings.TrimSpace(form["position"]); s != "" {
		var err error
		if pos, err = strconv.ParseInt(s, 10, 64); err != nil {
			return 0, nil, fault.Field(fault.Invalid, "position", "must be a whole number")
		}
	}
	var fields []kcatalog.Field
	if s := strings.TrimSpace(form["forms"]); s != "" {
		if err := json.Unmarshal([]byte(s), &fields); err != nil {
			return 0, nil, fault.Field(fault.Invalid, "forms", "must be a JSON array of fields: %v", err)
		}
	}
	return pos, fields, nil
}

// SaveProvider serves POST /admin/catalog/providers (a new provider) and
// POST /admin/catalog/providers/{code}: name, icon, position, active,
// forms (JSON), comment.
func (c *Console) SaveProvider() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cv := c.catalogPage(r, "providers", "catalog.providers")
		form := formValues(r, "code", "name", "icon", "position", "active", "forms", "comment")
		code := r.PathValue("code")
		op := operatorOf(r)
		pos, fields, err := providerFields(form)
		active := form["active"] != ""
		name, icon := strings.TrimSpace(form["name"]), strings.TrimSpace(form["icon"])
		if err == nil && code == "" {
			var p kcatalog.Provider
			p, err = admin.AddProvider(r.Context(), c.d.Catalog, c.d.Now, op, kcatalog.NewProvider{Code: strings.TrimSpace(form["code"]),
				Name: name, Icon: icon, Position: pos, Active: active, Forms: fields}, form["comment"])
			code = p.Code
		} else if err == nil {
			_, err = admin.ChangeProvider(r.Context(), c.d.Catalog, c.d.Now, op, code, kcatalog.ProviderChanges{Name: &name,
				Icon: &icon, Position: &pos, Active: &active, Forms: &fields}, form["comment"])
		}
		if err != nil {
			st, ok := c.fail(w, r, &cv.page, err)
			if !ok {
				return
			}
			if r.PathValue("code") == "" {
				c.providers(w, r, cv, st, form)
			} else {
				c.provider(w, r, cv, st, form)
			}
			return
		}
		http.Redirect(w, r, "/admin/catalog/providers/"+url.PathEscape(code)+"?done=saved", http.StatusSeeOther)
	})
}
