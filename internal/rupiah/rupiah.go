// Package rupiah writes amounts the Indonesian way: thousands separated by
// dots, no decimals (500000 → "500.000").
package rupiah

import "strconv"

// Format returns n with dots between thousands; negative amounts keep
// their sign.
func Format(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, '.')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
