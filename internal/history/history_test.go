package history_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/fault"
	"kios/internal/funding"
	"kios/internal/history"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/order"
	"kios/internal/password"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
)

func TestMain(m *testing.M) {
	password.Cost = 4
	os.Exit(m.Run())
}

func TestListFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		members := member.NewStore(d, clock)
		m, err := members.Add(ctx, member.NewMember{Username: "budi", Level: "reseller", Password: "rahasia123"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := members.Add(ctx, member.NewMember{Username: "siti", Level: "reseller", Password: "rahasia123"})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Write(ctx, func(tx *db.Tx) error {
			if err := ledger.EnsureSystem(tx, now); err != nil {
				return err
			}
			adj, _ := ledger.AccountByCode(tx, ledger.Adjust)
			_, err := ledger.Transfer(tx, "adjustment", "T", adj.ID, m.AccountID, 500_000, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		cat := catalog.NewStore(d, clock)
		cat.AddProvider(ctx, catalog.NewProvider{Code: "ML", Name: "Mobile Legends", Active: true,
			Forms: []catalog.Field{{Label: "ID", Key: "id", Type: catalog.Text}}})
		cat.AddProduct(ctx, catalog.NewProduct{Code: "ML5", Name: "5 Diamonds", Provider: "ML", Active: true,
			Prices: map[string]int64{"reseller": 1425}, SKUs: []catalog.SKU{{Supplier: "sim", SKU: "S5", Cost: 1300, Active: true}}})
		orders := order.NewService(d, cat, supplier.Set{"sim": simulator.New(simulator.Config{})}, clock, slog.Default(), order.Config{})
		funds := funding.New(d, funding.Options{Now: clock})
		if err := funds.Prepare(ctx, funding.DemoBanks()); err != nil {
			t.Fatal(err)
		}

		body := map[string]any{"target_product_code": "ML5", "id": "1122334455"}
		o, _, err := orders.Create(ctx, m, order.Request{ProductCode: "ML5", Form: body, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		dep, err := funds.Deposit(ctx, m.ID, 100_000, "bca")
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		wd, _, err := funds.Withdraw(ctx, m.ID, funding.WithdrawalRequest{Amount: 50_000, Bank: "bni", AccountNumber: "1234567", AccountName: "Budi"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := funds.Deposit(ctx, other.ID, 100_000, "bca"); err != nil {
			t.Fatal(err)
		}

		r := history.NewReader(d)
		start := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
		cases := []struct {
			name string
			f    history.Filter
			want []string
		}{
			{"all, newest first", history.Filter{}, []string{wd.Reference, dep.Reference, o.Reference}},
			{"deposits", history.Filter{Type: history.Deposit}, []string{dep.Reference}},
			{"orders", history.Filter{Type: history.Order}, []string{o.Reference}},
			{"processing", history.Filter{Status: "processing"}, []string{wd.Reference, o.Reference}},
			{"unpaid withdrawals", history.Filter{Type: history.Withdraw, Status: "unpaid"}, nil},
			{"from the second hour", history.Filter{From: start.Add(time.Hour)}, []string{wd.Reference, dep.Reference}},
			{"before the second hour", history.Filter{Until: start.Add(time.Hour)}, []string{o.Reference}},
			{"limit", history.Filter{Limit: 1}, []string{wd.Reference}},
		}
		for _, c := range cases {
			got, err := r.List(ctx, m.ID, c.f)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var refs []string
			for _, e := range got {
				refs = append(refs, e.Reference)
			}
			if len(refs) != len(c.want) {
				t.Errorf("%s: %v, want %v", c.name, refs, c.want)
				continue
			}
			for i := range refs {
				if refs[i] != c.want[i] {
					t.Errorf("%s: %v, want %v", c.name, refs, c.want)
					break
				}
			}
		}
		got, _ := r.List(ctx, m.ID, history.Filter{Type: history.Withdraw})
		if len(got) != 1 || got[0].Price != 50_000 || got[0].Product != "Bank BNI" || got[0].Status != "processing" {
			t.Errorf("withdrawal entry: %+v", got)
		}

		for _, f := range []history.Filter{{Type: "refund"}, {Status: "paid"}, {Limit: -1}, {Limit: history.MaxLimit + 1},
			{From: start, Until: start}} {
			if _, err := r.List(ctx, m.ID, f); fault.CodeOf(err) != fault.Invalid {
				t.Errorf("filter %+v: %v, want invalid", f, err)
			}
		}
		if rep, err := ledger.Verify(ctx, d); err != nil || !rep.OK() {
			t.Fatalf("ledger: %v %v", rep, err)
		}
	})
}
