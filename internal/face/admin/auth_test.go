package admin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/operator"
	"kios/internal/ratelimit"
	"kios/internal/server"
)

// endpoint is one request of an endpoint family, and which roles may make
// it. The body and path need not name anything that exists: an allowed
// role gets past the role check (any answer but 401 and 403), a refused one
// gets 403 before anything is read or changed.
type endpoint struct {
	family  string
	method  string
	path    string
	body    string
	allowed []operator.Role
}

var (
	all       = []operator.Role{operator.Admin, operator.Finance, operator.Catalog, operator.Viewer}
	readMoney = []operator.Role{operator.Admin, operator.Finance, operator.Viewer}
	money     = []operator.Role{operator.Admin, operator.Finance}
	onlyAdmin = []operator.Role{operator.Admin}
)

// roleMatrix is every endpoint family, read and change, with the roles
// that may use it. It grows with the API.
var roleMatrix = []endpoint{
	{"ledger", "GET", "/api/admin/ledger/verify", "", readMoney},
	{"audit", "GET", "/api/admin/audit", "", readMoney},
}

func TestRoleMatrix(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, ep := range roleMatrix {
			for _, role := range all {
				want := false
				for _, a := range ep.allowed {
					want = want || a == role
				}
				status, body := e.call(t, role, ep.method, ep.path, ep.body)
				got := status != http.StatusForbidden && status != http.StatusUnauthorized
				if got != want {
					t.Errorf("%s %s %s as %s: %d %s; want allowed=%v", ep.family, ep.method, ep.path, role, status, body, want)
				}
				if !want {
					er := decodeJSON[apiErr](t, body)
					if er.Error.Code != "forbidden" {
						t.Errorf("%s %s as %s: error code %q, want forbidden", ep.method, ep.path, role, er.Error.Code)
					}
				}
			}
		}
	})
}

func TestAuthentication(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		revoked, err := e.ops.IssueToken(ctx, e.opIDs[operator.Viewer], "revoked")
		if err != nil {
			t.Fatal(err)
		}
		toks, err := e.ops.Tokens(ctx, e.opIDs[operator.Viewer])
		if err != nil {
			t.Fatal(err)
		}
		if err := e.ops.RevokeToken(ctx, e.opIDs[operator.Viewer], toks[len(toks)-1].ID); err != nil {
			t.Fatal(err)
		}
		off, err := e.ops.Add(ctx, "op-off", operator.Admin, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		offTok, err := e.ops.IssueToken(ctx, off.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.ops.SetActive(ctx, off.ID, false); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			header string
			status int
		}{
			{"no header", "", 401},
			{"basic scheme", "Basic " + e.tokens[operator.Admin], 401},
			{"unknown token", "Bearer kop_0123456789012345678901234567890123456789", 401},
			{"not a token", "Bearer hello", 401},
			{"revoked token", "Bearer " + revoked, 401},
			{"operator switched off", "Bearer " + offTok, 401},
			{"valid", "Bearer " + e.tokens[operator.Admin], 200},
			{"scheme in lower case", "bearer " + e.tokens[operator.Admin], 200},
		} {
			h := map[string]string{}
			if tc.header != "" {
				h["Authorization"] = tc.header
			}
			status, body := e.raw(t, "GET", "/api/admin/ledger/verify", h, "")
			if status != tc.status {
				t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.status)
			}
			if status == 401 {
				if er := decodeJSON[apiErr](t, body); er.Error.Code != "unauthorized" || er.Error.Message == "" {
					t.Errorf("%s: error %+v, want code unauthorized with a message", tc.name, er)
				}
			}
		}
	})
}

func TestErrorShapes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, tc := range []struct {
			golden string
			role   operator.Role
			method string
			path   string
			status int
		}{
			{"error_unauthorized.json", "", "GET", "/api/admin/audit", 401},
			{"error_forbidden.json", operator.Catalog, "GET", "/api/admin/audit", 403},
			{"error_no_endpoint.json", operator.Admin, "GET", "/api/admin/nothing-here", 404},
			{"error_per_page.json", operator.Admin, "GET", "/api/admin/audit?per_page=1001", 400},
			{"error_page.json", operator.Admin, "GET", "/api/admin/audit?page=0", 400},
			{"error_from.json", operator.Admin, "GET", "/api/admin/audit?from=21-11-2026", 400},
		} {
			status, body := e.call(t, tc.role, tc.method, tc.path, "")
			if status != tc.status {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, status, tc.status)
			}
			golden(t, tc.golden, body)
		}
	})
}

func TestLedgerVerify(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		status, body := e.call(t, operator.Viewer, "GET", "/api/admin/ledger/verify", "")
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		v := decodeJSON[struct {
			OK         bool     `json:"ok"`
			Entries    int64    `json:"entries"`
			Violations []string `json:"violations"`
		}](t, body)
		if !v.OK || v.Entries != 1 || len(v.Violations) != 0 {
			t.Errorf("verify = %+v, want ok with the one funding entry", v)
		}
		// Break the ledger behind its back: the check must say so.
		if err := d.Write(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec("UPDATE accounts SET balance = balance + 1 WHERE id = ?", e.zorro.AccountID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, body = e.call(t, operator.Viewer, "GET", "/api/admin/ledger/verify", "")
		v2 := decodeJSON[struct {
			OK         bool     `json:"ok"`
			Violations []string `json:"violations"`
		}](t, body)
		if v2.OK || len(v2.Violations) != 2 {
			t.Errorf("after breaking a balance: %s; want not ok with 2 violations (balance vs postings, sum)", body)
		}
	})
}

func TestRateLimitPerToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		// A frozen clock: the bucket of 1 a second holds 3 and never refills.
		e.serve(t, func(deps *server.Deps) { deps.Limiter = ratelimit.New(1, 3, e.clock.Now) })
		for i := range 3 {
			if status, body := e.call(t, operator.Viewer, "GET", "/api/admin/stats", ""); status != 200 {
				t.Fatalf("request %d: %d %s", i+1, status, body)
			}
		}
		status, body := e.call(t, operator.Viewer, "GET", "/api/admin/stats", "")
		if er := decodeJSON[apiErr](t, body); status != 429 || er.Error.Code != "rate_limited" {
			t.Errorf("fourth request: %d %s", status, body)
		}
		// Another token has its own bucket.
		if status, body := e.call(t, operator.Admin, "GET", "/api/admin/stats", ""); status != 200 {
			t.Errorf("another token: %d %s", status, body)
		}
		// No token is 401, not 429: the limit is per token.
		if status, _ := e.call(t, "", "GET", "/api/admin/stats", ""); status != 401 {
			t.Errorf("no token: %d", status)
		}
		e.clock.Add(2 * time.Second)
		if status, body := e.call(t, operator.Viewer, "GET", "/api/admin/stats", ""); status != 200 {
			t.Errorf("after the bucket refilled: %d %s", status, body)
		}
	})
}
