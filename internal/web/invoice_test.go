package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/funding"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/order"
	"kios/internal/password"
	"kios/internal/supplier"
	"kios/internal/supplier/simulator"
	"kios/internal/web"
)

func TestMain(m *testing.M) {
	password.Cost = 4
	code := m.Run()
	closeBrowser()
	os.Exit(code)
}

func page(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /trx/{reference}", h)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestInvoicePages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		members := member.NewStore(d, clock)
		m, err := members.Add(ctx, member.NewMember{Username: "budi", Level: "reseller", Password: "rahasia123"})
		if err != nil {
			t.Fatal(err)
		}
		d.Write(ctx, func(tx *db.Tx) error {
			ledger.EnsureSystem(tx, now)
			adj, _ := ledger.AccountByCode(tx, ledger.Adjust)
			_, err := ledger.Transfer(tx, "adjustment", "T", adj.ID, m.AccountID, 100_000, now)
			return err
		})
		cat := catalog.NewStore(d, clock)
		cat.AddProvider(ctx, catalog.NewProvider{Code: "ML", Name: "Mobile Legends", Active: true,
			Forms: []catalog.Field{{Label: "ID", Key: "id", Type: catalog.Text}}})
		cat.AddProduct(ctx, catalog.NewProduct{Code: "ML5", Name: "5 Diamonds", Provider: "ML", Active: true,
			Prices: map[string]int64{"reseller": 1425}, SKUs: []catalog.SKU{{Supplier: "sim", SKU: "S5", Cost: 1300, Active: true}}})
		orders := order.NewService(d, cat, supplier.Set{"sim": simulator.New(simulator.Config{})}, clock, slog.Default(), order.Config{})
		funds := funding.New(d, funding.Options{Now: clock, PickCode: func([]int64) int64 { return 655 }})
		if err := funds.Prepare(ctx, []funding.Bank{{Code: "bca", Name: "Bank BCA", AccountNumber: "1234567890", AccountName: "PT Kios Digital", Active: true}}); err != nil {
			t.Fatal(err)
		}
		h := web.Invoice(orders, funds, clock, slog.Default())

		body := map[string]any{"target_product_code": "ML5", "id": "1122334455"}
		o, _, err := orders.Create(ctx, m, order.Request{ProductCode: "ML5", Form: body, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		code, html := page(t, h, "/trx/"+o.Reference)
		for _, want := range []string{o.Reference, "5 Diamonds", "Mobile Legends", "Rp 1.425", "Sedang diproses", "112••••455"} {
			if code != 200 || !strings.Contains(html, want) {
				t.Errorf("order page lacks %q (status %d)", want, code)
			}
		}
		if strings.Contains(html, "1122334455") {
			t.Error("the order page shows the whole customer number")
		}

		dep, err := funds.Deposit(ctx, m.ID, 500_000, "bca")
		if err != nil {
			t.Fatal(err)
		}
		code, html = page(t, h, "/trx/"+dep.Reference)
		for _, want := range []string{"Rp 500.<mark", ">655</mark>", "Bank BCA", "1234567890", "PT Kios Digital", `data-until="`, "24:00:00", "countdown.js"} {
			if code != 200 || !strings.Contains(html, want) {
				t.Errorf("deposit page lacks %q (status %d)", want, code)
			}
		}

		if code, _ := page(t, h, "/trx/TRX000"); code != 404 {
			t.Errorf("unknown reference: %d", code)
		}
	})
}
