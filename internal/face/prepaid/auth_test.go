package prepaid_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/httpx"
	"kios/internal/ledger"
	"kios/internal/member"
	"kios/internal/password"
	"kios/internal/ratelimit"
	"kios/internal/server"
)

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

// fixture is a running server on loopback over a real database, with one
// member "zorro" (reseller, Rp 500.000).
type fixture struct {
	d       *db.DB
	members *member.Store
	srv     *httptest.Server
	logs    *syncBuffer
	zorro   member.Member
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{d: d, members: member.NewStore(d, time.Now), logs: &syncBuffer{}}
	logger := slog.New(httpx.LogHandler{Handler: slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	var err error
	f.zorro, err = f.members.Add(ctx, member.NewMember{Username: "zorro", Level: "reseller", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Write(ctx, func(tx *db.Tx) error {
		now := time.Now()
		if err := ledger.EnsureSystem(tx, now); err != nil {
			return err
		}
		adj, err := ledger.AccountByCode(tx, ledger.Adjust)
		if err != nil {
			return err
		}
		_, err = ledger.Transfer(tx, "adjustment", "TEST", adj.ID, f.zorro.AccountID, 500_000, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(server.New(server.Deps{
		Logger: logger, DB: d, Members: f.members,
		Limiter: ratelimit.New(1000, 1000, time.Now), Metrics: server.NewMetrics(), Now: time.Now,
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) credential(t *testing.T, nc member.NewCredential) member.Issued {
	t.Helper()
	nc.MemberID = f.zorro.ID
	is, err := f.members.CreateCredential(context.Background(), nc)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// call sends a request the way the reference's PHP client does, with
// CURLOPT_FAILONERROR off: the body is read whatever the status.
func (f *fixture) call(t *testing.T, method, path string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
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

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String()
}

func sign(secret, body string, t int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.%s", t, body)
	return fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(m.Sum(nil)))
}

const balancePath = "/api/prepaid/transaction/balance"

func TestBalanceMatchesReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.credential(t, member.NewCredential{})
		status, body := f.call(t, "POST", balancePath, map[string]string{
			"Authorization": "Bearer " + c.APIKey, "Signature": c.SecretKey}, "[]")
		if status != 200 || body != golden(t, "balance_success.json") {
			t.Fatalf("balance: %d %s\nwant the reference example byte for byte: %s", status, body, golden(t, "balance_success.json"))
		}
		// The signed form, and an empty body, give the same answer.
		status, body = f.call(t, "POST", balancePath, map[string]string{
			"Authorization": "Bearer " + c.APIKey, "Signature": sign(c.SecretKey, "", time.Now().Unix())}, "")
		if status != 200 || body != golden(t, "balance_success.json") {
			t.Fatalf("balance, signed form: %d %s", status, body)
		}
	})
}

// TestAuthenticationFailures sends each kind of bad request and compares the
// whole answer with the golden body; afterwards the captured log must hold
// no key or secret.
func TestAuthenticationFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		good := f.credential(t, member.NewCredential{})
		other := f.credential(t, member.NewCredential{})
		signedOnly := f.credential(t, member.NewCredential{SignedOnly: true})
		fenced := f.credential(t, member.NewCredential{AllowIPs: []string{"10.1.2.3", "192.168.0.0/16"}})
		open := f.credential(t, member.NewCredential{AllowIPs: []string{"127.0.0.1"}})
		revoked := f.credential(t, member.NewCredential{})
		if err := f.members.RevokeCredential(ctx, f.zorro.ID, revoked.ID); err != nil {
			t.Fatal(err)
		}
		limited := f.credential(t, member.NewCredential{RatePerSec: 1, RateBurst: 2})
		now := time.Now().Unix()

		cases := []struct {
			name   string
			header map[string]string
			body   string
			status int
			golden string
		}{
			{"no authorization", map[string]string{"Signature": good.SecretKey}, "[]", 400, "error_invalid_api_key.json"},
			{"not bearer", map[string]string{"Authorization": "Basic " + good.APIKey, "Signature": good.SecretKey}, "[]", 400, "error_invalid_api_key.json"},
			{"wrong key", map[string]string{"Authorization": "Bearer " + strings.Repeat("x", 40), "Signature": good.SecretKey}, "[]", 400, "error_invalid_api_key.json"},
			{"revoked", map[string]string{"Authorization": "Bearer " + revoked.APIKey, "Signature": revoked.SecretKey}, "[]", 400, "error_invalid_api_key.json"},
			{"no signature", map[string]string{"Authorization": "Bearer " + good.APIKey}, "[]", 400, "error_invalid_signature.json"},
			{"wrong secret", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": other.SecretKey}, "[]", 400, "error_invalid_signature.json"},
			{"bad hmac", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": sign(other.SecretKey, "[]", now)}, "[]", 400, "error_invalid_signature.json"},
			{"hmac of another body", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": sign(good.SecretKey, "{}", now)}, "[]", 400, "error_invalid_signature.json"},
			{"stale hmac", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": sign(good.SecretKey, "[]", now-301)}, "[]", 400, "error_invalid_signature.json"},
			{"future hmac", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": sign(good.SecretKey, "[]", now+301)}, "[]", 400, "error_invalid_signature.json"},
			{"malformed signature", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": "t=abc,v1=zz"}, "[]", 400, "error_invalid_signature.json"},
			{"plain secret on signed-only", map[string]string{"Authorization": "Bearer " + signedOnly.APIKey, "Signature": signedOnly.SecretKey}, "[]", 400, "error_invalid_signature.json"},
			{"ip not allowed", map[string]string{"Authorization": "Bearer " + fenced.APIKey, "Signature": fenced.SecretKey}, "[]", 400, "error_access_denied.json"},
			{"malformed json", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": good.SecretKey}, "[oops", 400, "error_malformed_json.json"},
			{"unknown endpoint", map[string]string{"Authorization": "Bearer " + good.APIKey}, "", 404, "error_not_found.json"},
		}
		for _, c := range cases {
			path := balancePath
			if c.name == "unknown endpoint" {
				path = "/api/prepaid/nope"
			}
			status, body := f.call(t, "POST", path, c.header, c.body)
			if status != c.status || body != golden(t, c.golden) {
				t.Errorf("%s: %d %s\nwant %d %s", c.name, status, body, c.status, golden(t, c.golden))
			}
		}

		// Successes that must not be refused.
		okCases := []struct {
			name   string
			header map[string]string
		}{
			{"signed-only with hmac", map[string]string{"Authorization": "Bearer " + signedOnly.APIKey, "Signature": sign(signedOnly.SecretKey, "[]", now)}},
			{"hmac 299 s old", map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": sign(good.SecretKey, "[]", now-299)}},
			{"allow-listed ip", map[string]string{"Authorization": "Bearer " + open.APIKey, "Signature": open.SecretKey}},
		}
		for _, c := range okCases {
			if status, body := f.call(t, "POST", balancePath, c.header, "[]"); status != 200 {
				t.Errorf("%s: %d %s, want 200", c.name, status, body)
			}
		}

		// Member switched off: no access, even with a good key.
		if err := f.members.SetAPIAccess(ctx, f.zorro.ID, false); err != nil {
			t.Fatal(err)
		}
		status, body := f.call(t, "POST", balancePath, map[string]string{"Authorization": "Bearer " + good.APIKey, "Signature": good.SecretKey}, "[]")
		if status != 400 || body != golden(t, "error_access_denied.json") {
			t.Errorf("API access off: %d %s", status, body)
		}
		if err := f.members.SetAPIAccess(ctx, f.zorro.ID, true); err != nil {
			t.Fatal(err)
		}

		// Rate limit: a burst of 2, then 429 with the face's body.
		var codes []int
		var last string
		for range 4 {
			status, body := f.call(t, "POST", balancePath, map[string]string{"Authorization": "Bearer " + limited.APIKey, "Signature": limited.SecretKey}, "[]")
			codes = append(codes, status)
			last = body
		}
		if codes[0] != 200 || codes[1] != 200 || codes[3] != 429 || last != golden(t, "error_rate_limited.json") {
			t.Errorf("rate limit: statuses %v, last body %s", codes, last)
		}

		logs := f.logs.String()
		if !strings.Contains(logs, balancePath) {
			t.Fatal("the log captured nothing: the check below would prove nothing")
		}
		for _, c := range []member.Issued{good, other, signedOnly, fenced, open, revoked, limited} {
			for _, s := range []string{c.APIKey, c.SecretKey} {
				if strings.Contains(logs, s) {
					t.Fatalf("a key or secret reached the log")
				}
			}
		}
	})
}

func TestBodyLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		c := f.credential(t, member.NewCredential{})
		big := "[" + strings.Repeat(`"x",`, httpx.MaxBody/4) + `"x"]`
		status, body := f.call(t, "POST", balancePath, map[string]string{"Authorization": "Bearer " + c.APIKey, "Signature": c.SecretKey}, big)
		if status != 400 || !strings.Contains(body, `"error":"invalid_body"`) {
			t.Fatalf("oversized body: %d %s", status, body)
		}
	})
}
