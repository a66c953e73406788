package rupiah

import (
	"math"
	"testing"
)

var cases = []struct {
	n    int64
	want string
}{
	{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1.000"}, {1425, "1.425"}, {10000, "10.000"},
	{500655, "500.655"}, {1000000, "1.000.000"}, {-15000, "-15.000"},
	{math.MaxInt64, "9.223.372.036.854.775.807"}, {math.MinInt64, "-9.223.372.036.854.775.808"},
}

func TestFormat(t *testing.T) {
	for _, c := range cases {
		if got := Format(c.n); got != c.want {
			t.Errorf("Format(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
