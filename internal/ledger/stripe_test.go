package ledger

import (
	"fmt"
	"strings"
	"testing"
)

func TestStripesSpreadAndAreStable(t *testing.T) {
	seen := map[string]int{}
	for i := range 10000 {
		ref := fmt.Sprintf("TRX261121%011d", i*7919)
		s := Stripe(Inflight, ref)
		if s != Stripe(Inflight, ref) {
			t.Fatal("the stripe of a reference changed")
		}
		if !strings.HasPrefix(s, Inflight+"/") {
			t.Fatalf("stripe %q is not under %s", s, Inflight)
		}
		seen[s]++
	}
	if len(seen) != Stripes {
		t.Fatalf("%d stripes used, want %d", len(seen), Stripes)
	}
	for s, n := range seen {
		if n < 10000/Stripes/2 {
			t.Errorf("stripe %s got only %d of 10000", s, n)
		}
	}
}
