package reference

import (
	"regexp"
	"testing"
	"time"
)

func TestShapeAndDateInWIB(t *testing.T) {
	// 2024-07-02 20:30 UTC is already 3 July in WIB.
	now := time.Date(2024, 7, 2, 20, 30, 0, 0, time.UTC)
	if r := New("TRX", now); !regexp.MustCompile(`^TRX240703\d{11}$`).MatchString(r) {
		t.Fatalf("New = %q", r)
	}
	if r := NewLong("INV", now); !regexp.MustCompile(`^INV20240703\d{11}$`).MatchString(r) {
		t.Fatalf("NewLong = %q", r)
	}
}

// TestDrawsAreUniform checks that the random part is drawn from the whole
// range of Digits digits: 100,000 draws from 10^11 repeat with probability
// about 5%, so a repeat is allowed (the callers redraw on a conflict), but
// more than two would mean a far smaller range than claimed (p < 10^-4).
func TestDrawsAreUniform(t *testing.T) {
	seen := map[string]bool{}
	now := time.Now()
	repeats := 0
	firstDigit := map[byte]int{}
	for range 100000 {
		r := New("DEP", now)
		if seen[r] {
			repeats++
		}
		seen[r] = true
		firstDigit[r[len("DEP")+6]]++
	}
	if repeats > 2 {
		t.Fatalf("%d repeats in 100,000 draws from 10^%d", repeats, Digits)
	}
	// Each leading digit of the random part should take about a tenth.
	for d := byte('0'); d <= '9'; d++ {
		if n := firstDigit[d]; n < 9000 || n > 11000 {
			t.Fatalf("leading digit %c drawn %d times in 100,000", d, n)
		}
	}
}
