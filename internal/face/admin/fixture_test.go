package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"kios/internal/incoming"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/catalog"
	"kios/internal/db"
	"kios/internal/funding"
	"kios/internal/httpx"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/operator"
	"kios/internal/order"
	"kios/internal/password"
	"kios/internal/payment"
	"kios/internal/ratelimit"
	"kios/internal/server"
	"kios/internal/supplier"
	"kios/internal/webhook"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current answers")

func TestMain(m *testing.M) {
	password.Cost = 4 // bcrypt.MinCost: the tests are about the API, not the hash
	os.Exit(m.Run())
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is kios's whole HTTP handler on loopback over a real database, with
// one operator per role (their tokens in tokens), a member "zorro"
// (reseller, Rp 500.000) and the demo banks.
type env struct {
	d       *db.DB
	clock   *clock
	srv     *httptest.Server
	logs    *syncBuffer
	members *member.Store
	ops     *operator.Store
	funds   *funding.Service
	orders  *order.Service
	hooks   *webhook.Service
	cat     *catalog.Store
	zorro   member.Member
	tokens  map[operator.Role]string
	opIDs   map[operator.Role]int64
	stores  *payment.Stores
	deps    server.Deps
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{d: d, clock: &clock{t: time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)}, logs: &syncBuffer{},
		tokens: map[operator.Role]string{}, opIDs: map[operator.Role]int64{}}
	now := e.clock.Now
	logger := slog.New(httpx.LogHandler{Handler: slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	e.members = member.NewStore(d, now)
	e.ops = operator.NewStore(d, now)
	e.funds = funding.New(d, funding.Options{Now: now, PickCode: func(free []int64) int64 { return free[0] }, Logger: logger})
	if err := e.funds.Prepare(ctx, funding.DemoBanks()); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewStore(d, now)
	e.cat = cat
	e.orders = order.NewService(d, cat, supplier.Set{}, now, logger, order.Config{StuckAfter: time.Hour})
	keys, err := webhook.NewKeyring(make([]byte, webhook.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	e.hooks = webhook.NewService(d, keys, now, logger, webhook.ClientOptions{})
	for _, role := range operator.Roles {
		op, err := e.ops.Add(ctx, "op-"+string(role), role, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := e.ops.IssueToken(ctx, op.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[role], e.opIDs[role] = tok, op.ID
	}
	e.zorro = e.member(t, "zorro", "", 500_000)
	e.stores = payment.NewStores(d, now)
	payments, err := payment.New(d, e.stores, payment.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	e.deps = server.Deps{
		Logger: logger, DB: d, Members: e.members,
		Limiter: ratelimit.New(1000, 1000, now), Metrics: server.NewMetrics(), Now: now,
		Catalog: cat, Funding: e.funds, Orders: e.orders, Operators: e.ops, Webhooks: e.hooks,
		Stores: e.stores, Payments: payments, Incoming: incoming.New(d, payments, e.funds, now, nil),
	}
	e.serve(t, nil)
	return e
}

// serve (re)starts the server on e.deps, changed first by change when it
// is not nil.
func (e *env) serve(t testing.TB, change func(*server.Deps)) {
	t.Helper()
	if e.srv != nil {
		e.srv.Close()
	}
	if change != nil {
		change(&e.deps)
	}
	e.srv = httptest.NewServer(server.New(e.deps))
	t.Cleanup(e.srv.Close)
}

// member adds a reseller with a balance, credited from system:adjust.
func (e *env) member(t testing.TB, username, upline string, balance int64) member.Member {
	t.Helper()
	ctx := context.Background()
	m, err := e.members.Add(ctx, member.NewMember{Username: username, Level: "reseller", Upline: upline, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if balance == 0 {
		return m
	}
	if err := e.d.Write(ctx, func(tx *db.Tx) error {
		now := e.clock.Now()
		if err := ledger.EnsureSystem(tx, now); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		_, err = ledger.Transfer(tx, "adjustment", "TEST", adj.ID, m.AccountID, balance, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// call sends a request as the operator of role ("" for none) and returns
// the status and the body.
func (e *env) call(t testing.TB, role operator.Role, method, path, body string) (int, string) {
	t.Helper()
	h := map[string]string{}
	if role != "" {
		h["Authorization"] = "Bearer " + e.tokens[role]
	}
	return e.raw(t, method, path, h, body)
}

func (e *env) raw(t testing.TB, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// decodeJSON decodes an answer or fails the test.
func decodeJSON[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("answer is not the expected JSON: %v\n%s", err, body)
	}
	return v
}

// apiErr is the error shape.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// golden compares got (JSON) with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(got), "", "  "); err != nil {
		t.Fatalf("%s: answer is not JSON: %v\n%s", name, err, got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if pretty.String() != string(want) {
		t.Errorf("%s differs from the answer:\n got: %s\nwant: %s", name, pretty.String(), want)
	}
}

// auditCount returns how many audit rows match action and target.
func (e *env) auditCount(t *testing.T, action, target string) int {
	t.Helper()
	var n int
	if err := e.d.QueryRow(context.Background(), "SELECT COUNT(*) FROM audit_log WHERE action = ? AND target = ?",
		action, target).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// verify fails the test unless the ledger passes every check.
func (e *env) verify(t *testing.T) {
	t.Helper()
	rep, err := ledger.Verify(context.Background(), e.d)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("ledger: %s", rep)
	}
}

// balance returns a member's balance.
func (e *env) balance(t *testing.T, m member.Member) int64 {
	t.Helper()
	b, err := e.members.Balance(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
