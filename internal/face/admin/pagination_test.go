package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/member"
	"kios/internal/operator"
)

// generate writes n settled deposits and n/4 withdrawals for m straight
// into their tables (a data set for reading, not a use of the funding
// rules), many sharing a creation time, and returns the sum of their
// prices.
func generate(t testing.TB, d *db.DB, m member.Member, n int, start int64) int64 {
	t.Helper()
	var sum int64
	const batch = 500
	err := d.Write(context.Background(), func(tx *db.Tx) error {
		sum = 0
		for i := 0; i < n; i += batch {
			var rows []string
			var args []any
			for j := i; j < min(i+batch, n); j++ {
				amount := int64(10_000 + (j*7919)%990_000)
				code := int64(1 + j%999)
				at := start + int64(j/3)*1_000_000 // three rows per second: ties on created_at
				status := []string{"success", "expired"}[j%2]
				rows = append(rows, "(?, ?, 'bca', 'Bank BCA', ?, ?, ?, '8830123456', 'PT Kios', ?, ?, ?, ?)")
				args = append(args, fmt.Sprintf("DEPGEN%08d", j), m.ID, amount, code, amount+code, status, at, at+86_400_000_000, at)
				sum += amount + code
			}
			if _, err := tx.Exec(`INSERT INTO deposits (reference, member_id, channel, via, amount, unique_code, price,
				dest_account_number, dest_account_name, status, created_at, expired_at, status_at) VALUES `+
				strings.Join(rows, ", "), args...); err != nil {
				return err
			}
		}
		for j := 0; j < n/4; j++ {
			amount := int64(50_000 + j)
			at := start + int64(j)*2_000_000
			if _, err := tx.Exec(`INSERT INTO withdrawals (reference, member_id, amount, bank, bank_name, account_number,
				account_name, status, created_at, status_at) VALUES (?, ?, ?, 'bni', 'Bank BNI', '1234567890', 'Zorro', 'success', ?, ?)`,
				fmt.Sprintf("WDGEN%08d", j), m.ID, amount, at, at); err != nil {
				return err
			}
			sum += amount
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func TestPaginationTotalsOver10000Rows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		const n = 10_000
		want := generate(t, d, e.zorro, n, e.clock.Now().UnixMicro())
		rows := int64(n + n/4)
		for _, perPage := range []int{1000, 333} {
			seen := map[string]bool{}
			var pageSums, rowSums int64
			pages := int((rows + int64(perPage) - 1) / int64(perPage))
			for page := 1; page <= pages+1; page++ {
				status, body := e.call(t, operator.Viewer, "GET",
					fmt.Sprintf("/api/admin/transactions?status=all&per_page=%d&page=%d", perPage, page), "")
				if status != 200 {
					t.Fatalf("page %d: %d %s", page, status, body)
				}
				l := decodeJSON[struct {
					Data []struct {
						Reference string `json:"reference"`
						Price     int64  `json:"price"`
					} `json:"data"`
					Page            int   `json:"page"`
					PerPage         int   `json:"per_page"`
					TotalRows       int64 `json:"total_rows"`
					TotalPages      int64 `json:"total_pages"`
					TotalAmountPage int64 `json:"total_amount_page"`
					TotalAmountAll  int64 `json:"total_amount_all"`
				}](t, body)
				if l.TotalRows != rows || l.TotalPages != int64(pages) || l.TotalAmountAll != want || l.Page != page || l.PerPage != perPage {
					t.Fatalf("per_page %d page %d: rows %d pages %d all %d; want %d, %d, %d", perPage, page,
						l.TotalRows, l.TotalPages, l.TotalAmountAll, rows, pages, want)
				}
				if page == pages+1 {
					if len(l.Data) != 0 || l.TotalAmountPage != 0 {
						t.Errorf("the page after the last has %d rows, sum %d", len(l.Data), l.TotalAmountPage)
					}
					break
				}
				var s int64
				for _, r := range l.Data {
					if seen[r.Reference] {
						t.Fatalf("per_page %d: %s on two pages", perPage, r.Reference)
					}
					seen[r.Reference] = true
					s += r.Price
				}
				if s != l.TotalAmountPage {
					t.Errorf("page %d: rows sum to %d, total_amount_page says %d", page, s, l.TotalAmountPage)
				}
				pageSums += l.TotalAmountPage
				rowSums += s
			}
			if int64(len(seen)) != rows || pageSums != want || rowSums != want {
				t.Errorf("per_page %d: %d distinct rows, pages sum to %d; want %d rows summing to %d",
					perPage, len(seen), pageSums, rows, want)
			}
		}
	})
}

// BenchmarkTransactionsPage measures one page of 50 of the review queue
// (status=all, so every row counts) over 12.500 rows, over HTTP on
// loopback: the count and sum of all rows plus the page's rows.
func BenchmarkTransactionsPage(b *testing.B) {
	for _, target := range []string{"sqlite", "postgres"} {
		b.Run(target, func(b *testing.B) {
			dsn := dbtest.DSN(b, target)
			if dsn == "" {
				b.Skip("KIOS_TEST_POSTGRES_URL is not set")
			}
			e := newEnv(b, dbtest.Open(b, dsn))
			generate(b, e.d, e.zorro, 10_000, e.clock.Now().UnixMicro())
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				status, body := e.call(b, operator.Viewer, "GET", fmt.Sprintf("/api/admin/transactions?status=all&page=%d", 1+i%250), "")
				if status != 200 {
					b.Fatalf("%d %s", status, body)
				}
			}
		})
	}
}
