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

func TestNoRepeatsInManyDraws(t *testing.T) {
	seen := map[string]bool{}
	now := time.Now()
	for range 100000 {
		r := New("DEP", now)
		if seen[r] {
			t.Fatalf("repeat after %d draws: %s", len(seen), r)
		}
		seen[r] = true
	}
}
