// Package supplier is the contract between kios and the upstream systems
// that deliver the goods. An answer is success (with an SN), failed
// (definite: nothing was delivered), pending (accepted, not done yet) or
// not found (the supplier has never been given that reference); an error
// instead of an answer means the outcome is unknown (timeout, connection
// reset, 5xx) and must never be taken as a failure.
package supplier

import (
	"context"
	"fmt"
)

// Outcome is a supplier's definite answer about one order.
type Outcome int

// The outcomes.
const (
	Pending  Outcome = iota + 1 // accepted, not done yet
	Success                     // delivered; Result.SN says how
	Failed                      // definitely not delivered
	NotFound                    // the supplier was never given this reference
)

// String names the outcome for logs and events.
func (o Outcome) String() string {
	switch o {
	case Pending:
		return "pending"
	case Success:
		return "success"
	case Failed:
		return "failed"
	case NotFound:
		return "not_found"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Order is what a supplier is asked to deliver.
type Order struct {
	Reference string            // kios's reference: the supplier's idempotency key
	SKU       string            // the supplier's product code
	Customer  string            // the number or game id being topped up
	Form      map[string]string // every order-form value, by key
}

// Result is a supplier's answer.
type Result struct {
	Outcome Outcome
	SN      string // the serial number or voucher of a success
	Message string // the supplier's words, for the order's events
}

// Supplier is what kios needs of an upstream. Submit must be idempotent by
// Order.Reference: submitting the same reference again never delivers
// twice. Every call honours ctx's deadline.
type Supplier interface {
	Submit(ctx context.Context, o Order) (Result, error)
	Status(ctx context.Context, reference string) (Result, error)
}

// Set maps supplier names (as in the catalog's SKUs) to suppliers.
type Set map[string]Supplier
