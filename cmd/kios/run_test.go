package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/config"
	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/demo"
	"kios/internal/password"
)

func TestMain(m *testing.M) {
	password.Cost = 4 // bcrypt.MinCost keeps the CLI tests quick
	os.Exit(m.Run())
}

// lineWriter is a concurrency-safe stdout that lets a test wait for a line.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 100)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		select {
		case w.lines <- strings.TrimSpace(line):
		default:
		}
	}
	return len(p), nil
}

func noEnv(string) string { return "" }

// startServe runs `kios serve` through run() on a free port and returns its
// base URL and a function that stops it and returns run's error.
func startServe(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := newLineWriter()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"kios", "serve", "--addr", "127.0.0.1:0"}, args...), noEnv, out, io.Discard)
	}()
	var base string
	select {
	case line := <-out.lines:
		m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
		if m == nil {
			cancel()
			t.Fatalf("unexpected first line %q", line)
		}
		base = m[1]
	case err := <-done:
		cancel()
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	waitHealthy(t, base)
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("serve did not stop")
		}
	}
	return base, stop
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	for range 100 {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("/healthz never answered 200")
}

func readDemo(t *testing.T, dir string) demo.Info {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info demo.Info
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// phpBalance calls the balance endpoint as the reference's PHP example does:
// Bearer key, the secret as Signature, JSON body "[]", errors not fatal.
func phpBalance(t *testing.T, base, key, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/prepaid/transaction/balance", strings.NewReader("[]"))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Signature", secret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func databaseArgs(t *testing.T, target string) []string {
	dsn := dbtest.DSN(t, target)
	if dsn == "" {
		t.Skip("KIOS_TEST_POSTGRES_URL is not set")
	}
	if target == "postgres" {
		// Small pools: several test packages share one PostgreSQL.
		return []string{"--database", dsn, "--db-max-conns", "8"}
	}
	return nil
}

// TestServeDemoEndToEnd: run() on port 0 with --demo, wait for /healthz,
// call the balance endpoint with the demo credentials like the reference's
// PHP client; stop; start again and find the same credentials reused.
func TestServeDemoEndToEnd(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--demo", "--data-dir", dir}, databaseArgs(t, target)...)
			base, stop := startServe(t, args...)
			info := readDemo(t, dir)
			if info.BaseURL != base || info.Username != "demo" || info.Operator.Username != "admin" ||
				info.APIKey == "" || info.SecretKey == "" || info.Password == "" || info.Operator.Token == "" || info.StoreID == 0 {
				t.Fatalf("demo.json incomplete: %+v", info)
			}
			status, body := phpBalance(t, base, info.APIKey, info.SecretKey)
			want := `{"status":200,"data":{"username":"demo","level":"reseller","balance":1000000}}`
			if status != 200 || body != want {
				t.Fatalf("balance: %d %s, want %s", status, body, want)
			}
			for _, p := range []string{"/readyz", "/metrics"} {
				resp, err := http.Get(base + p)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("%s: %v %v", p, resp, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if p == "/metrics" && !strings.Contains(string(b), `kios_http_requests_total{route="POST /api/prepaid/transaction/balance",status="200"} 1`) {
					t.Fatalf("metrics do not count the balance call:\n%s", b)
				}
			}
			if err := stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}

			// Again: the same member, credentials and funding (not funded twice).
			base, stop = startServe(t, args...)
			again := readDemo(t, dir)
			if again.APIKey != info.APIKey || again.SecretKey != info.SecretKey || again.Password != info.Password || again.Operator != info.Operator || again.StoreID != info.StoreID {
				t.Fatalf("second --demo run did not reuse the demo data:\n%+v\n%+v", info, again)
			}
			if status, body := phpBalance(t, base, info.APIKey, info.SecretKey); status != 200 || body != want {
				t.Fatalf("balance after restart: %d %s", status, body)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := run(context.Background(), append([]string{"kios", "ledger", "verify", "--data-dir", dir}, databaseArgs2(args)...), noEnv, &out, io.Discard); err != nil {
				t.Fatalf("ledger verify after the demo: %v\n%s", err, out.String())
			}
		})
	}
}

// databaseArgs2 keeps only the --database pair of args.
func databaseArgs2(args []string) []string {
	for i, a := range args {
		if a == "--database" {
			return args[i : i+2]
		}
	}
	return nil
}

// TestGracefulShutdownFinishesInFlight: a request in flight when the
// shutdown begins still gets its answer.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServe(t, "--demo", "--data-dir", dir)
	info := readDemo(t, dir)
	// A slow client: send the headers, hold the body, then finish it after
	// the shutdown has started.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/api/prepaid/transaction/balance", pr)
	req.Header.Set("Authorization", "Bearer "+info.APIKey)
	req.Header.Set("Signature", info.SecretKey)
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	pw.Write([]byte("["))
	time.Sleep(500 * time.Millisecond) // let the handler start reading
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(200 * time.Millisecond) // let the shutdown begin
	pw.Write([]byte("]"))
	pw.Close()
	r := <-res
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"balance":1000000`) {
		t.Fatalf("in-flight request during shutdown: %+v", r)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestAdminCommands drives the subcommands through run() on each database.
func TestAdminCommands(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			common := append([]string{"--data-dir", dir}, databaseArgs(t, target)...)
			kios := func(args ...string) (string, error) {
				var out bytes.Buffer
				err := run(ctx, append(append([]string{"kios"}, args...), common...), noEnv, &out, io.Discard)
				return out.String(), err
			}
			out, err := kios("migrate")
			if err != nil || !strings.Contains(out, "applied 0001_foundation") {
				t.Fatalf("migrate: %v %q", err, out)
			}
			if out, err = kios("migrate"); err != nil || !strings.Contains(out, "up to date") {
				t.Fatalf("second migrate: %v %q", err, out)
			}
			if out, err = kios("member", "add", "--username", "budi", "--level", "reseller"); err != nil || !regexp.MustCompile(`password: \S{16}`).MatchString(out) {
				t.Fatalf("member add: %v %q", err, out)
			}
			if _, err = kios("member", "add", "--username", "budi"); err == nil {
				t.Fatal("a second member budi was accepted")
			}
			if _, err = kios("member", "add", "--username", "sari", "--upline", "budi", "--password", "rahasia123"); err != nil {
				t.Fatalf("member add with upline: %v", err)
			}
			out, err = kios("credential", "create", "--member", "sari", "--allow-ip", "127.0.0.1,10.0.0.0/8", "--signed-only")
			m := regexp.MustCompile(`credential (\d+) created[\s\S]*api_key:\s+(\S+)\s+secret_key: (\S+)`).FindStringSubmatch(out)
			if err != nil || m == nil || len(m[2]) != 40 || len(m[3]) != 72 {
				t.Fatalf("credential create: %v %q", err, out)
			}
			if _, err = kios("credential", "revoke", "--member", "sari", "--id", m[1]); err != nil {
				t.Fatalf("credential revoke: %v", err)
			}
			if _, err = kios("credential", "revoke", "--member", "budi", "--id", m[1]); err == nil {
				t.Fatal("revoking another member's credential succeeded")
			}
			out, err = kios("operator", "add", "--username", "ani", "--role", "finance")
			if err != nil || !strings.Contains(out, "role finance") || !regexp.MustCompile(`token:\s+kop_\S+`).MatchString(out) {
				t.Fatalf("operator add: %v %q", err, out)
			}
			if _, err = kios("operator", "add", "--username", "x", "--role", "boss"); err == nil {
				t.Fatal("an unknown role was accepted")
			}
			out, err = kios("ledger", "verify")
			if err != nil || !strings.Contains(out, "ledger OK") || !strings.Contains(out, "every balance equals the sum of its postings") {
				t.Fatalf("ledger verify: %v %q", err, out)
			}
		})
	}
}

// TestLedgerVerifyFailsOnViolation: a tampered balance makes ledger verify
// exit non-zero and name the account.
func TestLedgerVerifyFailsOnViolation(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"kios", "member", "add", "--username", "budi", "--data-dir", dir}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	d := dbtest.Open(t, filepath.Join(dir, "kios.db"))
	if err := d.Write(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec("UPDATE accounts SET balance = balance + 5 WHERE code = 'member:1'")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	out.Reset()
	err := run(context.Background(), []string{"kios", "ledger", "verify", "--data-dir", dir}, noEnv, &out, io.Discard)
	if err == nil || !strings.Contains(out.String(), "account member:1: balance 5 but its postings sum to 0") {
		t.Fatalf("ledger verify on a tampered ledger: err=%v\n%s", err, out.String())
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		var out bytes.Buffer
		args := append([]string{"kios"}, strings.Fields(c.name)...)
		if err := run(context.Background(), append(args, "--help"), noEnv, &out, io.Discard); err != nil {
			t.Errorf("%s --help: %v", c.name, err)
		}
		if !strings.Contains(out.String(), "Usage: kios "+c.name) || !strings.Contains(out.String(), "-data-dir") {
			t.Errorf("%s --help printed %q", c.name, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"kios"}, noEnv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "ledger verify") {
		t.Errorf("kios with no command: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"kios", "frobnicate"}, noEnv, io.Discard, io.Discard); err == nil {
		t.Error("an unknown command succeeded")
	}
}

// TestReadmeDocumentsEverySetting keeps the README's configuration table
// true: every flag and variable of config.Settings appears in it.
func TestReadmeDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range config.Settings() {
		row := fmt.Sprintf("| `--%s` | `%s` |", s.Flag, s.Env)
		if !strings.Contains(readme, row) {
			t.Errorf("README lacks the row for %s", row)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(readme))
	var first []string
	for sc.Scan() && len(first) < 15 {
		first = append(first, sc.Text())
	}
	head := strings.Join(first, "\n")
	if !strings.Contains(head, "go run ./cmd/kios serve --demo") || !strings.Contains(head, "go test ./...") {
		t.Error("the README's first lines must give the run and test commands")
	}
}
