package catalog_test

import (
	"strings"
	"testing"

	"kios/internal/catalog"
)

var msisdnCases = []struct {
	in, want string
	ok       bool
}{
	{"08123456789", "08123456789", true},
	{"628123456789", "08123456789", true},
	{"+628123456789", "08123456789", true},
	{"0812-3456-789", "08123456789", true},
	{" 0812 3456 789 ", "08123456789", true},
	{"0812345678", "0812345678", true},       // 10 digits
	{"0812345678901", "0812345678901", true}, // 13 digits
	{"081234567", "", false},                 // 9
	{"08123456789012", "", false},            // 14
	{"+08123456789", "", false},
	{"+6221234567", "", false}, // a Jakarta landline
	{"0212345678", "", false},
	{"8123456789", "", false},
	{"62-8123456789", "08123456789", true},
	{"-08123456789", "", false},
	{"0812345678a", "", false},
	{"0812３456789", "", false}, // a full-width digit
	{"", "", false},
	{strings.Repeat("0", 40), "", false},
}

func TestNormalizeMSISDN(t *testing.T) {
	for _, c := range msisdnCases {
		got, ok := catalog.NormalizeMSISDN(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("NormalizeMSISDN(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// FuzzNormalizeMSISDN checks that whatever is accepted comes out as 08
// and 10 to 13 digits, and is a fixed point.
func FuzzNormalizeMSISDN(f *testing.F) {
	for _, c := range msisdnCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := catalog.NormalizeMSISDN(s)
		if !ok {
			return
		}
		if !strings.HasPrefix(n, "08") || len(n) < 10 || len(n) > 13 || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("%q → %q", s, n)
		}
		if again, ok := catalog.NormalizeMSISDN(n); !ok || again != n {
			t.Fatalf("%q → %q → %q", s, n, again)
		}
	})
}
