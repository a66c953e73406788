package admin

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kios/internal/audit"
	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/incoming"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/payment"
	"kios/internal/webhook"
)

// The audited changes: each calls its domain function with the hook that
// records the operator's one audit entry in the same transaction. The
// operator API's handlers and the operator console (internal/web) both
// call these, so that a decision taken in either leaves the same audit
// row and no rule exists twice.

// Decide takes op's decision (funding.Accept or funding.Reject) on the
// waiting deposit or withdrawal ref, with comment, and records it.
func Decide(ctx context.Context, funds *funding.Service, now func() time.Time, op operator.Operator,
	ref, action, comment string) (funding.Transaction, error) {
	return decide(ctx, funds, now, op, ref, action, comment)
}

// AdjustBalance changes member m's balance by hand for op (direction
// member.Credit or member.Debit) and records it.
func AdjustBalance(ctx context.Context, members *member.Store, now func() time.Time, op operator.Operator,
	m member.Member, direction string, amount int64, comment string) (member.Adjustment, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return member.Adjustment{}, err
	}
	return members.Adjust(ctx, m.ID, direction, amount, op.Username, comment,
		func(tx *db.Tx, a member.Adjustment) error {
			e := entry(op, now(), "member.adjust", "member", m.Username, comment)
			return record(e, map[string]any{"balance": a.Before},
				map[string]any{"balance": a.After, "direction": a.Direction, "amount": a.Amount, "reference": a.Reference})(tx)
		})
}

// ResolveStuck settles the processing order ref by op's decision (status
// order.Success with sn, or order.Failed, which refunds) and records it.
func ResolveStuck(ctx context.Context, orders *order.Service, now func() time.Time, op operator.Operator,
	ref, status, sn, comment string) (order.Order, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return order.Order{}, err
	}
	return orders.Resolve(ctx, ref, status, sn, op.Username, func(tx *db.Tx, before, after order.Order) error {
		type state struct {
			Status string `json:"status"`
			SN     string `json:"sn,omitempty"`
			Price  int64  `json:"price"`
		}
		return record(entry(op, now(), "order.resolve", "order", ref, comment),
			state{before.Status, before.SN, before.Price}, state{after.Status, after.SN, after.Price})(tx)
	})
}

// RedeliverMessage puts the delivered or failed webhook message id back in
// the outbox for op and records it. A pending message is
// webhook.ErrNotRedeliverable, an unknown one db.ErrNotFound.
func RedeliverMessage(ctx context.Context, hooks *webhook.Service, now func() time.Time, op operator.Operator,
	id int64, comment string) error {
	comment, err := checkComment(comment)
	if err != nil {
		return err
	}
	return hooks.RedeliverWith(ctx, id, func(tx *db.Tx, before string) error {
		return record(entry(op, now(), "webhook.redeliver", "webhook", strconv.FormatInt(id, 10), comment),
			map[string]string{"status": before}, map[string]string{"status": webhook.StatusPending})(tx)
	})
}

// AssignIncoming pays invoice ref with the unmatched incoming-funds record
// id for op and records it.
func AssignIncoming(ctx context.Context, svc *incoming.Service, now func() time.Time, op operator.Operator,
	id int64, ref, comment string) (incoming.Result, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return incoming.Result{}, err
	}
	return svc.Assign(ctx, id, ref, func(tx *db.Tx, res incoming.Result) error {
		before := map[string]any{"status": incoming.Unmatched}
		after := map[string]any{"status": res.Status, "reference": res.Reference}
		return record(entry(op, now(), "incoming.assign", "incoming", strconv.FormatInt(id, 10), comment), before, after)(tx)
	})
}

// AddProvider adds provider np to the catalog for op and records it.
func AddProvider(ctx context.Context, cat *catalog.Store, now func() time.Time, op operator.Operator,
	np catalog.NewProvider, comment string) (catalog.Provider, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return catalog.Provider{}, err
	}
	return cat.AddProviderWith(ctx, np, func(tx *db.Tx, p catalog.Provider) error {
		return record(entry(op, now(), "provider.create", "provider", p.Code, comment), nil, toProviderRow(p))(tx)
	})
}

// ChangeProvider changes provider code for op and records it.
func ChangeProvider(ctx context.Context, cat *catalog.Store, now func() time.Time, op operator.Operator,
	code string, c catalog.ProviderChanges, comment string) (catalog.Provider, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return catalog.Provider{}, err
	}
	return cat.UpdateProvider(ctx, code, c, func(tx *db.Tx, before, after catalog.Provider) error {
		return record(entry(op, now(), "provider.update", "provider", after.Code, comment),
			toProviderRow(before), toProviderRow(after))(tx)
	})
}

// AddProduct adds product np to the catalog for op and records it.
func AddProduct(ctx context.Context, cat *catalog.Store, now func() time.Time, op operator.Operator,
	np catalog.NewProduct, comment string) (catalog.Listed, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return catalog.Listed{}, err
	}
	return cat.AddProductWith(ctx, np, func(tx *db.Tx, l catalog.Listed) error {
		return record(entry(op, now(), "product.create", "product", l.Code, comment), nil, toProductRow(l))(tx)
	})
}

// ChangeProduct changes product code for op and records it; it returns
// the product and the prices that moved (sent as price_update webhooks).
func ChangeProduct(ctx context.Context, cat *catalog.Store, now func() time.Time, op operator.Operator,
	code string, c catalog.ProductChanges, comment string) (catalog.Listed, []catalog.PriceChange, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return catalog.Listed{}, nil, err
	}
	return cat.UpdateProduct(ctx, code, c, func(tx *db.Tx, before, after catalog.Listed, _ []catalog.PriceChange) error {
		return record(entry(op, now(), "product.update", "product", after.Code, comment),
			toProductRow(before), toProductRow(after))(tx)
	})
}

// priceChange is a bulk price change in the catalog's terms.
func priceChange(prices []PriceRow, rules []RuleRow) ([]catalog.PriceSet, []catalog.Rule) {
	sets := make([]catalog.PriceSet, len(prices))
	for i, p := range prices {
		sets[i] = catalog.PriceSet{ProductCode: strings.TrimSpace(p.ProductCode), Level: strings.TrimSpace(p.Level), Price: p.Price}
	}
	rs := make([]catalog.Rule, len(rules))
	for i, rl := range rules {
		rs[i] = catalog.Rule{Level: strings.TrimSpace(rl.Level), PercentBP: rl.PercentBP, Flat: rl.Flat}
	}
	return sets, rs
}

// ChangePrices applies a bulk price change for op in one transaction with
// one audit row, and returns the prices that moved.
func ChangePrices(ctx context.Context, cat *catalog.Store, now func() time.Time, op operator.Operator,
	prices []PriceRow, rules []RuleRow, comment string) ([]catalog.PriceChange, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return nil, err
	}
	sets, rs := priceChange(prices, rules)
	return cat.SetPrices(ctx, sets, rs, func(tx *db.Tx, moved []catalog.PriceChange) error {
		e := entry(op, now(), "prices.set", "prices", "", comment)
		return record(e, nil, map[string]any{"prices": prices, "rules": rules, "moved": len(moved)})(tx)
	})
}

// PreviewPrices reports what ChangePrices would do with the same rows,
// from a rolled-back run of the same change: the prices that would move
// and the members who would get price_update rows.
func PreviewPrices(ctx context.Context, cat *catalog.Store, prices []PriceRow, rules []RuleRow) (catalog.PricePreview, error) {
	sets, rs := priceChange(prices, rules)
	return cat.PreviewPrices(ctx, sets, rs)
}

// ProviderIn is a provider in an import document.
type ProviderIn struct {
	Code     string          `json:"code"`
	Name     string          `json:"name"`
	Active   *bool           `json:"active"`
	Icon     string          `json:"icon"`
	Position int64           `json:"position"`
	Forms    []catalog.Field `json:"forms"`
}

// CatalogDoc is a JSON catalog import: providers and products, each in the
// shape of POST /api/admin/providers and /products.
type CatalogDoc struct {
	Providers []ProviderIn `json:"providers"`
	Products  []productIn  `json:"products"`
}

// ImportDoc adds or updates doc's providers and products by code for op,
// in one transaction with one audit row.
func ImportDoc(ctx context.Context, cat *catalog.Store, now func() time.Time, op operator.Operator,
	doc CatalogDoc, comment string) (catalog.ImportSummary, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return catalog.ImportSummary{}, err
	}
	in := catalog.CatalogImport{Providers: make([]catalog.NewProvider, len(doc.Providers)),
		Products: make([]catalog.NewProduct, len(doc.Products))}
	for i, p := range doc.Providers {
		in.Providers[i] = catalog.NewProvider{Code: p.Code, Name: p.Name, Active: p.Active == nil || *p.Active,
			Icon: p.Icon, Position: p.Position, Forms: p.Forms}
	}
	for i, p := range doc.Products {
		in.Products[i] = p.toNew()
	}
	return cat.ImportCatalog(ctx, in, func(tx *db.Tx, sum catalog.ImportSummary) error {
		return record(entry(op, now(), "catalog.import", "catalog", "json", comment), nil, ImportAnswer(sum))(tx)
	})
}

// ImportFromSupplier syncs the catalog from the configured prepaid
// supplier through importer for op. The import is several writes, so its
// audit row is written after it; a nil importer is a fault.Inactive.
func ImportFromSupplier(ctx context.Context, log *audit.Log, importer SupplierImporter, now func() time.Time,
	op operator.Operator, supplier, prefix, comment string) (SupplierImport, error) {
	comment, err := checkComment(comment)
	if err != nil {
		return SupplierImport{}, err
	}
	if importer == nil {
		return SupplierImport{}, errNoImporter
	}
	res, err := importer.ImportSupplier(ctx, supplier, prefix)
	if err != nil {
		return SupplierImport{}, err
	}
	if res.Skipped == nil {
		res.Skipped = []string{}
	}
	if res.Deactivated == nil {
		res.Deactivated = []string{}
	}
	e := entry(op, now(), "catalog.import", "supplier", supplier, comment)
	e.After = audit.JSON(res)
	if err := log.Add(ctx, e); err != nil {
		return SupplierImport{}, err
	}
	return res, nil
}

// PaymentFilter reads the payments report's filters from q: store (an
// id), member (a username), status (all, paid, unpaid, expired) and
// from/to (WIB days).
func PaymentFilter(q url.Values) (payment.Filter, error) {
	from, to, err := dayRange(q)
	if err != nil {
		return payment.Filter{}, err
	}
	status, err := oneOf(q, "status", "all", payment.Paid, payment.Unpaid, payment.Expired)
	if err != nil {
		return payment.Filter{}, err
	}
	f := payment.Filter{Member: strings.TrimSpace(q.Get("member")), Status: status, From: from, To: to}
	if s := strings.TrimSpace(q.Get("store")); s != "" {
		if f.StoreID, err = strconv.ParseInt(s, 10, 64); err != nil || f.StoreID <= 0 {
			return payment.Filter{}, fault.Field(fault.Invalid, "store", "must be a positive whole number")
		}
	}
	return f, nil
}
