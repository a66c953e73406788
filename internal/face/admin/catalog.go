package admin

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"kios/internal/audit"
	"kios/internal/catalog"
	"kios/internal/fault"
)

// providerRow is a provider on the wire, with its order form.
type providerRow struct {
	ID       int64           `json:"id"`
	Code     string          `json:"code"`
	Name     string          `json:"name"`
	Active   bool            `json:"active"`
	Icon     string          `json:"icon"`
	Position int64           `json:"position"`
	Forms    []catalog.Field `json:"forms"`
}

func toProviderRow(p catalog.Provider) providerRow {
	forms := p.Forms
	if forms == nil {
		forms = []catalog.Field{}
	}
	return providerRow{ID: p.ID, Code: p.Code, Name: p.Name, Active: p.Active, Icon: p.Icon, Position: p.Position, Forms: forms}
}

// skuRow is one supplier SKU of a product on the wire.
type skuRow struct {
	Supplier string `json:"supplier"`
	SKU      string `json:"sku"`
	Priority int    `json:"priority"`
	Cost     int64  `json:"cost"`
	Active   bool   `json:"active"`
}

// skuIn is a SKU in a request: active defaults to true.
type skuIn struct {
	Supplier string `json:"supplier"`
	SKU      string `json:"sku"`
	Priority int    `json:"priority"`
	Cost     int64  `json:"cost"`
	Active   *bool  `json:"active"`
}

func fromSKUs(in []skuIn) []catalog.SKU {
	out := make([]catalog.SKU, len(in))
	for i, k := range in {
		out[i] = catalog.SKU{Supplier: k.Supplier, SKU: k.SKU, Priority: k.Priority, Cost: k.Cost, Active: k.Active == nil || *k.Active}
	}
	return out
}

// levelPriceRow is a product's price for one level on the wire.
type levelPriceRow struct {
	Level    string `json:"level"`
	Price    int64  `json:"price"`
	Source   string `json:"source"`
	Explicit int64  `json:"explicit"`
}

// productRow is a product on the wire: its SKUs in priority order and its
// price for every level.
type productRow struct {
	ID        int64           `json:"id"`
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	Provider  string          `json:"provider"`
	Active    bool            `json:"active"`
	SKUs      []skuRow        `json:"skus"`
	Prices    []levelPriceRow `json:"prices"`
	CreatedAt string          `json:"created_at"`
	UpdatedAt string          `json:"updated_at"`
}

func toProductRow(l catalog.Listed) productRow {
	r := productRow{ID: l.ID, Code: l.Code, Name: l.Name, Provider: l.Provider, Active: l.Active,
		SKUs: make([]skuRow, 0, len(l.SKUs)), Prices: make([]levelPriceRow, 0, len(l.Prices)),
		CreatedAt: wire(l.CreatedAt), UpdatedAt: wire(l.UpdatedAt)}
	for _, k := range l.SKUs {
		r.SKUs = append(r.SKUs, skuRow{Supplier: k.Supplier, SKU: k.SKU, Priority: k.Priority, Cost: k.Cost, Active: k.Active})
	}
	for _, p := range l.Prices {
		src := string(p.Source)
		if src == "" {
			src = "none"
		}
		r.Prices = append(r.Prices, levelPriceRow{Level: p.Level, Price: p.Price, Source: src, Explicit: p.Explicit})
	}
	return r
}

// priceChangeRow is a price that moved, on the wire.
type priceChangeRow struct {
	Level       string `json:"level"`
	ProductCode string `json:"product_code"`
	PriceOld    int64  `json:"price_old"`
	PriceNew    int64  `json:"price_new"`
}

func toPriceChanges(cs []catalog.PriceChange) []priceChangeRow {
	out := make([]priceChangeRow, 0, len(cs))
	for _, c := range cs {
		out = append(out, priceChangeRow{Level: c.Level, ProductCode: c.ProductCode, PriceOld: c.Old, PriceNew: c.New})
	}
	return out
}

// Providers answers GET /api/admin/providers: every provider, switched on
// or not, in listing order, with its order form, paginated.
func Providers(cat *catalog.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parsePage(r.URL.Query())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		all, err := cat.Providers(r.Context(), false)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := []providerRow{}
		for i := p.Offset(); i < len(all) && i < p.Offset()+p.Limit(); i++ {
			rows = append(rows, toProviderRow(all[i]))
		}
		writeJSON(w, newList(rows, p, int64(len(all))))
	})
}

// CreateProvider answers POST /api/admin/providers
// {code, name, active, icon, position, forms, comment}; active defaults to
// true.
func CreateProvider(cat *catalog.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Code     string          `json:"code"`
			Name     string          `json:"name"`
			Active   *bool           `json:"active"`
			Icon     string          `json:"icon"`
			Position int64           `json:"position"`
			Forms    []catalog.Field `json:"forms"`
			Comment  string          `json:"comment"`
		}
		if !decode(w, r, &body) {
			return
		}
		p, err := AddProvider(r.Context(), cat, now, OperatorFrom(r.Context()), catalog.NewProvider{Code: body.Code, Name: body.Name,
			Active: body.Active == nil || *body.Active, Icon: body.Icon, Position: body.Position, Forms: body.Forms}, body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toProviderRow(p)})
	})
}

// UpdateProvider answers PATCH /api/admin/providers/{code}
// {name, active, icon, position, forms, comment}: absent fields stay.
func UpdateProvider(cat *catalog.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name     *string          `json:"name"`
			Active   *bool            `json:"active"`
			Icon     *string          `json:"icon"`
			Position *int64           `json:"position"`
			Forms    *[]catalog.Field `json:"forms"`
			Comment  string           `json:"comment"`
		}
		if !decode(w, r, &body) {
			return
		}
		p, err := ChangeProvider(r.Context(), cat, now, OperatorFrom(r.Context()), r.PathValue("code"), catalog.ProviderChanges{Name: body.Name,
			Active: body.Active, Icon: body.Icon, Position: body.Position, Forms: body.Forms}, body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toProviderRow(p)})
	})
}

// Products answers GET /api/admin/products?provider=&q=&active=true|false:
// products by id with their SKUs and every level's price, paginated.
func Products(cat *catalog.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p, err := parsePage(q)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		active, err := oneOf(q, "active", "true", "false")
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		f := catalog.ProductFilter{Provider: q.Get("provider"), Q: q.Get("q")}
		if active != "" {
			on := active == "true"
			f.Active = &on
		}
		items, total, err := cat.ListProducts(r.Context(), f, p.Limit(), p.Offset())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]productRow, 0, len(items))
		for _, it := range items {
			rows = append(rows, toProductRow(it))
		}
		writeJSON(w, newList(rows, p, total))
	})
}

// Product answers GET /api/admin/products/{code}.
func Product(cat *catalog.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, err := cat.ListedProduct(r.Context(), r.PathValue("code"))
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toProductRow(l)})
	})
}

// productIn is a product in a request.
type productIn struct {
	Code     string           `json:"code"`
	Name     string           `json:"name"`
	Provider string           `json:"provider"`
	Active   *bool            `json:"active"`
	SKUs     []skuIn          `json:"skus"`
	Prices   map[string]int64 `json:"prices"`
}

func (p productIn) toNew() catalog.NewProduct {
	return catalog.NewProduct{Code: p.Code, Name: p.Name, Provider: p.Provider, Active: p.Active == nil || *p.Active,
		SKUs: fromSKUs(p.SKUs), Prices: p.Prices}
}

// CreateProduct answers POST /api/admin/products
// {code, name, provider, active, skus: [{supplier, sku, priority, cost,
// active}], prices: {level: price}, comment}; active defaults to true.
func CreateProduct(cat *catalog.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			productIn
			Comment string `json:"comment"`
		}
		if !decode(w, r, &body) {
			return
		}
		l, err := AddProduct(r.Context(), cat, now, OperatorFrom(r.Context()), body.toNew(), body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toProductRow(l)})
	})
}

// UpdateProduct answers PATCH /api/admin/products/{code}
// {name, active, provider, skus, prices: {level: price or 0 to remove},
// comment}: absent fields stay; skus, when given, replace the product's
// SKUs. Prices that move are sent to the members as price_update webhooks
// and listed in the answer's "price_changes".
func UpdateProduct(cat *catalog.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name     *string          `json:"name"`
			Active   *bool            `json:"active"`
			Provider *string          `json:"provider"`
			SKUs     *[]skuIn         `json:"skus"`
			Prices   map[string]int64 `json:"prices"`
			Comment  string           `json:"comment"`
		}
		if !decode(w, r, &body) {
			return
		}
		c := catalog.ProductChanges{Name: body.Name, Active: body.Active, Provider: body.Provider, Prices: body.Prices}
		if body.SKUs != nil {
			skus := fromSKUs(*body.SKUs)
			c.SKUs = &skus
		}
		l, moved, err := ChangeProduct(r.Context(), cat, now, OperatorFrom(r.Context()), r.PathValue("code"), c, body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": toProductRow(l), "price_changes": toPriceChanges(moved)})
	})
}

// RuleRow is a level's markup rule on the wire.
type RuleRow struct {
	Level     string `json:"level"`
	PercentBP int64  `json:"percent_bp"`
	Flat      int64  `json:"flat"`
}

// PriceRules answers GET /api/admin/prices: the markup rule of every level
// that has one.
func PriceRules(cat *catalog.Store, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rules, err := cat.Rules(r.Context())
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		rows := make([]RuleRow, 0, len(rules))
		for _, rl := range rules {
			rows = append(rows, RuleRow{Level: rl.Level, PercentBP: rl.PercentBP, Flat: rl.Flat})
		}
		writeJSON(w, map[string]any{"data": map[string]any{"rules": rows}})
	})
}

// PriceRow is one row of a bulk price change.
type PriceRow struct {
	ProductCode string `json:"product_code"`
	Level       string `json:"level"`
	Price       int64  `json:"price"`
}

// SetPrices answers POST /api/admin/prices, a bulk price change in one
// transaction with one audit row. The body is either the spec's array
// [{"product_code","level","price"}] with the comment in ?comment=, or an
// object {"prices":[…], "rules":[{"level","percent_bp","flat"}],
// "comment"} that may also set levels' markup rules. A price of 0 removes
// the explicit price. The answer lists the prices that moved; the members
// of each level get one price_update webhook with theirs.
func SetPrices(cat *catalog.Store, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := readPriceBody(w, r)
		if !ok {
			return
		}
		moved, err := ChangePrices(r.Context(), cat, now, OperatorFrom(r.Context()), body.Prices, body.Rules, body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": map[string]any{"changed": len(moved), "price_changes": toPriceChanges(moved)}})
	})
}

// priceBody is the body of a bulk price change.
type priceBody struct {
	Prices  []PriceRow `json:"prices"`
	Rules   []RuleRow  `json:"rules"`
	Comment string     `json:"comment"`
}

// readPriceBody reads a bulk price change: the spec's bare array of rows
// (the comment then in ?comment=) or the object form. It answers a body it
// cannot read itself and returns false.
func readPriceBody(w http.ResponseWriter, r *http.Request) (priceBody, bool) {
	var body priceBody
	var raw json.RawMessage
	if !decode(w, r, &raw) {
		return body, false
	}
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "[") {
		if !decodeInto(w, raw, &body.Prices) {
			return body, false
		}
		body.Comment = r.URL.Query().Get("comment")
		return body, true
	}
	return body, decodeInto(w, raw, &body)
}

// decodeInto decodes raw, a JSON value already read, into v, answering a
// wrong type itself with the field named.
func decodeInto(w http.ResponseWriter, raw json.RawMessage, v any) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		writeError(w, decodeError(err))
		return false
	}
	return true
}

// SupplierImporter brings a configured supplier's catalog into ours: its
// providers and products are added, the supplier's SKUs added to products
// we have, and new costs applied (which moves rule-based prices and sends
// price_update webhooks). It is declared here, where it is used; the
// prepaid supplier's import implements it.
type SupplierImporter interface {
	ImportSupplier(ctx context.Context, supplier, prefix string) (SupplierImport, error)
}

// SupplierImport is what a SupplierImporter did.
type SupplierImport struct {
	ProvidersAdded int      `json:"providers_added"`
	ProductsAdded  int      `json:"products_added"`
	SKUsAdded      int      `json:"skus_added"`
	CostsChanged   int      `json:"costs_changed"`
	Unchanged      int      `json:"unchanged"`
	Skipped        []string `json:"skipped"`
	Deactivated    []string `json:"deactivated"`
}

// ImportCatalog answers POST /api/admin/catalog/import. With
// {"providers":[…], "products":[…], "comment"} (each in the shape of
// POST /api/admin/providers and /products) it adds or updates them by code
// in one transaction with one audit row. With {"supplier":"name",
// "prefix":"…", "comment"} it syncs from a configured prepaid supplier
// through importer; that import is several writes, so its audit row is
// written after it, and a nil importer answers 422.
func ImportCatalog(cat *catalog.Store, importer SupplierImporter, log *audit.Log, now func() time.Time, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			CatalogDoc
			Supplier string `json:"supplier"`
			Prefix   string `json:"prefix"`
			Comment  string `json:"comment"`
		}
		if !decode(w, r, &body) {
			return
		}
		if _, err := checkComment(body.Comment); err != nil {
			writeFault(w, r, logger, err)
			return
		}
		op := OperatorFrom(r.Context())
		if body.Supplier != "" {
			if len(body.Providers) > 0 || len(body.Products) > 0 {
				writeFault(w, r, logger, fault.Field(fault.Invalid, "supplier", "give either supplier or providers and products, not both"))
				return
			}
			res, err := ImportFromSupplier(r.Context(), log, importer, now, op, body.Supplier, body.Prefix, body.Comment)
			if err != nil {
				writeFault(w, r, logger, err)
				return
			}
			writeJSON(w, map[string]any{"data": res})
			return
		}
		sum, err := ImportDoc(r.Context(), cat, now, op, body.CatalogDoc, body.Comment)
		if err != nil {
			writeFault(w, r, logger, err)
			return
		}
		writeJSON(w, map[string]any{"data": ImportAnswer(sum)})
	})
}

// ImportAnswer is what a JSON catalog import did, as the API answers it
// and the audit row records it.
func ImportAnswer(sum catalog.ImportSummary) map[string]any {
	return map[string]any{"providers_added": sum.ProvidersAdded, "providers_updated": sum.ProvidersUpdated,
		"products_added": sum.ProductsAdded, "products_updated": sum.ProductsUpdated,
		"price_changes": toPriceChanges(sum.Prices)}
}

// errNoImporter answers a supplier import on a server without one.
var errNoImporter = fault.Field(fault.Inactive, "supplier", "importing from a supplier is not available on this server")
