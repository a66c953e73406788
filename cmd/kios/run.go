package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"kios/internal/config"
	"kios/internal/db"
	"kios/internal/httpx"
)

// errHelp reports that --help was asked for and answered.
var errHelp = errors.New("help shown")

// command is one subcommand of kios.
type command struct {
	name    string // "serve", "member add", …
	summary string
	run     func(ctx context.Context, args []string, e env) error
}

// env is what every subcommand gets from run.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "run the kios server", serveCmd},
		{"migrate", "apply the embedded database migrations", migrateCmd},
		{"member add", "add a member", memberAddCmd},
		{"credential create", "create an API key and secret key for a member (shown once)", credentialCreateCmd},
		{"credential revoke", "revoke a member's API credential", credentialRevokeCmd},
		{"operator add", "add an operator with a role, a password and an API token", operatorAddCmd},
		{"store add", "add a QRIS store for a member (its static QRIS is checked)", storeAddCmd},
		{"bench", "load-test kios: drive orders over HTTP against a kios on loopback", benchCmd},
		{"webhook set", "set a member's webhook URL and print its signing secret", webhookSetCmd},
		{"webhook test", "queue a test webhook for a member", webhookTestCmd},
		{"supplier add", "configure an upstream prepaid supplier (its keys sealed at rest)", supplierAddCmd},
		{"supplier list", "list the configured suppliers, without their keys", supplierListCmd},
		{"supplier import", "import a prepaid supplier's providers and products into the catalog", supplierImportCmd},
		{"ledger verify", "check the ledger's invariants; exits non-zero on any violation", ledgerVerifyCmd},
		{"deposit confirm", "credit an unpaid deposit whose money has arrived", depositConfirmCmd},
		{"deposit reject", "close an unpaid deposit for which no money came", depositRejectCmd},
		{"withdrawal accept", "record a processing withdrawal as paid out", withdrawalAcceptCmd},
		{"withdrawal reject", "refuse a processing withdrawal and return its amount", withdrawalRejectCmd},
	}
}

// run is kios's whole program: main only calls it. args[0] is the program
// name; getenv reads the environment; nothing below run exits the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	rest := args[1:]
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" || rest[0] == "-help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(rest) >= len(words) && strings.Join(rest[:len(words)], " ") == c.name {
			err := c.run(ctx, rest[len(words):], e)
			if errors.Is(err, errHelp) {
				return nil
			}
			return err
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", strings.Join(rest, " "))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "kios — top-ups, QRIS payments and their ledger.")
	fmt.Fprintln(w, "\nUsage: kios <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'kios <command> --help' for a command's flags.")
}

// parseFlags builds the command's flag set: the configuration (all of it
// for serve, the database settings otherwise) plus extra, and parses args.
// --help prints the usage to stdout and returns errHelp.
func parseFlags(name, synopsis string, args []string, e env, serve bool, extra func(fs *flag.FlagSet)) (config.Config, error) {
	cfg := config.Default()
	fs := flag.NewFlagSet("kios "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := config.Register(fs, &cfg, e.getenv, serve); err != nil {
		return cfg, err
	}
	if extra != nil {
		extra(fs)
	}
	printUsage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: kios %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.stdout)
			return cfg, errHelp
		}
		printUsage(e.stderr)
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("kios %s: unexpected argument %q", name, fs.Arg(0))
	}
	return cfg, cfg.Validate()
}

// newLogger builds the slog logger the configuration asks for, with request
// ids added from the context.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(httpx.LogHandler{Handler: h})
}

// openDB opens the configured database and applies pending migrations.
func openDB(ctx context.Context, cfg config.Config, opt db.Options) (*db.DB, []string, error) {
	opt.MaxConns = cfg.DBMaxConns
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	d, err := db.Open(ctx, cfg.DSN(), opt)
	if err != nil {
		return nil, nil, err
	}
	applied, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return d, applied, nil
}
