package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"kios/internal/dbtest"
)

// serveChildEnv carries, as JSON, the arguments of `kios serve` to the
// child process (this test binary again, running TestServeChildProcess).
const serveChildEnv = "KIOS_SERVE_CHILD_ARGS"

// TestServeChildProcess is not a test: it is `kios serve` in a child
// process, for tests that must kill kios for real or run two of it. It
// serves until its stdin closes (so that it never outlives the test) or it
// is killed.
func TestServeChildProcess(t *testing.T) {
	raw := os.Getenv(serveChildEnv)
	if raw == "" {
		t.Skip("runs only as a child process")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	if err := run(ctx, append([]string{"kios", "serve"}, args...), noEnv, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// child is a `kios serve` running in a child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string
	done  chan struct{}
}

// startChild starts `kios serve --addr 127.0.0.1:0 args…` in a child
// process, waits until it answers /healthz, and stops it (gracefully) when
// the test ends unless it was killed before.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	raw, _ := json.Marshal(append([]string{"--addr", "127.0.0.1:0"}, args...))
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChildProcess$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+string(raw))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.stop)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.After(60 * time.Second)
	for c.base == "" {
		select {
		case line := <-lines:
			if m := re.FindStringSubmatch(line); m != nil {
				c.base = m[1]
			}
		case <-c.done:
			t.Fatal("the child serve ended before listening")
		case <-deadline:
			t.Fatal("the child serve did not start")
		}
	}
	waitHealthy(t, c.base)
	return c
}

// kill ends the child with SIGKILL: no shutdown, no deferred work.
func (c *child) kill(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	if ws, _ := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended with %v, not SIGKILL", c.cmd.ProcessState)
	}
}

// stop closes the child's stdin, which shuts it down gracefully, and waits.
func (c *child) stop() {
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
	}
}

// receiver is a webhook receiver on a fixed loopback port whose answers a
// test decides, recording every request.
type receiver struct {
	srv *http.Server
	url string

	mu     sync.Mutex
	answer func(id string, n int) int // HTTP status for the nth request (from 1) with webhook-id id
	seen   map[string]int
	got    []received
	notify chan struct{}
}

type received struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hook", seen: map[string]int{}, notify: make(chan struct{}, 1),
		answer: func(string, int) int { return 200 }}
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(ln)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.seen[id]++
	status := r.answer(id, r.seen[id])
	r.got = append(r.got, received{req.Header.Clone(), body, status})
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
	if status == 200 {
		w.Write([]byte(`{"status":200,"message":"Webhook berhasil diproses"}`))
	}
}

func (r *receiver) setAnswer(f func(id string, n int) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = f
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// waitFor waits until cond holds for the requests received, or fails after
// timeout.
func (r *receiver) waitFor(t *testing.T, timeout time.Duration, what string, cond func([]received) bool) []received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := r.requests(); cond(got) {
			return got
		}
		select {
		case <-r.notify:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; %d requests received", what, len(r.requests()))
		}
	}
}

// databaseDSN returns a fresh database for target: the SQLite file in dir,
// or a new PostgreSQL schema (skipping when PostgreSQL is not configured).
func databaseDSN(t *testing.T, target, dir string) (dsn string, args []string) {
	t.Helper()
	if target == "sqlite" {
		return dir + "/kios.db", nil
	}
	dsn = dbtest.DSN(t, target)
	if dsn == "" {
		t.Skip("KIOS_TEST_POSTGRES_URL is not set")
	}
	return dsn, []string{"--database", dsn}
}
