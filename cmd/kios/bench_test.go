package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"testing"
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
