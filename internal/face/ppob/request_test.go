package ppob

import (
	"strconv"
	"strings"
	"testing"

	"kios/internal/fault"
)

// FuzzParseAmount checks that an accepted amount is exactly the digits
// given (leading zeros aside) and that everything else is a fault of the
// amount field, never a panic.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"999", "1000", "01000", "10000000000000", "12a", "", "0", "-1", "+1000", "1e3", "９"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseAmount(s)
		if err != nil {
			if fault.FieldOf(err) != "amount" {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if n < 0 || strconv.FormatInt(n, 10) != strings.TrimLeft(s, "0") && !(n == 0 && strings.Trim(s, "0") == "") {
			t.Fatalf("%q → %d", s, n)
		}
	})
}

// FuzzDecodeRequest checks that any body is either a request or a fault
// that names a field.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"req_id":"a","product_id":"GOPAY","cust_id":"08123456789","amount":"50000"}`,
		`{"amount":50000}`, `[]`, `null`, `{"product_id":`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, _, err := decodeRequest(b, true); err != nil && fault.FieldOf(err) == "" {
			t.Fatalf("%q: %v", b, err)
		}
	})
}
