package catalog_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/member"
	"kios/internal/password"
	"kios/internal/webhook"
)

func TestMain(m *testing.M) {
	password.Cost = 4 // bcrypt.MinCost: members here only receive webhooks
	os.Exit(m.Run())
}

// priceRow is one row of a price_update message as a receiver reads it.
type priceRow struct {
	ProductCode string `json:"product_code"`
	PriceOld    int64  `json:"price_old"`
	PriceNew    int64  `json:"price_new"`
}

// hookMember adds a member of level and, when withURL, gives it a webhook
// URL; it returns the member's id.
func hookMember(t *testing.T, d *db.DB, c *clock, name, level string, withURL bool) int64 {
	t.Helper()
	m, err := member.NewStore(d, c.now).Add(ctx, member.NewMember{Username: name, Level: level, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if withURL {
		keys, err := webhook.NewKeyring(make([]byte, webhook.MasterKeySize))
		if err != nil {
			t.Fatal(err)
		}
		if err := webhook.NewService(d, keys, c.now, nil, webhook.ClientOptions{}).SetURL(ctx, m.ID, "https://hooks.example.com/"+name); err != nil {
			t.Fatal(err)
		}
	}
	return m.ID
}

// priceMessages returns, per member id, the rows of each price_update
// message in the outbox after message id since, oldest first.
func priceMessages(t *testing.T, d *db.DB, since int64) map[int64][][]priceRow {
	t.Helper()
	rows, err := d.Query(ctx, "SELECT member_id, kind, reference, payload FROM webhook_messages WHERE id > ? ORDER BY id", since)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64][][]priceRow{}
	for rows.Next() {
		var id int64
		var kind, ref, payload string
		if err := rows.Scan(&id, &kind, &ref, &payload); err != nil {
			t.Fatal(err)
		}
		var msg struct {
			Type string     `json:"webhook_type"`
			Data []priceRow `json:"data"`
		}
		if err := json.Unmarshal([]byte(payload), &msg); err != nil {
			t.Fatalf("payload %s: %v", payload, err)
		}
		if kind != webhook.KindPriceUpdate || msg.Type != "price_update" || ref != catalog.PriceUpdateReference {
			t.Fatalf("message kind %q type %q reference %q", kind, msg.Type, ref)
		}
		out[id] = append(out[id], msg.Data)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func lastMessageID(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var id int64
	if err := d.QueryRow(ctx, "SELECT COALESCE(MAX(id), 0) FROM webhook_messages").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestPriceUpdate: each kind of change sends price_update rows for exactly
// the (product, level) prices it moved, to members of that level only.
//
// The catalog: P1 delivered by sup/A (cost 1 000) then other/B (1 200),
// rule-priced; P2 by sup/B2 (2 000) with an explicit reseller price of
// 2 100. Rules: reseller +10 % (P1 1 100), member +20 % (P1 1 200, P2
// 2 400); h2h has neither rule nor price.
func TestPriceUpdate(t *testing.T) {
	type sent map[string][]priceRow // level → the one message's rows
	cases := []struct {
		name        string
		do          func(s *catalog.Store) (catalog.CostResult, error)
		want        sent
		deactivated []string
		unknown     []string
		rejected    []string
		updated     int
		reseller    map[string]int64 // prices Product then answers for reseller
	}{
		{name: "explicit price set",
			do:   setPrice("P1", "reseller", 1150),
			want: sent{"reseller": {{"P1", 1100, 1150}}}, reseller: map[string]int64{"P1": 1150}},
		{name: "explicit price unchanged", do: setPrice("P2", "reseller", 2100)},
		{name: "explicit price removed: the rule applies",
			do:   setPrice("P2", "reseller", 0),
			want: sent{"reseller": {{"P2", 2100, 2200}}}, reseller: map[string]int64{"P2": 2200}},
		{name: "rule changed",
			do: func(s *catalog.Store) (catalog.CostResult, error) {
				return catalog.CostResult{}, s.SetRule(ctx, "member", 1000, 50)
			},
			want: sent{"member": {{"P1", 1200, 1150}, {"P2", 2400, 2250}}}},
		{name: "rule set for a level that had none",
			do: func(s *catalog.Store) (catalog.CostResult, error) {
				return catalog.CostResult{}, s.SetRule(ctx, "h2h", 0, 10)
			},
			want: sent{"h2h": {{"P1", 0, 1010}, {"P2", 0, 2010}}}},
		{name: "rule removed: no price to sell at, nothing sent",
			do: func(s *catalog.Store) (catalog.CostResult, error) {
				return catalog.CostResult{}, s.DeleteRule(ctx, "reseller")
			}},
		{name: "product switched off: not a price change",
			do: func(s *catalog.Store) (catalog.CostResult, error) {
				return catalog.CostResult{}, s.SetProductActive(ctx, "P1", false)
			}},
		{name: "cost rise: rule prices follow",
			do:      applyCosts("sup", map[string]int64{"A": 1100}),
			want:    sent{"reseller": {{"P1", 1100, 1210}}, "member": {{"P1", 1200, 1320}}},
			updated: 1, reseller: map[string]int64{"P1": 1210}},
		{name: "cost above an explicit price: switched off",
			do:      applyCosts("sup", map[string]int64{"B2": 2150}),
			want:    sent{"member": {{"P2", 2400, 2580}}},
			updated: 1, deactivated: []string{"P2"}, reseller: map[string]int64{"P2": 2100}},
		{name: "cost of a later SKU: the price stays",
			do:      applyCosts("other", map[string]int64{"B": 900}),
			updated: 1, reseller: map[string]int64{"P1": 1100}},
		{name: "same costs again: nothing",
			do: applyCosts("sup", map[string]int64{"A": 1000, "B2": 2000})},
		{name: "unknown and out-of-range SKUs are reported, the rest applied",
			do:      applyCosts("sup", map[string]int64{"ZZ": 5, "B2": 0, "A": 990}),
			want:    sent{"reseller": {{"P1", 1100, 1089}}, "member": {{"P1", 1200, 1188}}},
			updated: 1, unknown: []string{"ZZ"}, rejected: []string{"B2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				c := newClock()
				s := catalog.NewStore(d, c.now)
				addGame(t, s)
				must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "P1", Name: "One", Provider: "GAME", Active: true,
					SKUs: []catalog.SKU{{Supplier: "sup", SKU: "A", Cost: 1000, Active: true}, {Supplier: "other", SKU: "B", Cost: 1200, Active: true}}}))
				must[int64](t)(s.AddProduct(ctx, catalog.NewProduct{Code: "P2", Name: "Two", Provider: "GAME", Active: true,
					SKUs:   []catalog.SKU{{Supplier: "sup", SKU: "B2", Cost: 2000, Active: true}},
					Prices: map[string]int64{"reseller": 2100}}))
				mustDo(t, s.SetRule(ctx, "reseller", 1000, 0))
				mustDo(t, s.SetRule(ctx, "member", 2000, 0))
				ids := map[string]int64{
					"reseller": hookMember(t, d, c, "res1", "reseller", true),
					"member":   hookMember(t, d, c, "mem1", "member", true),
					"h2h":      hookMember(t, d, c, "h2h1", "h2h", true),
				}
				quiet := hookMember(t, d, c, "res2", "reseller", false)
				since := lastMessageID(t, d)
				poked := 0
				s.Notify = func() { poked++ }

				res, err := tc.do(s)
				if err != nil {
					t.Fatal(err)
				}
				got := priceMessages(t, d, since)
				for level, id := range ids {
					var want [][]priceRow
					if rows, ok := tc.want[level]; ok {
						want = [][]priceRow{rows}
					}
					if fmt.Sprint(got[id]) != fmt.Sprint(want) {
						t.Errorf("level %s got %v, want %v", level, got[id], want)
					}
				}
				if len(got[quiet]) != 0 {
					t.Errorf("a member without a URL got %v", got[quiet])
				}
				if (poked > 0) != (len(tc.want) > 0) {
					t.Errorf("Notify called %d times for %d levels' messages", poked, len(tc.want))
				}
				if res.Updated != tc.updated || !slices.Equal(res.Deactivated, tc.deactivated) ||
					!slices.Equal(res.Unknown, tc.unknown) || !slices.Equal(res.Rejected, tc.rejected) {
					t.Errorf("result %+v", res)
				}
				for code, price := range tc.reseller {
					p := must[catalog.Product](t)(s.Product(ctx, code, "reseller"))
					if p.Price != price {
						t.Errorf("%s for reseller: %d, want %d", code, p.Price, price)
					}
				}
				for _, code := range []string{"P1", "P2"} {
					p := must[catalog.Product](t)(s.Product(ctx, code, "reseller"))
					off := slices.Contains(tc.deactivated, code) || tc.name == "product switched off: not a price change" && code == "P1"
					if p.Active == off {
						t.Errorf("%s active = %v", code, p.Active)
					}
				}
			})
		})
	}
}

func setPrice(code, level string, price int64) func(*catalog.Store) (catalog.CostResult, error) {
	return func(s *catalog.Store) (catalog.CostResult, error) {
		return catalog.CostResult{}, s.SetPrice(ctx, code, level, price)
	}
}

func applyCosts(supplier string, costs map[string]int64) func(*catalog.Store) (catalog.CostResult, error) {
	return func(s *catalog.Store) (catalog.CostResult, error) { return s.ApplyCosts(ctx, supplier, costs) }
}

// TestPriceUpdateBatches: 1,200 products whose reseller price changes give
// a reseller member three messages of 500, 500 and 200 rows, and a member
// of the member level, whose prices are explicit, none; first through a
// rule change, then through the supplier's costs.
func TestPriceUpdateBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const n = 1200
		c := newClock()
		s := catalog.NewStore(d, c.now)
		addGame(t, s)
		mustDo(t, s.SetRule(ctx, "reseller", 1000, 0))
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for w := range 16 {
			wg.Go(func() {
				for i := w; i < n; i += 16 {
					_, err := s.AddProduct(ctx, catalog.NewProduct{Code: fmt.Sprintf("P%04d", i), Name: "Product", Provider: "GAME", Active: true,
						SKUs:   []catalog.SKU{{Supplier: "sup", SKU: fmt.Sprintf("S%04d", i), Cost: int64(1000 + i), Active: true}},
						Prices: map[string]int64{"member": 1_000_000}})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		res := hookMember(t, d, c, "res1", "reseller", true)
		mem := hookMember(t, d, c, "mem1", "member", true)

		check := func(t *testing.T, since int64, oldNew func(i int) (int64, int64)) {
			t.Helper()
			got := priceMessages(t, d, since)
			if len(got[mem]) != 0 {
				t.Errorf("the member level got %d messages", len(got[mem]))
			}
			msgs := got[res]
			if len(msgs) != 3 || len(msgs[0]) != 500 || len(msgs[1]) != 500 || len(msgs[2]) != 200 {
				sizes := []int{}
				for _, m := range msgs {
					sizes = append(sizes, len(m))
				}
				t.Fatalf("reseller got messages of %v rows, want [500 500 200]", sizes)
			}
			i := 0
			for _, m := range msgs {
				for _, r := range m {
					o, nw := oldNew(i)
					if want := (priceRow{fmt.Sprintf("P%04d", i), o, nw}); r != want {
						t.Fatalf("row %d: %+v, want %+v", i, r, want)
					}
					i++
				}
			}
		}
		rule := func(cost, bp int64) int64 { return cost + (cost*bp+9999)/10000 }

		since := lastMessageID(t, d)
		mustDo(t, s.SetRule(ctx, "reseller", 2000, 0))
		check(t, since, func(i int) (int64, int64) { return rule(int64(1000+i), 1000), rule(int64(1000+i), 2000) })

		since = lastMessageID(t, d)
		costs := map[string]int64{}
		for i := range n {
			costs[fmt.Sprintf("S%04d", i)] = int64(1010 + i)
		}
		r, err := s.ApplyCosts(ctx, "sup", costs)
		if err != nil {
			t.Fatal(err)
		}
		if r.Updated != n || len(r.Prices) != n || len(r.Deactivated) != 0 {
			t.Fatalf("ApplyCosts: updated %d, %d price changes, deactivated %v", r.Updated, len(r.Prices), r.Deactivated)
		}
		check(t, since, func(i int) (int64, int64) { return rule(int64(1000+i), 2000), rule(int64(1010+i), 2000) })
	})
}
