package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"kios/internal/config"
	"kios/internal/db"
	"kios/internal/funding"
	"kios/internal/rupiah"
)

// depositExpiryEvery is how often serve looks for unpaid deposits past
// their expired_at.
const depositExpiryEvery = 10 * time.Second

// newFunding builds the funding service serve runs with and prepares its
// accounts and destination banks: the configured ones, or the demo ones
// under --demo when none are configured.
func newFunding(ctx context.Context, d *db.DB, cfg config.Config, logger *slog.Logger, notify func()) (*funding.Service, error) {
	funds := funding.New(d, funding.Options{
		Now:             time.Now,
		MinDeposit:      cfg.DepositMin,
		MaxDeposit:      cfg.DepositMax,
		DepositLifetime: cfg.DepositLifetime,
		Logger:          logger,
		Notify:          notify,
	})
	var banks []funding.Bank
	for _, b := range cfg.Banks {
		banks = append(banks, funding.Bank{Code: b.Code, Name: funding.BankName(b.Code),
			AccountNumber: b.Number, AccountName: b.Holder, Active: true})
	}
	if len(banks) == 0 && cfg.Demo {
		banks = funding.DemoBanks()
	}
	if err := funds.Prepare(ctx, banks); err != nil {
		return nil, err
	}
	return funds, nil
}

// decision is what the deposit and withdrawal commands share: the
// reference (as the first argument or --reference), who decides, and the
// service on the configured database.
type decision struct {
	reference, by, reason string
}

// parseDecision parses a decision command's flags; withReason adds
// --reason.
func parseDecision(name, synopsis string, args []string, e env, withReason bool) (decision, config.Config, error) {
	var dc decision
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dc.reference, args = args[0], args[1:]
	}
	ref := dc.reference
	cfg, err := parseFlags(name, synopsis, args, e, false, func(fs *flag.FlagSet) {
		fs.StringVar(&dc.reference, "reference", ref, "the reference (may also be given as the first argument)")
		fs.StringVar(&dc.by, "by", "cli", "who decides, recorded in the status history")
		if withReason {
			fs.StringVar(&dc.reason, "reason", "", "why, shown to the member")
		}
	})
	if err != nil {
		return dc, cfg, err
	}
	dc.reference = strings.TrimSpace(dc.reference)
	if dc.reference == "" {
		return dc, cfg, fmt.Errorf("kios %s: the reference is required (kios %s <reference>, or --reference)", name, name)
	}
	return dc, cfg, nil
}

// withFunding opens the database and runs fn with a funding service on it.
func withFunding(ctx context.Context, cfg config.Config, e env, fn func(funds *funding.Service) error) error {
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	funds := funding.New(d, funding.Options{Logger: newLogger(cfg, e.stderr)})
	if err := funds.Prepare(ctx, nil); err != nil {
		return err
	}
	return fn(funds)
}

func depositConfirmCmd(ctx context.Context, args []string, e env) error {
	dc, cfg, err := parseDecision("deposit confirm", "Confirm that an unpaid deposit's money has arrived: it becomes success and its whole price (amount + unique code) is credited to the member, once. A deposit that is not unpaid, or past its expired_at, is refused.", args, e, false)
	if err != nil {
		return err
	}
	return withFunding(ctx, cfg, e, func(funds *funding.Service) error {
		t, err := funds.Confirm(ctx, dc.reference, dc.by)
		if err != nil {
			return fmt.Errorf("deposit confirm: %w", err)
		}
		fmt.Fprintf(e.stdout, "deposit %s is success: Rp %s credited to member %d\n", t.Reference, rupiah.Format(t.Price), t.MemberID)
		return nil
	})
}

func depositRejectCmd(ctx context.Context, args []string, e env) error {
	dc, cfg, err := parseDecision("deposit reject", "Close an unpaid deposit for which no money came: it becomes expired with the reason, and no money moves.", args, e, true)
	if err != nil {
		return err
	}
	return withFunding(ctx, cfg, e, func(funds *funding.Service) error {
		t, err := funds.Reject(ctx, dc.reference, dc.by, dc.reason)
		if err != nil {
			return fmt.Errorf("deposit reject: %w", err)
		}
		fmt.Fprintf(e.stdout, "deposit %s is %s: %s\n", t.Reference, t.Status, t.Reason)
		return nil
	})
}

func withdrawalAcceptCmd(ctx context.Context, args []string, e env) error {
	dc, cfg, err := parseDecision("withdrawal accept", "Record that a processing withdrawal was paid out to the member's bank account: it becomes success and the held amount leaves the platform.", args, e, false)
	if err != nil {
		return err
	}
	return withFunding(ctx, cfg, e, func(funds *funding.Service) error {
		t, err := funds.AcceptWithdrawal(ctx, dc.reference, dc.by)
		if err != nil {
			return fmt.Errorf("withdrawal accept: %w", err)
		}
		fmt.Fprintf(e.stdout, "withdrawal %s is success: Rp %s paid out to %s %s (%s)\n",
			t.Reference, rupiah.Format(t.Amount), t.Via, t.AccountNumber, t.AccountName)
		return nil
	})
}

func withdrawalRejectCmd(ctx context.Context, args []string, e env) error {
	dc, cfg, err := parseDecision("withdrawal reject", "Refuse a processing withdrawal: it becomes failed with the reason and the held amount returns to the member's balance.", args, e, true)
	if err != nil {
		return err
	}
	if strings.TrimSpace(dc.reason) == "" {
		return errors.New("withdrawal reject: --reason is required (the member sees it)")
	}
	return withFunding(ctx, cfg, e, func(funds *funding.Service) error {
		t, err := funds.RejectWithdrawal(ctx, dc.reference, dc.by, dc.reason)
		if err != nil {
			return fmt.Errorf("withdrawal reject: %w", err)
		}
		fmt.Fprintf(e.stdout, "withdrawal %s is failed: Rp %s returned to member %d\n", t.Reference, rupiah.Format(t.Amount), t.MemberID)
		return nil
	})
}
