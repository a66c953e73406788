package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"kios/internal/db"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/token"
)

func migrateCmd(ctx context.Context, args []string, e env) error {
	cfg, err := parseFlags("migrate", "Apply the database migrations embedded in this binary. kios serve applies them too.", args, e, false, nil)
	if err != nil {
		return err
	}
	d, applied, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if len(applied) == 0 {
		fmt.Fprintf(e.stdout, "database %s is up to date\n", d.Dialect())
		return nil
	}
	for _, m := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", m)
	}
	return nil
}

func memberAddCmd(ctx context.Context, args []string, e env) error {
	var nm member.NewMember
	cfg, err := parseFlags("member add", "Add a member. The password comes from --password, else from KIOS_MEMBER_PASSWORD (so that it stays out of the process list), else a random one is generated and printed.", args, e, false, func(fs *flag.FlagSet) {
		fs.StringVar(&nm.Username, "username", "", "the member's username (required)")
		fs.StringVar(&nm.Level, "level", "member", "price level: member, reseller, h2h, …")
		fs.StringVar(&nm.Upline, "upline", "", "username of the member who referred this one")
		fs.StringVar(&nm.Password, "password", "", "password for signing in (default: generated)")
	})
	if err != nil {
		return err
	}
	if nm.Password == "" {
		nm.Password = e.getenv("KIOS_MEMBER_PASSWORD")
	}
	generated := nm.Password == ""
	if generated {
		nm.Password = token.New(16)
	}
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	m, err := member.NewStore(d, time.Now).Add(ctx, nm)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "member %s added (id %d, level %s)\n", m.Username, m.ID, m.Level)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n", nm.Password)
	}
	return nil
}

func credentialCreateCmd(ctx context.Context, args []string, e env) error {
	var username, ips string
	var nc member.NewCredential
	cfg, err := parseFlags("credential create", "Create an API key and secret key for a member. They are printed once and stored only as hashes.", args, e, false, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "member", "", "the member's username (required)")
		fs.StringVar(&ips, "allow-ip", "", "comma-separated IPs or CIDRs allowed to use it (default: any)")
		fs.BoolVar(&nc.SignedOnly, "signed-only", false, "accept only the signed (t=…,v1=…) form of the Signature header")
		fs.IntVar(&nc.RatePerSec, "rate", 0, "requests per second for this credential (default: the server's)")
		fs.IntVar(&nc.RateBurst, "rate-burst", 0, "burst for this credential (default: the server's)")
	})
	if err != nil {
		return err
	}
	if username == "" {
		return errors.New("credential create: --member is required")
	}
	nc.AllowIPs = splitList(ips)
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	members := member.NewStore(d, time.Now)
	m, err := members.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	nc.MemberID = m.ID
	is, err := members.CreateCredential(ctx, nc)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "credential %d created for %s; keep these, they are not shown again:\n", is.ID, m.Username)
	fmt.Fprintf(e.stdout, "api_key:    %s\nsecret_key: %s\n", is.APIKey, is.SecretKey)
	return nil
}

func credentialRevokeCmd(ctx context.Context, args []string, e env) error {
	var username string
	var id int64
	cfg, err := parseFlags("credential revoke", "Revoke a member's API credential at once.", args, e, false, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "member", "", "the member's username (required)")
		fs.Int64Var(&id, "id", 0, "the credential's id (required)")
	})
	if err != nil {
		return err
	}
	if username == "" || id == 0 {
		return errors.New("credential revoke: --member and --id are required")
	}
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	members := member.NewStore(d, time.Now)
	m, err := members.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	if err := members.RevokeCredential(ctx, m.ID, id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "credential %d of %s revoked\n", id, m.Username)
	return nil
}

func operatorAddCmd(ctx context.Context, args []string, e env) error {
	var username, role, password string
	cfg, err := parseFlags("operator add", "Add an operator and issue an API token. The password comes from --password, else from KIOS_OPERATOR_PASSWORD, else a random one is generated and printed. The token is printed once.", args, e, false, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "the operator's username (required)")
		fs.StringVar(&role, "role", "viewer", "admin, finance, catalog or viewer")
		fs.StringVar(&password, "password", "", "password for signing in (default: generated)")
	})
	if err != nil {
		return err
	}
	r, err := operator.ParseRole(role)
	if err != nil {
		return err
	}
	if password == "" {
		password = e.getenv("KIOS_OPERATOR_PASSWORD")
	}
	generated := password == ""
	if generated {
		password = token.New(16)
	}
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	ops := operator.NewStore(d, time.Now)
	op, err := ops.Add(ctx, username, r, password)
	if err != nil {
		return err
	}
	tok, err := ops.IssueToken(ctx, op.ID, "cli")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "operator %s added (id %d, role %s)\n", op.Username, op.ID, op.Role)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n", password)
	}
	fmt.Fprintf(e.stdout, "token:    %s\n", tok)
	return nil
}

func ledgerVerifyCmd(ctx context.Context, args []string, e env) error {
	cfg, err := parseFlags("ledger verify", "Check the ledger's four invariants and print what was checked. Exits non-zero on any violation.", args, e, false, nil)
	if err != nil {
		return err
	}
	d, _, err := openDB(ctx, cfg, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := ledger.Verify(ctx, d)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, r.String())
	if !r.OK() {
		return fmt.Errorf("ledger verify: %d violation(s)", len(r.Violations))
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
