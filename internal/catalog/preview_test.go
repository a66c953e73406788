package catalog_test

import (
	"fmt"
	"testing"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
)

// TestPreviewPrices: the preview of a bulk change lists exactly the prices
// and the per-member price_update rows that applying it then writes, and
// changes nothing itself; a bad row gives SetPrices' fault.
func TestPreviewPrices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		c := newClock()
		s := catalog.NewStore(d, c.now)
		addGame(t, s)
		for _, code := range []string{"P1", "P2"} {
			must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: code, Name: code, Provider: "GAME", Active: true,
				SKUs: []catalog.SKU{{Supplier: "sup", SKU: code, Cost: 1000, Active: true}}}))
		}
		mustDo(t, s.SetRule(ctx, "reseller", 1000, 0)) // 1 100
		mustDo(t, s.SetRule(ctx, "member", 2000, 0))   // 1 200
		res1 := hookMember(t, d, c, "res1", "reseller", true)
		mem1 := hookMember(t, d, c, "mem1", "member", true)
		hookMember(t, d, c, "res2", "reseller", false) // no URL: told nothing
		hookMember(t, d, c, "h2h1", "h2h", true)       // untouched level

		sets := []catalog.PriceSet{{ProductCode: "P1", Level: "reseller", Price: 1150}, {ProductCode: "P2", Level: "reseller", Price: 1150},
			{ProductCode: "P1", Level: "member", Price: 1200}} // unchanged
		rules := []catalog.Rule{{Level: "member", PercentBP: 1000}} // P2 for member 1 200 → 1 100, P1 stays explicit
		since := lastMessageID(t, d)
		pv, err := s.PreviewPrices(ctx, sets, rules)
		if err != nil {
			t.Fatal(err)
		}
		wantChanges := "[{member P2 1200 1100} {reseller P1 1100 1150} {reseller P2 1100 1150}]"
		wantRecipients := "[{mem1 member 1} {res1 reseller 2}]"
		if fmt.Sprint(pv.Changes) != wantChanges || fmt.Sprint(pv.Recipients) != wantRecipients {
			t.Errorf("preview %v %v, want %s %s", pv.Changes, pv.Recipients, wantChanges, wantRecipients)
		}
		if got := priceMessages(t, d, since); len(got) != 0 {
			t.Errorf("the preview wrote messages: %v", got)
		}
		if p := must[catalog.Product](t)(s.Product(ctx, "P1", "reseller")); p.Price != 1100 {
			t.Errorf("the preview changed P1 to %d", p.Price)
		}

		moved, err := s.SetPrices(ctx, sets, rules, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(moved) != wantChanges {
			t.Errorf("applied %v, previewed %s", moved, wantChanges)
		}
		got := priceMessages(t, d, since)
		if len(got) != 2 || len(got[res1]) != 1 || len(got[res1][0]) != 2 || len(got[mem1]) != 1 || len(got[mem1][0]) != 1 {
			t.Errorf("applied messages %v differ from the preview", got)
		}

		// The same change again moves nothing: nobody would be told.
		if pv, err := s.PreviewPrices(ctx, sets, rules); err != nil || len(pv.Changes) != 0 || len(pv.Recipients) != 0 {
			t.Errorf("preview of a no-op: %v %v", pv, err)
		}
		_, err = s.PreviewPrices(ctx, []catalog.PriceSet{{ProductCode: "NOPE", Level: "reseller", Price: 1}}, nil)
		if fault.CodeOf(err) != fault.Invalid || fault.FieldOf(err) != "prices" {
			t.Errorf("preview of an unknown product: %v", err)
		}
	})
}
