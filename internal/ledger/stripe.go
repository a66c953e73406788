package ledger

import (
	"context"
	"fmt"
	"hash/fnv"

	"kios/internal/db"
)

// Stripes is how many accounts a busy system account is spread over.
//
// Every order credits system:inflight when it is created and debits it when
// it settles; every success credits system:revenue and the supplier's
// account. On PostgreSQL each of those updates holds the account's row lock
// until its transaction commits, so one row would let only one order
// through at a time. Spread over Stripes accounts ("system:inflight/07"),
// that many transactions can commit at once. The stripe is chosen from the
// business reference, so an order's settlement finds its inflight money in
// the stripe its creation put it in. A striped account's balance is the sum
// of its stripes; Verify's invariants hold for each of them.
const Stripes = 64

// Stripe returns the code of the stripe of account code that reference
// belongs to.
func Stripe(code, reference string) string {
	h := fnv.New32a()
	h.Write([]byte(reference))
	return StripeCode(code, int(h.Sum32()%Stripes))
}

// Total returns the balance of account code together with all its stripes.
func Total(ctx context.Context, d *db.DB, code string) (int64, error) {
	var b int64
	err := d.QueryRow(ctx, "SELECT COALESCE(SUM(balance), 0) FROM accounts WHERE code = ? OR code LIKE ?", code, code+"/%").Scan(&b)
	return b, err
}

// ChargeStripes is how many stripes of system:inflight a charge written by
// WriteCharges chooses a charge's credit among: more than Stripes, so that the
// stripes that concurrent orders and settlement batches hold leave plenty
// free.
const ChargeStripes = 256

// StripeCode returns the code of stripe i of account code; Stripe(code, r)
// is StripeCode(code, i) for an i below Stripes that r hashes to.
func StripeCode(code string, i int) string { return fmt.Sprintf("%s/%02d", code, i) }
