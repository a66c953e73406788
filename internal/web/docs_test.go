package web_test

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"kios/internal/db"
	"kios/internal/dbtest"
	"kios/internal/member"
	"kios/internal/operator"
)

var (
	apiRouteRE = regexp.MustCompile(`mux\.Handle\("(GET|POST|PUT|PATCH|DELETE) (/api/[^"]+)"`)
	curlRE     = regexp.MustCompile(`(?s)<code class="curl">(.*?)</code>`)
)

// docsCall returns the article of route on the docs page, or "".
func docsCall(page, route string) string {
	for _, a := range strings.Split(page, `<article class="call"`)[1:] {
		if strings.Contains(a, `<code class="route">`+route+`</code>`) {
			return a
		}
	}
	return ""
}

// TestDocsCoverEveryRoute: every API route in internal/server/routes.go,
// and every operation of /openapi.json when the server has one, is on
// /docs with a curl and a PHP example; the page has the error and rc
// tables, both webhook checks, and the idempotency rules, in both
// languages.
func TestDocsCoverEveryRoute(t *testing.T) {
	src, err := os.ReadFile("../server/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range apiRouteRE.FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1]+" "+m[2])
	}
	if len(routes) < 40 {
		t.Fatalf("only %d API routes found in routes.go: is the pattern still right?", len(routes))
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		b := s.browser()
		r := b.get("/docs")
		if r.status != 200 {
			t.Fatalf("/docs: %d", r.status)
		}
		check := func(route, from string) {
			a := docsCall(r.body, route)
			if a == "" {
				t.Errorf("%s (%s) is not on /docs", route, from)
				return
			}
			method, _, _ := strings.Cut(route, " ")
			if !strings.Contains(a, `<code class="curl">curl -sS -X `+method+" ") || !strings.Contains(a, `<code class="php">&lt;?php`) ||
				!strings.Contains(a, `CURLOPT_CUSTOMREQUEST =&gt; &#39;`+method+`&#39;`) {
				t.Errorf("%s lacks its curl or PHP example", route)
			}
		}
		for _, route := range routes {
			check(route, "routes.go")
		}
		// Checked against the OpenAPI document, which the server serves.
		if o := b.get("/openapi.json"); o.status != 200 {
			t.Fatalf("/openapi.json: %d", o.status)
		} else {
			var doc struct {
				Paths map[string]map[string]json.RawMessage `json:"paths"`
			}
			if err := json.Unmarshal([]byte(o.body), &doc); err != nil {
				t.Fatalf("/openapi.json: %v", err)
			}
			for path, ops := range doc.Paths {
				if !strings.HasPrefix(path, "/api/") {
					continue // operations and supplier endpoints are not calls of the four faces
				}
				for method := range ops {
					if m := strings.ToUpper(method); m == "GET" || m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE" {
						check(m+" "+path, "openapi.json")
					}
				}
			}
		}
		for _, want := range []string{`id="rc"`, "<td>000</td>", "<td>068</td>", "<td>094</td>", "invalid_signature",
			"insufficient_balance", "too_many_items", `id="verify-php"`, "hash_hmac('sha256', $body, $secret)",
			`id="verify-go"`, "func VerifyStandard", `id="idempotency"`, "Idempotent-Replayed: true", "Dokumentasi API"} {
			if !strings.Contains(r.body, want) {
				t.Errorf("/docs lacks %q", want)
			}
		}
		if en := b.get("/docs?lang=en"); !strings.Contains(en.body, "API reference") || !strings.Contains(en.body, "Idempotency rules") {
			t.Error("the English docs")
		}
	})
}

// TestDocsCurlExamplesWork runs the page's own curl examples of three
// faces against the server with a real API key, secret and operator token:
// their headers authenticate.
func TestDocsCurlExamplesWork(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		// With CI or PostgreSQL set, the PostgreSQL half must run.
		if os.Getenv("CI") == "" && os.Getenv("KIOS_TEST_POSTGRES_URL") == "" {
			t.Skip("curl is absent")
		}
		t.Fatalf("curl is absent but CI or KIOS_TEST_POSTGRES_URL is set: %v", err)
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newSite(t, d, siteOptions{})
		ctx := context.Background()
		is, err := s.members.CreateCredential(ctx, member.NewCredential{MemberID: s.member.ID})
		if err != nil {
			t.Fatal(err)
		}
		ops := operator.NewStore(d, s.clock.Now)
		op, err := ops.Add(ctx, "doc", operator.Admin, testPassword)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := ops.IssueToken(ctx, op.ID, "docs")
		if err != nil {
			t.Fatal(err)
		}
		page := s.browser().get("/docs").body
		cases := []struct {
			route, want string
		}{
			{"POST /api/prepaid/transaction/balance", `"balance":200000`},
			{"GET /api/v1/merchant/ppob/products", `"success":true`},
			{"GET /api/admin/members", `"username":"budi"`},
		}
		for _, c := range cases {
			m := curlRE.FindStringSubmatch(docsCall(page, c.route))
			if m == nil {
				t.Fatalf("no curl example for %s", c.route)
			}
			cmd := strings.Replace(html.UnescapeString(m[1]), "http://kios.test", s.srv.URL, 1)
			sh := exec.Command("sh", "-c", cmd)
			sh.Env = append(os.Environ(), "API_KEY="+is.APIKey, "SECRET_KEY="+is.SecretKey, "OPERATOR_TOKEN="+tok)
			out, err := sh.CombinedOutput()
			if err != nil || !strings.Contains(string(out), c.want) {
				t.Errorf("%s: %v\n%s\n→ %s", c.route, err, cmd, out)
			}
		}
	})
}
