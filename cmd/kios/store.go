package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"kios/internal/db"
	"kios/internal/member"
	"kios/internal/payment"
)

func storeAddCmd(ctx context.Context, args []string, e env) error {
	var username string
	ns := payment.NewStore{Lifetime: payment.DefaultLifetime}
	cfg, err := parseFlags("store add", "Add a QRIS store for a member and print its id. The static QRIS is the payload of the merchant's printed code; it is checked (format, CRC, static) before it is saved.", args, e, false, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "member", "", "the owner's username (required)")
		fs.StringVar(&ns.Name, "name", "", "the store's name, 1 to 100 characters (required)")
		fs.StringVar(&ns.StaticQRIS, "qris", "", "the merchant's static QRIS payload (default: none)")
		fs.StringVar(&ns.CallbackURL, "callback-url", "", "http(s) URL that receives payment_status webhooks (default: none)")
		fs.DurationVar(&ns.Lifetime, "lifetime", payment.DefaultLifetime, "how long an invoice stays open, 1m to 168h")
		fs.Int64Var(&ns.FeeFlat, "fee-flat", 0, "platform fee per paid invoice, in rupiah")
		fs.Int64Var(&ns.FeePercentBP, "fee-percent-bp", 0, "platform fee in basis points of the amount (250 = 2.5%), rounded half up to the rupiah")
		fs.BoolVar(&ns.Sandbox, "sandbox", false, "sandbox mode: the payment page can simulate payments")
	})
	if err != nil {
		return err
	}
	if username == "" || ns.Name == "" {
		return errors.New("store add: --member and --name are required")
	}
	if ns.Lifetime == 0 {
		return errors.New("store add: --lifetime must be from 1m to 168h")
	}
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	m, err := member.NewStore(d, time.Now).ByUsername(ctx, username)
	if err != nil {
		return err
	}
	ns.MemberID = m.ID
	st, err := payment.NewStores(d, time.Now).Add(ctx, ns)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "store %d added for %s (%s, invoices open %s, sandbox %t)\n", st.ID, m.Username, st.Name, st.Lifetime, st.Sandbox)
	return nil
}
