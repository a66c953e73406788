package dbtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// KillChild is the parent's half of a crash test: it runs this test binary
// again as a child that runs only test, with env added to its environment,
// reads the lines the child prints on stdout (each an acknowledgement of a
// write it saw committed, printed with one write(2)), and kills the child
// with SIGKILL as soon as after lines have arrived, while its writers are
// busy. It returns every line the child printed before it died, and fails t
// unless the child died of that SIGKILL. The child exits by itself when its
// stdin closes, so it never outlives the parent.
func KillChild(t *testing.T, test string, env []string, after int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() { once.Do(func() { cmd.Process.Signal(syscall.SIGKILL) }) }
	// A safety net, not an assertion: a child that hangs is killed, and
	// the check below then fails.
	guard := time.AfterFunc(2*time.Minute, kill)
	defer guard.Stop()
	var lines []string
	br := bufio.NewReader(stdout)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break // EOF after the kill; a line cut short was never a whole acknowledgement
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
		if len(lines) == after {
			kill()
		}
	}
	werr := cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL || len(lines) < after {
		t.Fatalf("%s: the child ended with %v after %d lines, not by our SIGKILL after %d\nstderr:\n%s",
			test, werr, len(lines), after, stderr.String())
	}
	return lines
}
