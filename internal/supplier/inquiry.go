package supplier

import "context"

// Inquiry asks a supplier who holds a customer account before a top-up
// (the PPOB face's inquiry).
type Inquiry struct {
	SKU      string // the supplier's product code
	Customer string // the account: for e-wallets, the mobile number
	Amount   int64  // the top-up asked about, in rupiah
}

// Account is a supplier's answer to an Inquiry: whether the account exists
// and, when the supplier tells, the holder's name.
type Account struct {
	Found bool
	Name  string
}

// Inquirer is a Supplier that can look up an account holder. It is
// optional: a supplier that cannot is simply not asked, and the inquiry
// answers on kios's own checks. An error means the supplier could not be
// asked (timeout, 5xx); it says nothing about the account.
type Inquirer interface {
	Inquire(ctx context.Context, q Inquiry) (Account, error)
}
