package web

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"kios/internal/fault"
)

// FuzzParseAmount: any text gives a positive amount or a fault about
// "amount", never a panic or another kind of error.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"100000", "100.000", " 1 000 ", "", "-5", "0", "9223372036854775808", "1e6", "Rp 10.000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseAmount(s)
		if err == nil {
			if n <= 0 {
				t.Fatalf("%q → %d without error", s, n)
			}
			return
		}
		if c := fault.CodeOf(err); (c != fault.Invalid && c != fault.Missing) || fault.FieldOf(err) != "amount" {
			t.Fatalf("%q → %v", s, err)
		}
	})
}

// FuzzParseFilter: any query gives a filter or a fault about one of its
// fields, never a panic or an internal error.
func FuzzParseFilter(f *testing.F) {
	f.Add("deposit", "unpaid", "2026-11-01", "2026-11-21")
	f.Add("", "", "", "")
	f.Add("refund", "paid", "kemarin", "2026-02-30")
	f.Add("order", "", "2026-11-21", "2026-11-01")
	f.Fuzz(func(t *testing.T, typ, status, from, until string) {
		q := url.Values{"type": {typ}, "status": {status}, "from": {from}, "until": {until}}
		r := httptest.NewRequest("GET", "/member?"+q.Encode(), nil)
		flt, _, err := parseFilter(r)
		if err != nil {
			if fault.CodeOf(err) != fault.Invalid {
				t.Fatalf("%v → %v", q, err)
			}
			return
		}
		if !flt.From.IsZero() && !flt.Until.IsZero() && !flt.From.Before(flt.Until) {
			t.Fatalf("%v → an empty range without error", q)
		}
	})
}
