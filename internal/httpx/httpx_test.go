package httpx

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var clientIPCases = []struct {
	name, remote, xff, want string
}{
	{"direct", "203.0.113.7:5555", "", "203.0.113.7"},
	{"direct ignores XFF", "203.0.113.7:5555", "1.2.3.4", "203.0.113.7"},
	{"trusted proxy", "10.0.0.2:80", "198.51.100.9", "198.51.100.9"},
	{"chain of proxies", "10.0.0.2:80", "198.51.100.9, 10.0.0.3", "198.51.100.9"},
	{"spoofed left part", "10.0.0.2:80", "6.6.6.6, 198.51.100.9", "198.51.100.9"},
	{"ipv4-mapped", "[::ffff:203.0.113.7]:1", "", "203.0.113.7"},
	{"garbage XFF", "10.0.0.2:80", "nope", "10.0.0.2"},
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range clientIPCases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientIP(r, trusted); got.String() != c.want {
			t.Errorf("%s: ClientIP = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestMiddlewareRequestIDLogsAndRecovers(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(LogHandler{slog.NewTextHandler(&logs, nil)})
	var observed []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "inside")
		w.Write([]byte("fine"))
	})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("kaput") })
	h := Middleware(logger, func(route string, status int, d time.Duration) {
		observed = append(observed, route)
	}, mux)

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/ok?api_key=SECRETVALUE", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	h.ServeHTTP(rec, req)
	if rec.Header().Get("X-Request-Id") != "abc-123" {
		t.Fatalf("request id not echoed: %q", rec.Header().Get("X-Request-Id"))
	}
	if n := strings.Count(logs.String(), "request_id=abc-123"); n != 2 {
		t.Fatalf("want the handler's line and the access line to carry the id, got %d:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "SECRETVALUE") {
		t.Fatal("the query string reached the log")
	}

	rec = httptest.NewRecorder()
	req = httptest.NewRequest("GET", "/boom", nil)
	req.Header.Set("X-Request-Id", "bad id\nwith newline")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"status":500`) {
		t.Fatalf("panic answered %d %q", rec.Code, rec.Body.String())
	}
	if id := rec.Header().Get("X-Request-Id"); len(id) != 16 {
		t.Fatalf("an unsafe caller id must be replaced, got %q", id)
	}
	if len(observed) != 2 || observed[0] != "GET /ok" || observed[1] != "GET /boom" {
		t.Fatalf("observed routes %v", observed)
	}
	if RequestID(context.Background()) != "" {
		t.Fatal("empty context has a request id")
	}
}

func TestReadBodyLimit(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", MaxBody+1)))
	if _, err := ReadBody(rec, r); err != ErrBodyTooLarge {
		t.Fatalf("oversized body: %v", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", MaxBody)))
	if b, err := ReadBody(rec, r); err != nil || len(b) != MaxBody {
		t.Fatalf("body at the limit: %d bytes, %v", len(b), err)
	}
}

func TestWriteJSONDoesNotEscapeHTML(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteJSON(rec, 200, map[string]string{"note": "a<b & c>d"})
	if got := rec.Body.String(); got != `{"note":"a<b & c>d"}` {
		t.Fatalf("body %q", got)
	}
}
