package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"sync"
	"time"

	"kios/internal/db"
	"kios/internal/ledger"
	"kios/internal/member"
)

// benchOptions are the load generator's knobs.
type benchOptions struct {
	members    int
	clients    int
	duration   time.Duration
	product    string
	settle     time.Duration
	cpuprofile string
	ppob       bool // drive the PPOB face's e-wallet transaction instead
	partnerRef bool // send a fresh partner_reference with every prepaid order
}

// benchCmd is the load generator: it runs a kios (the same wiring as kios
// serve) on loopback with the demo catalog, creates and funds members,
// drives POST /api/prepaid/transaction/create over HTTP from concurrent
// clients for a while, waits until every order has settled, verifies the
// ledger and prints what it measured.
func benchCmd(ctx context.Context, args []string, e env) error {
	var o benchOptions
	cfg, err := parseFlags("bench", "Load-test kios: run it on loopback with the demo catalog and drive transaction/create over HTTP.\nWithout --data-dir or --database it uses a fresh SQLite database in a temporary directory.", args, e, false, func(fs *flag.FlagSet) {
		fs.IntVar(&o.members, "members", 64, "members to create and fund")
		fs.IntVar(&o.clients, "clients", 64, "concurrent HTTP clients")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send orders")
		fs.StringVar(&o.product, "product", "MLBB-BJ-V3-ALLMLBB_ID_5", "product code to order (from the demo catalog)")
		fs.DurationVar(&o.settle, "settle-timeout", 5*time.Minute, "how long to wait for the orders to settle")
		fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run (server and clients) to this file")
		fs.BoolVar(&o.partnerRef, "partner-reference", false, "send a fresh partner_reference with every prepaid order, as resellers' systems do")
		fs.BoolVar(&o.ppob, "ppob", false, "drive POST /api/v1/merchant/ppob/ewallet/transaction (GOPAY unless --product is given), each answer waiting for the supplier")
	})
	if err != nil {
		return err
	}
	if o.ppob && !flagGiven(args, "product") {
		o.product = "GOPAY"
	}
	if o.members < 1 || o.clients < 1 || o.duration <= 0 {
		return errors.New("bench: --members, --clients and --duration must be positive")
	}
	// The demo writes demo.json and the key file into the data directory:
	// a temporary one unless asked, also on PostgreSQL.
	if !flagGiven(args, "data-dir") {
		dir, err := os.MkdirTemp("", "kios-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	var app string
	cfg.DatabaseURL, app = benchAppName(cfg.DatabaseURL)
	cfg.Addr = "127.0.0.1:0"
	cfg.Demo = true
	cfg.RatePerSec, cfg.RateBurst = 1e9, 1<<30
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.LogLevel == "debug" {
		logger = newLogger(cfg, e.stderr)
	}
	a, err := start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.stop(time.Minute)

	creds, err := benchMembers(ctx, a, o.members)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "kios bench: %s on %s, %d members, %d clients, %s\n", o.product, a.db.Dialect(), o.members, o.clients, o.duration)

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	before := sampleCPU(ctx, a.db, app)
	res := drive(ctx, a.addr, creds, o)
	settleStart := time.Now()
	if err := waitSettled(ctx, a, o.settle); err != nil {
		return err
	}
	settle := time.Since(settleStart)
	cpu := sampleCPU(ctx, a.db, app).since(before)
	r, err := ledger.Verify(ctx, a.db)
	if err != nil {
		return err
	}
	res.print(e.stdout, settle)
	cpu.print(e.stdout, len(res.latencies))
	fmt.Fprintf(e.stdout, "ledger: %d entries, %s\n", r.Entries, map[bool]string{true: "Verify OK", false: "VIOLATIONS"}[r.OK()])
	if !r.OK() {
		return fmt.Errorf("bench: ledger violations:\n%s", r)
	}
	if res.errors() > 0 {
		return fmt.Errorf("bench: %d requests failed", res.errors())
	}
	return nil
}

func flagGiven(args []string, name string) bool {
	for _, a := range args {
		if a == "--"+name || a == "-"+name || bytes.HasPrefix([]byte(a), []byte("--"+name+"=")) || bytes.HasPrefix([]byte(a), []byte("-"+name+"=")) {
			return true
		}
	}
	return false
}

type benchCred struct{ key, secret string }

// benchMembers creates (or reuses) members bench-1…n at level reseller,
// funds each with enough for any run, and gives each a fresh credential.
func benchMembers(ctx context.Context, a *app, n int) ([]benchCred, error) {
	const funding = 1_000_000_000_000
	out := make([]benchCred, n)
	for i := range n {
		name := fmt.Sprintf("bench-%d", i+1)
		m, err := a.members.ByUsername(ctx, name)
		if err != nil {
			if m, err = a.members.Add(ctx, member.NewMember{Username: name, Level: "reseller", Password: "bench-password"}); err != nil {
				return nil, err
			}
		}
		if err := a.db.Write(ctx, func(tx *db.Tx) error {
			adj, err := ledger.AccountByCode(tx, ledger.Adjust)
			if err != nil {
				return err
			}
			_, err = ledger.Transfer(tx, "adjustment", "BENCH", adj.ID, m.AccountID, funding, time.Now())
			return err
		}); err != nil {
			return nil, err
		}
		is, err := a.members.CreateCredential(ctx, member.NewCredential{MemberID: m.ID})
		if err != nil {
			return nil, err
		}
		out[i] = benchCred{is.APIKey, is.SecretKey}
	}
	return out, nil
}

// benchResult is what the clients saw.
type benchResult struct {
	elapsed   time.Duration
	latencies []time.Duration // of accepted orders
	failures  map[string]int  // by kios error code, HTTP status or transport error
}

func (r benchResult) errors() int {
	n := 0
	for _, c := range r.failures {
		n += c
	}
	return n
}

func (r benchResult) print(w io.Writer, settle time.Duration) {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(float64(len(r.latencies))*p))]
	}
	fmt.Fprintf(w, "accepted: %d orders in %s = %.0f orders/s\n", len(r.latencies), r.elapsed.Round(time.Millisecond),
		float64(len(r.latencies))/r.elapsed.Seconds())
	fmt.Fprintf(w, "latency: p50 %s  p95 %s  p99 %s  max %s\n", pct(.50).Round(10*time.Microsecond),
		pct(.95).Round(10*time.Microsecond), pct(.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond))
	keys := make([]string, 0, len(r.failures))
	for k := range r.failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "errors: %d", r.errors())
	for _, k := range keys {
		fmt.Fprintf(w, "  %s=%d", k, r.failures[k])
	}
	fmt.Fprintf(w, "\nsettled: every order in %s after the last request\n", settle.Round(time.Millisecond))
}

// drive runs the clients until the duration is over.
func drive(ctx context.Context, base string, creds []benchCred, o benchOptions) benchResult {
	tr := &http.Transport{MaxIdleConns: o.clients * 2, MaxIdleConnsPerHost: o.clients * 2, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body := []byte(fmt.Sprintf(`{"target_product_code":%q,"id":"1122334455","server":"1234"}`, o.product))
	var mu sync.Mutex
	res := benchResult{failures: map[string]int{}}
	var wg sync.WaitGroup
	begin := time.Now()
	stop := begin.Add(o.duration)
	for c := range o.clients {
		cred := creds[c%len(creds)]
		wg.Go(func() {
			var lat []time.Duration
			fails := map[string]int{}
			for time.Now().Before(stop) && ctx.Err() == nil {
				t0 := time.Now()
				var kind string
				if o.ppob {
					kind = postTopup(client, base, cred, o.product, fmt.Sprintf("B%d-%d", c, len(lat)+len(fails)))
				} else if o.partnerRef {
					kind = postOrder(client, base, cred, fmt.Appendf(nil,
						`{"target_product_code":%q,"id":"1122334455","server":"1234","partner_reference":"B%d-%d-%d"}`,
						o.product, begin.UnixNano(), c, len(lat)+len(fails)))
				} else {
					kind = postOrder(client, base, cred, body)
				}
				if kind == "" {
					lat = append(lat, time.Since(t0))
				} else {
					fails[kind]++
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			for k, v := range fails {
				res.failures[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(begin)
	return res
}

// postOrder sends one order as a reference PHP client would and returns ""
// when it was accepted, else the kind of failure.
func postOrder(client *http.Client, base string, cred benchCred, body []byte) string {
	req, _ := http.NewRequest("POST", base+"/api/prepaid/transaction/create", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cred.key)
	req.Header.Set("Signature", cred.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "transport"
	}
	defer resp.Body.Close()
	var out struct {
		Status int    `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Sprintf("http_%d", resp.StatusCode)
	}
	if out.Status != 200 {
		if out.Error != "" {
			return out.Error
		}
		return fmt.Sprintf("http_%d", resp.StatusCode)
	}
	return ""
}

// waitSettled waits until the fulfilment queue is empty and no order is
// processing.
func waitSettled(ctx context.Context, a *app, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var n int64
		if err := a.db.QueryRow(ctx, "SELECT COUNT(*) FROM orders WHERE status = 'processing'").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d orders still processing after %s", n, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
