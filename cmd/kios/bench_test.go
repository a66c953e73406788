package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"kios/internal/db"
)

// TestBenchRuns drives a short load through kios bench on each database
// and checks that it reports accepted orders, no errors, every order
// settled and a sound ledger.
func TestBenchRuns(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			args := append([]string{"kios", "bench", "--members", "3", "--clients", "4", "--duration", "300ms"}, databaseArgs(t, target)...)
			var out bytes.Buffer
			if err := run(context.Background(), args, noEnv, &out, io.Discard); err != nil {
				t.Fatalf("bench: %v\n%s", err, out.String())
			}
			m := regexp.MustCompile(`accepted: (\d+) orders`).FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no accepted count in:\n%s", out.String())
			}
			if n, _ := strconv.Atoi(m[1]); n == 0 {
				t.Fatalf("no order accepted:\n%s", out.String())
			}
			wants := []string{"errors: 0", "settled: every order", "Verify OK", "p99", "cpu per order: kios "}
			if target == "postgres" {
				wants = append(wants, "backends), total ")
			}
			for _, want := range wants {
				if !bytes.Contains(out.Bytes(), []byte(want)) {
					t.Fatalf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestBenchWithPartnerReferences: with --partner-reference every accepted
// order carries a partner_reference of its own (the idempotency key path
// real resellers' systems take), on each database.
func TestBenchWithPartnerReferences(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			dbArgs := databaseArgs(t, target)
			dsn := filepath.Join(dir, "kios.db")
			if len(dbArgs) >= 2 {
				dsn = dbArgs[1]
			}
			args := append([]string{"kios", "bench", "--members", "3", "--clients", "4", "--duration", "300ms",
				"--partner-reference", "--data-dir", dir}, dbArgs...)
			var out bytes.Buffer
			if err := run(context.Background(), args, noEnv, &out, io.Discard); err != nil {
				t.Fatalf("bench: %v\n%s", err, out.String())
			}
			m := regexp.MustCompile(`accepted: (\d+) orders`).FindStringSubmatch(out.String())
			if m == nil || !bytes.Contains(out.Bytes(), []byte("errors: 0")) || !bytes.Contains(out.Bytes(), []byte("Verify OK")) {
				t.Fatalf("bench output:\n%s", out.String())
			}
			accepted, _ := strconv.Atoi(m[1])
			d, err := db.Open(context.Background(), dsn, db.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			var orders, keyed, keys int
			if err := d.QueryRow(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT CASE WHEN partner_reference <> '' THEN partner_reference END),
				(SELECT COUNT(*) FROM idempotency_keys) FROM orders`).Scan(&orders, &keyed, &keys); err != nil {
				t.Fatal(err)
			}
			if accepted == 0 || orders != accepted || keyed != accepted || keys != accepted {
				t.Fatalf("%d accepted, %d orders, %d distinct partner references, %d keys", accepted, orders, keyed, keys)
			}
		})
	}
}
