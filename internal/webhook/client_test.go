package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is a loopback test server that counts the requests it
// receives and answers with handler (204 when nil).
func countingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if handler != nil {
			handler(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// recordDials wraps c's transport so every address it dials is recorded,
// before the safe dialer's own check.
func recordDials(c *Client) func() []string {
	tr := c.hc.Transport.(*http.Transport)
	inner := tr.DialContext
	var mu sync.Mutex
	var dials []string
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials = append(dials, addr)
		mu.Unlock()
		return inner(ctx, network, addr)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), dials...)
	}
}

func TestClientRefusesPrivate(t *testing.T) {
	srv, hits := countingServer(t, nil)
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	// A real server on ::1 when the host has IPv6; the port is refused
	// before connecting either way.
	port6 := port
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		srv6 := httptest.NewUnstartedServer(srv.Config.Handler)
		srv6.Listener.Close()
		srv6.Listener = ln
		srv6.Start()
		t.Cleanup(srv6.Close)
		port6 = ln.Addr().(*net.TCPAddr).Port
	}

	urls := []string{
		fmt.Sprintf("http://127.0.0.1:%d/hook", port),
		"http://10.0.0.1/",
		"http://169.254.169.254/latest/meta-data",
		fmt.Sprintf("http://[::1]:%d/", port6),
		fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port),
		fmt.Sprintf("http://localhost:%d/", port),
		fmt.Sprintf("https://localhost:%d/", port),
		"http://0.0.0.0:1/",
	}
	c := NewClient(ClientOptions{Timeout: 5 * time.Second})
	for _, u := range urls {
		start := time.Now()
		resp, err := c.Post(context.Background(), u, nil, []byte(`{}`))
		var be *BlockedAddressError
		if !errors.As(err, &be) {
			if strings.Contains(u, "[::1]") && err != nil && strings.Contains(err.Error(), "address family not supported") {
				t.Logf("%s: %v (no IPv6 here)", u, err)
				continue
			}
			t.Errorf("Post(%s) error = %v, want *BlockedAddressError", u, err)
			continue
		}
		if resp.StatusCode != 0 {
			t.Errorf("Post(%s) status = %d, want 0", u, resp.StatusCode)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Post(%s) took %v: refusal should be immediate", u, d)
		}
		t.Logf("%s: %v", u, err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("loopback server received %d requests, want 0", n)
	}
}

func TestClientAllowPrivate(t *testing.T) {
	type got struct {
		method, path, ctype, sig, body string
	}
	ch := make(chan got, 1)
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- got{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Webhook-Signature"), string(b)}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"status":200}`)
	})
	c := NewClient(ClientOptions{AllowPrivate: true})
	h := http.Header{}
	h.Set("Webhook-Signature", "v1,abc")
	resp, err := c.Post(context.Background(), srv.URL+"/hook", h, []byte(`{"event":"test"}`))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if resp.StatusCode != http.StatusOK || string(resp.Body) != `{"status":200}` || resp.Truncated || resp.Latency <= 0 {
		t.Errorf("Post = %+v", resp)
	}
	g := <-ch
	want := got{"POST", "/hook", "application/json", "v1,abc", `{"event":"test"}`}
	if g != want {
		t.Errorf("server got %+v, want %+v", g, want)
	}
}

func TestClientTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()

	// Normal verification: the test server's certificate is not trusted.
	c := NewClient(ClientOptions{AllowPrivate: true})
	if _, err := c.Post(context.Background(), srv.URL, nil, nil); err == nil {
		t.Error("Post to an untrusted certificate succeeded")
	}

	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig
	c = NewClient(ClientOptions{AllowPrivate: true, TLSConfig: tlsConfig})
	resp, err := c.Post(context.Background(), srv.URL, nil, nil)
	if err != nil || resp.StatusCode != 200 || string(resp.Body) != "ok" {
		t.Errorf("Post = %+v, %v", resp, err)
	}
}

func TestClientRedirectNotFollowed(t *testing.T) {
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/", http.StatusFound)
	})
	c := NewClient(ClientOptions{AllowPrivate: true, Timeout: 2 * time.Second})
	dials := recordDials(c)
	resp, err := c.Post(context.Background(), srv.URL, nil, []byte(`{}`))
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status = %d, want 302", resp.StatusCode)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("server hits = %d, want 1", n)
	}
	d := dials()
	if len(d) != 1 || d[0] != srv.Listener.Addr().String() {
		t.Errorf("dials = %v, want only %s", d, srv.Listener.Addr())
	}
}

func TestClientRedirectRefusedWithoutFlag(t *testing.T) {
	// Without the flag even the first hop to loopback is refused, so a
	// redirect to a private address can never be reached.
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.0.0.1/", http.StatusFound)
	})
	c := NewClient(ClientOptions{})
	_, err := c.Post(context.Background(), srv.URL, nil, nil)
	var be *BlockedAddressError
	if !errors.As(err, &be) {
		t.Errorf("Post error = %v, want *BlockedAddressError", err)
	}
	if hits.Load() != 0 {
		t.Error("server was reached")
	}
}

var schemeTests = []string{
	"ftp://127.0.0.1/x",
	"file:///etc/passwd",
	"gopher://127.0.0.1:70/_",
	"ws://example.com/",
	"javascript:alert(1)",
	"//example.com/",
	"example.com/hook",
}

func TestClientScheme(t *testing.T) {
	c := NewClient(ClientOptions{AllowPrivate: true})
	dials := recordDials(c)
	for _, u := range schemeTests {
		_, err := c.Post(context.Background(), u, nil, nil)
		if !errors.Is(err, ErrUnsupportedScheme) {
			t.Errorf("Post(%q) error = %v, want ErrUnsupportedScheme", u, err)
		}
	}
	for _, u := range []string{"http://", "https:///path", "http://[::1"} {
		_, err := c.Post(context.Background(), u, nil, nil)
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Post(%q) error = %v, want ErrInvalidURL", u, err)
		}
	}
	if d := dials(); len(d) != 0 {
		t.Errorf("dials = %v, want none", d)
	}
	for _, u := range []string{"HTTP://example.com/", "https://example.com:8443/hook?x=1"} {
		if _, err := ValidateURL(u); err != nil {
			t.Errorf("ValidateURL(%q) = %v, want nil", u, err)
		}
	}
}

func TestClientTimeout(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c := NewClient(ClientOptions{AllowPrivate: true, Timeout: 200 * time.Millisecond})
	start := time.Now()
	resp, err := c.Post(context.Background(), srv.URL, nil, nil)
	elapsed := time.Since(start)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Post error = %v, want a timeout", err)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Post took %v, want about 200ms", elapsed)
	}
	if resp.StatusCode != 0 || resp.Latency < 150*time.Millisecond {
		t.Errorf("resp = %+v", resp)
	}
}

func TestClientTimeoutDuringBody(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	c := NewClient(ClientOptions{AllowPrivate: true, Timeout: 200 * time.Millisecond})
	resp, err := c.Post(context.Background(), srv.URL, nil, nil)
	if err == nil {
		t.Fatalf("Post = %+v, nil; want a timeout", resp)
	}
	if resp.StatusCode != 200 || string(resp.Body) != "partial" {
		t.Errorf("resp = %+v", resp)
	}
}

func TestClientBoundedBody(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16) // 5 MiB
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Write(big)
	})
	c := NewClient(ClientOptions{AllowPrivate: true})
	start := time.Now()
	resp, err := c.Post(context.Background(), srv.URL, nil, nil)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Post took %v", d)
	}
	if len(resp.Body) != DefaultKeepBody || !bytes.Equal(resp.Body, big[:DefaultKeepBody]) || !resp.Truncated {
		t.Errorf("resp: %d bytes kept, truncated=%v; want the first %d, truncated", len(resp.Body), resp.Truncated, DefaultKeepBody)
	}

	// Exactly KeepBody bytes: nothing more, not truncated.
	srv2, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(big[:DefaultKeepBody])
	})
	resp, err = c.Post(context.Background(), srv2.URL, nil, nil)
	if err != nil || len(resp.Body) != DefaultKeepBody || resp.Truncated {
		t.Errorf("exact body: %d bytes, truncated=%v, %v", len(resp.Body), resp.Truncated, err)
	}
}

func TestClientProxyIgnored(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://10.0.0.1:3128")
	t.Setenv("HTTPS_PROXY", "http://10.0.0.1:3128")
	srv, hits := countingServer(t, nil)
	c := NewClient(ClientOptions{AllowPrivate: true, Timeout: 2 * time.Second})
	dials := recordDials(c)
	if _, err := c.Post(context.Background(), srv.URL, nil, nil); err != nil {
		t.Fatalf("Post: %v", err)
	}
	if hits.Load() != 1 {
		t.Error("server not reached directly")
	}
	if d := dials(); len(d) != 1 || d[0] != srv.Listener.Addr().String() {
		t.Errorf("dials = %v", d)
	}
}

// TestClientUserAgent: deliveries carry the configured User-Agent, or the
// default one.
func TestClientUserAgent(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"", "kios-webhook/1"},
		{UserAgent("0a1b2c3d"), "kios-webhook/1 (0a1b2c3d)"},
	} {
		ch := make(chan string, 1)
		srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
			ch <- r.Header.Get("User-Agent")
		})
		c := NewClient(ClientOptions{AllowPrivate: true, UserAgent: tc.set})
		if _, err := c.Post(context.Background(), srv.URL, nil, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if got := <-ch; got != tc.want {
			t.Errorf("User-Agent %q, want %q", got, tc.want)
		}
	}
}
