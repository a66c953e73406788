package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/ledger"
	"kios/internal/order"
	"kios/internal/supplier/prepaid"
)

// fuzzWorld is a world whose member can afford many orders.
type fuzzWorld struct {
	*world
}

// fresh returns a new order waiting for the supplier "up", known to it also
// by the supplier's reference API-THEIRS<n>.
func (w fuzzWorld) fresh(t testing.TB, n int) order.Order {
	t.Helper()
	o := w.order(t, "111")
	if err := prepaid.NewReferences(w.d, nil).Remember(context.Background(), "up", o.Reference, fmt.Sprintf("API-THEIRS%d", n)); err != nil {
		t.Fatal(err)
	}
	return o
}

// FuzzSupplierWebhook posts any body, correctly signed and from an allowed
// address, to the supplier webhook of a real kios on SQLite and (with
// KIOS_TEST_POSTGRES_URL) PostgreSQL; "{REF}" in a body stands for the
// reference of a new order waiting for the supplier, "{THEIRS}" for the
// supplier's reference of it. Whatever the body, the
// answer is the spec's: 200 with one of the two success messages, or 400
// with a message that says what was wrong — never a 500, never a panic —
// and the ledger stays balanced. Seeds are in testdata/fuzz.
//
//	go test -run '^$' -fuzz FuzzSupplierWebhook -fuzztime 60s ./internal/face/hooks/
func FuzzSupplierWebhook(f *testing.F) {
	var worlds []fuzzWorld
	for _, target := range []string{"sqlite", "postgres"} {
		dsn := dbtest.DSN(f, target)
		if dsn == "" {
			continue
		}
		w := newWorld(f, dbtest.Open(f, dsn))
		if err := w.d.Write(context.Background(), func(tx *db.Tx) error {
			adj, err := ledger.AccountByCode(tx, ledger.Adjust)
			if err != nil {
				return err
			}
			_, err = ledger.Transfer(tx, "adjustment", "FUZZ", adj.ID, w.member.AccountID, 1_000_000_000, time.Now())
			return err
		}); err != nil {
			f.Fatal(err)
		}
		worlds = append(worlds, fuzzWorld{world: w})
	}
	var n int
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		for _, w := range worlds {
			b := body
			if bytes.Contains(b, []byte("{REF}")) || bytes.Contains(b, []byte("{THEIRS}")) {
				o := w.fresh(t, n)
				b = bytes.ReplaceAll(b, []byte("{REF}"), []byte(o.Reference))
				b = bytes.ReplaceAll(b, []byte("{THEIRS}"), fmt.Appendf(nil, "API-THEIRS%d", n))
			}
			code, answer := w.post(t, "up", string(b), secret)
			if why := badAnswer(code, answer); why != "" {
				t.Fatalf("%s\nbody:   %q\nanswer: %d %s", why, b, code, answer)
			}
			w.verify(t)
		}
	})
}

// badAnswer says what is wrong with an answer to a trusted supplier's
// webhook, or "" when it is one the spec allows.
func badAnswer(code int, answer string) string {
	var a struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		return "the answer is not JSON"
	}
	if a.Status != code {
		return "the body's status is not the HTTP status"
	}
	switch code {
	case 200:
		if a.Message != "Webhook berhasil diproses" && a.Message != "Harga berhasil diperbarui" {
			return "an unexpected success message"
		}
	case 400:
		switch {
		case a.Message == "Body permintaan bukan JSON yang valid",
			a.Message == "Kolom webhook_type tidak valid",
			a.Message == "Kolom status tidak valid",
			a.Message == "Kolom data tidak valid",
			strings.HasPrefix(a.Message, "Transaksi tidak ditemukan: "):
		default:
			return "an unexpected refusal message"
		}
	default:
		return "neither 200 nor 400"
	}
	return ""
}
