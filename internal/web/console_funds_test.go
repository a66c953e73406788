package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/incoming"
	"kios/internal/payment"
	"kios/internal/rupiah"
)

// unmatched posts an incoming-funds record of amount on inv's store's QRIS
// channel that matches nothing (the invoice is long expired), and returns
// its id.
func (s *site) unmatched(inv payment.Invoice, amount int64, ext string) int64 {
	s.t.Helper()
	res, err := s.incoming.Post(context.Background(), incoming.Record{Channel: fmt.Sprintf("qris:%d", inv.StoreID),
		Amount: amount, ReceivedAt: s.now(), ExternalID: ext}, "test", nil)
	if err != nil || res.Status != incoming.Unmatched {
		s.t.Fatalf("post %s: %+v %v", ext, res, err)
	}
	return res.ID
}

// TestConsoleIncoming: unmatched funds are listed with an assignment form
// for the roles that handle money (a viewer sees them without); a wrong
// assignment or one without a comment does nothing and says why; a right
// one pays the invoice once, with the operator API's audit row.
func TestConsoleIncoming(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		inv := s.invoice()
		s.clock.Add(48 * time.Hour) // past expiry and grace: the feed's record matches nothing
		right := s.unmatched(inv, inv.Total, "feed-right")
		wrong := s.unmatched(inv, inv.Total+1, "feed-wrong")
		ani, vina := s.browser(), s.browser()
		ani.signIn("admin", "ani")
		vina.signIn("admin", "vina")

		r := ani.get("/admin/incoming")
		for _, id := range []int64{right, wrong} {
			if !strings.Contains(r.body, fmt.Sprintf(`action="/admin/incoming/%d/assign"`, id)) {
				t.Errorf("admin's list lacks the assignment form of #%d", id)
			}
		}
		if !strings.Contains(r.body, "Rp "+rupiah.Format(2*inv.Total+1)) {
			t.Error("the list lacks the total of the unmatched funds")
		}
		if r := vina.get("/admin/incoming"); r.status != 200 || strings.Contains(r.body, "/assign") ||
			!strings.Contains(r.body, fmt.Sprintf("#%d", right)) {
			t.Errorf("viewer's list: %d, with forms or without rows", r.status)
		}
		if r := ani.get("/admin/incoming?status=bogus"); r.status != http.StatusBadRequest {
			t.Errorf("unknown status filter: %d", r.status)
		}

		assign := func(id int64, ref, comment string) response {
			return ani.submit("/admin/incoming", fmt.Sprintf("/admin/incoming/%d/assign", id),
				url.Values{"reference": {ref}, "comment": {comment}})
		}
		cases := []struct {
			name   string
			id     int64
			ref    string
			status int
			want   string
		}{
			{"no comment", right, inv.Invoice, 400, "Komentar wajib diisi"},
			{"no invoice", right, "", 400, "wajib diisi"},
			{"unknown invoice", right, "INVNOPE", 404, "Tidak ditemukan"},
			{"amount differs", wrong, inv.Invoice, 400, "tidak valid"},
			{"unknown record", 999999, inv.Invoice, 404, "Tidak ditemukan"},
		}
		for _, tc := range cases {
			comment := "salah transfer"
			if tc.name == "no comment" {
				comment = ""
			}
			r := assign(tc.id, tc.ref, comment)
			if r.status != tc.status || !strings.Contains(r.body, tc.want) {
				t.Errorf("%s: %d, want %d with %q", tc.name, r.status, tc.status, tc.want)
			}
		}
		if got, _ := s.payments.Get(context.Background(), inv.Invoice); got.Status != payment.Unpaid {
			t.Errorf("refused assignments changed the invoice to %s", got.Status)
		}
		if n := len(s.audits("incoming.assign")); n != 0 {
			t.Errorf("refused assignments wrote %d audit rows", n)
		}

		r = assign(right, inv.Invoice, "pembeli bayar telat")
		if r.status != http.StatusSeeOther || r.location != "/admin/incoming?done=assigned" {
			t.Fatalf("assign: %d → %q", r.status, r.location)
		}
		if got, _ := s.payments.Get(context.Background(), inv.Invoice); got.Status != payment.Paid {
			t.Errorf("the invoice after assignment: %s", got.Status)
		}
		es := s.audits("incoming.assign")
		if len(es) != 1 || es[0].Operator != "ani" || es[0].Comment != "pembeli bayar telat" || es[0].Target != fmt.Sprint(right) {
			t.Errorf("audit rows: %+v", es)
		}
		if r := ani.get("/admin/incoming?done=assigned"); strings.Contains(r.body, fmt.Sprintf("#%d ", right)) ||
			!strings.Contains(r.body, "ditetapkan") {
			t.Error("the assigned record is still listed as unmatched, or the notice is missing")
		}
		if r := ani.get("/admin/incoming?status=matched"); !strings.Contains(r.body, inv.Invoice) {
			t.Error("the matched list lacks the record with its invoice")
		}
		if r := assign(right, inv.Invoice, "lagi"); r.status != http.StatusConflict {
			t.Errorf("assigning twice: %d", r.status)
		}
		if n := len(s.audits("incoming.assign")); n != 1 {
			t.Errorf("%d audit rows after a second try", n)
		}
		s.verify()
	})
}

var totalsRE = regexp.MustCompile(`id="payment-totals">[^<]*<strong>Rp ([\d.]+)</strong>[^<]*<strong>Rp ([\d.]+)</strong> \((\d+)\)`)

// TestConsolePayments: the report filters by store, member, status and
// day, and shows the total of the page and of everything selected; a bad
// filter says which and is a 400.
func TestConsolePayments(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		ctx := context.Background()
		first := s.invoice() // store A, paid below
		s.pay(first)
		other, err := s.stores.Add(ctx, payment.NewStore{MemberID: s.member.ID, Name: "Toko Dua", Sandbox: true})
		if err != nil {
			t.Fatal(err)
		}
		var sumB, lastB int64 // lastB: the two oldest of store B, on page 2 with the first invoice
		for i := range 52 {   // more than a page of unpaid invoices on store B
			inv, _, err := s.payments.Create(ctx, s.member.ID, payment.NewInvoice{StoreID: other.ID, Amount: int64(10_000 + i)})
			if err != nil {
				t.Fatal(err)
			}
			sumB += inv.Total
			if i < 2 {
				lastB += inv.Total
			}
		}
		ani := s.browser()
		ani.signIn("admin", "ani")
		totals := func(path string) (page, all string, n string) {
			t.Helper()
			r := ani.get(path)
			if r.status != 200 {
				t.Fatalf("%s: %d", path, r.status)
			}
			m := totalsRE.FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("%s: no totals", path)
			}
			return m[1], m[2], m[3]
		}
		day := s.now().In(time.FixedZone("WIB", 7*3600)).Format(time.DateOnly)
		cases := []struct {
			query           string
			page, all, rows string
		}{
			{"", rupiah.Format(sumB - lastB), rupiah.Format(first.Total + sumB), "53"},
			{"?page=2", rupiah.Format(first.Total + lastB), rupiah.Format(first.Total + sumB), "53"},
			{"?status=paid", rupiah.Format(first.Total), rupiah.Format(first.Total), "1"},
			{"?status=unpaid&store=" + fmt.Sprint(other.ID), rupiah.Format(sumB - lastB), rupiah.Format(sumB), "52"},
			{fmt.Sprintf("?store=%d", first.StoreID), rupiah.Format(first.Total), rupiah.Format(first.Total), "1"},
			{"?member=budi&from=" + day + "&to=" + day, rupiah.Format(sumB - lastB), rupiah.Format(first.Total + sumB), "53"},
			{"?member=nobody", "0", "0", "0"},
			{"?from=2000-01-01&to=2000-01-02", "0", "0", "0"},
		}
		for _, tc := range cases {
			page, all, n := totals("/admin/payments" + tc.query)
			if page != tc.page || all != tc.all || n != tc.rows {
				t.Errorf("%q: page %s all %s rows %s, want %s %s %s", tc.query, page, all, n, tc.page, tc.all, tc.rows)
			}
		}
		if r := ani.get("/admin/payments?status=paid"); !strings.Contains(r.body, first.Invoice) || strings.Contains(r.body, "Toko Dua") {
			t.Error("the paid filter shows the wrong invoices")
		}
		for _, q := range []string{"?from=kemarin", "?store=-1", "?status=lunas", "?from=2026-02-02&to=2026-02-01"} {
			if r := ani.get("/admin/payments" + q); r.status != http.StatusBadRequest || !strings.Contains(r.body, "tidak valid") {
				t.Errorf("%s: %d", q, r.status)
			}
		}
		s.verify()
	})
}
