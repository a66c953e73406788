package admin_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/operator"
	"kios/internal/payment"
)

// TestPaymentsPaginationOver10000Invoices: 10,000 invoices made through
// the payment service (two stores, amounts far enough apart that no two
// totals meet), read back through GET /api/admin/payments at two page
// sizes: every invoice is on exactly one page, each page's
// total_amount_page is the sum of its rows, and the pages sum to
// total_amount_all, which is the sum of the totals created.
func TestPaymentsPaginationOver10000Invoices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newPayEnv(t, d)
		ctx := context.Background()
		var stores []payment.Store
		for _, name := range []string{"Toko A", "Toko B"} {
			s, err := e.stores.Add(ctx, payment.NewStore{MemberID: e.zorro.ID, Name: name})
			if err != nil {
				t.Fatal(err)
			}
			stores = append(stores, s)
		}
		const n, workers = 10_000, 32
		var (
			mu   sync.Mutex
			want int64
			wg   sync.WaitGroup
			errs = make(chan error, workers)
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					inv, _, err := e.payments.Create(ctx, e.zorro.ID, payment.NewInvoice{
						StoreID: stores[i%2].ID, Amount: 10_000 + 1_000*int64(i/2)})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					want += inv.Total
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		for _, perPage := range []int{1000, 333} {
			pages := (n + perPage - 1) / perPage
			seen := map[string]bool{}
			var pageSums int64
			for page := 1; page <= pages; page++ {
				status, body := e.call(t, operator.Viewer, "GET", fmt.Sprintf("/api/admin/payments?per_page=%d&page=%d", perPage, page), "")
				if status != 200 {
					t.Fatalf("page %d: %d %s", page, status, body)
				}
				l := decodeJSON[paymentList](t, body)
				if l.TotalRows != n || l.TotalPages != int64(pages) || l.TotalAmountAll != want {
					t.Fatalf("per_page %d page %d: rows %d pages %d all %d; want %d, %d, %d",
						perPage, page, l.TotalRows, l.TotalPages, l.TotalAmountAll, n, pages, want)
				}
				var s int64
				for _, r := range l.Data {
					if seen[r.Invoice] {
						t.Fatalf("per_page %d: %s on two pages", perPage, r.Invoice)
					}
					seen[r.Invoice] = true
					s += r.TotalAmount
				}
				if s != l.TotalAmountPage {
					t.Errorf("page %d: rows sum to %d, total_amount_page says %d", page, s, l.TotalAmountPage)
				}
				pageSums += l.TotalAmountPage
			}
			if len(seen) != n || pageSums != want {
				t.Errorf("per_page %d: %d distinct invoices, pages sum to %d; want %d summing to %d", perPage, len(seen), pageSums, n, want)
			}
		}
	})
}
