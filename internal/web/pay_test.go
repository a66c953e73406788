package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/incoming"
	"kios/internal/payment"
)

// invoice makes a sandbox store for budi and an unpaid invoice of 25.000
// on it.
func (s *site) invoice() payment.Invoice {
	s.t.Helper()
	ctx := context.Background()
	st, err := s.stores.Add(ctx, payment.NewStore{MemberID: s.member.ID, Name: "Toko Budi", Sandbox: true})
	if err != nil {
		s.t.Fatal(err)
	}
	inv, _, err := s.payments.Create(ctx, s.member.ID, payment.NewInvoice{StoreID: st.ID, Amount: 25_000, Description: "Pulsa"})
	if err != nil {
		s.t.Fatal(err)
	}
	return inv
}

// pay posts the incoming-funds record that pays inv, as the acquirer's
// feed would.
func (s *site) pay(inv payment.Invoice) {
	s.t.Helper()
	if _, err := s.incoming.Post(context.Background(), incoming.Record{Channel: fmt.Sprintf("qris:%d", inv.StoreID),
		Amount: inv.Total, ReceivedAt: s.now(), ExternalID: "feed-" + inv.Invoice}, "test", nil); err != nil {
		s.t.Fatal(err)
	}
}

// TestPayPage: the payment page in the one look, in both languages, its
// unpaid state (QR, exact sum, countdown, refreshing itself) and its paid
// state, and 404 for an unknown invoice.
func TestPayPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		inv := s.invoice()
		b := s.browser()
		path := "/pay.php?invoice=" + inv.Invoice
		r := b.get(path)
		total := fmt.Sprint(inv.Total)
		for _, want := range []string{"Toko Budi", "Menunggu pembayaran", `src="/qr/` + inv.Invoice + `.png"`, `data-refresh="5"`,
			`id="countdown" data-until="` + fmt.Sprint(inv.ExpiredAt.Unix()) + `"`, `<mark title="kode unik">` + total[len(total)-3:] + "</mark>",
			"Simulasikan pembayaran", `href="/pay.php?invoice=` + inv.Invoice + `&amp;lang=en"`, `href="/static/kios.css"`} {
			if r.status != 200 || !strings.Contains(r.body, want) {
				t.Errorf("the unpaid page lacks %q (%d)", want, r.status)
			}
		}
		if r := b.get(path + "&lang=en"); !strings.Contains(r.body, "Pay exactly") || !strings.Contains(r.body, "Awaiting payment") {
			t.Error("the English page")
		}
		b.get(path + "&lang=id")

		s.clock.Add(time.Minute)
		s.pay(inv)
		r = b.get(path)
		if r.status != 200 || !strings.Contains(r.body, "Lunas") || strings.Contains(r.body, "data-refresh") ||
			strings.Contains(r.body, "Simulasikan") || strings.Contains(r.body, `id="qr"`) {
			t.Errorf("the paid page: %d", r.status)
		}
		if r := b.get("/pay.php?invoice=INV000"); r.status != http.StatusNotFound {
			t.Errorf("unknown invoice: %d", r.status)
		}
		s.verify()
	})
}
