package ledger

import (
	"fmt"
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
		if StripeBase(s) != Inflight {
			t.Fatalf("StripeBase(%q) = %q", s, StripeBase(s))
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
	if StripeBase("member:12") != "member:12" {
		t.Error("a plain code is its own base")
	}
}
