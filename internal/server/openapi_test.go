package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"kios/internal/server"
)

// pages are the path prefixes of routes for people (HTML pages and their
// assets), which the OpenAPI document leaves out.
var pages = []string{"/member", "/admin", "/docs", "/trx/", "/pay.php", "/static/", "/qr/", "/images/"}

// isPage reports whether path is a page for people; /api/admin is not.
func isPage(path string) bool {
	for _, p := range pages {
		if path == strings.TrimSuffix(p, "/") || strings.HasPrefix(path, p) {
			return !strings.HasPrefix(path, "/api/")
		}
	}
	return false
}

// routePattern finds the patterns registered in routes.go.
var routePattern = regexp.MustCompile(`mux\.Handle\("([^"]+)"`)

// paramPattern finds a path's {parameters}.
var paramPattern = regexp.MustCompile(`\{[^}]*\}`)

// route is a method and a path whose parameters are all written {}.
type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

func normalize(method, path string) route {
	return route{strings.ToUpper(method), paramPattern.ReplaceAllString(path, "{}")}
}

// registeredRoutes reads routes.go: every pattern with a method, but the
// catch-alls (a path ending in '/') and the pages for people. It also
// returns each route as written, for the messages.
func registeredRoutes(t *testing.T) map[route]string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[route]string{}
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		method, path, ok := strings.Cut(m[1], " ")
		if !ok || strings.HasSuffix(path, "/") || isPage(path) {
			continue // a catch-all without a method, a subtree, or a page
		}
		out[normalize(method, path)] = m[1]
	}
	if len(out) < 50 {
		t.Fatalf("found only %d API routes in routes.go: has its shape changed? (this test looks for mux.Handle(\"METHOD /path\", …))", len(out))
	}
	return out
}

// document is the part of an OpenAPI document the test reads.
type document struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type operation struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	Responses map[string]json.RawMessage `json:"responses"`
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func readDocument(t *testing.T) (document, map[route]string) {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	ops := map[route]string{}
	for path, item := range doc.Paths {
		for method := range item {
			if slices.Contains(methods, method) {
				ops[normalize(method, path)] = strings.ToUpper(method) + " " + path
			}
		}
	}
	return doc, ops
}

// TestOpenAPICoversRoutes checks that every API route of routes.go is
// described in openapi.json and that every operation there has a route.
// Parameter names may differ. Pages for people are left out (see pages).
func TestOpenAPICoversRoutes(t *testing.T) {
	routes := registeredRoutes(t)
	doc, ops := readDocument(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi is %q, want 3.1.x", doc.OpenAPI)
	}
	var missing, extra []string
	for r, written := range routes {
		if _, ok := ops[r]; !ok {
			missing = append(missing, written)
		}
	}
	for r, written := range ops {
		if _, ok := routes[r]; !ok {
			extra = append(extra, written)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, m := range missing {
		method, path, _ := strings.Cut(m, " ")
		t.Errorf("route %q of routes.go is not in internal/server/openapi.json: add an operation %q under paths[%q] (or, for a page for people, a prefix to pages in this test)",
			m, strings.ToLower(method), path)
	}
	for _, e := range extra {
		t.Errorf("openapi.json describes %q, which routes.go does not register: remove it or add the route", e)
	}
}

// TestOpenAPIOperations checks each operation: a unique operationId, a
// declared path parameter for each {name} of its path, and responses.
func TestOpenAPIOperations(t *testing.T) {
	doc, _ := readDocument(t)
	ids := map[string]string{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains(methods, method) {
				continue
			}
			where := strings.ToUpper(method) + " " + path
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s and %s share operationId %q", where, other, op.OperationID)
			}
			ids[op.OperationID] = where
			if _, ok := op.Responses["200"]; !ok {
				t.Errorf("%s has no 200 response", where)
			}
			for _, p := range paramPattern.FindAllString(path, -1) {
				name := strings.Trim(p, "{}")
				declared := slices.ContainsFunc(op.Parameters, func(q struct {
					Name     string `json:"name"`
					In       string `json:"in"`
					Required bool   `json:"required"`
				}) bool {
					return q.Name == name && q.In == "path" && q.Required
				})
				if !declared {
					t.Errorf("%s does not declare its path parameter %q (in: path, required: true)", where, name)
				}
			}
		}
	}
}

// TestOpenAPIServed checks that GET /openapi.json answers the document.
func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer(server.New(server.Deps{Logger: slog.New(slog.DiscardHandler), Metrics: server.NewMetrics(), Now: time.Now}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !bytes.Equal(got, want) {
		t.Errorf("GET /openapi.json: %d %s, %d bytes; want the file's %d", resp.StatusCode, resp.Header.Get("Content-Type"), len(got), len(want))
	}
}
