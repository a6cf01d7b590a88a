package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The binary is built once per test process.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a chainsts binary built from this checkout.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "chainsts-test-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "chainsts")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/chainsts")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// moduleRoot finds the directory holding go.mod above the working
// directory (a test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Process is a running `chainsts serve`.
type Process struct {
	// Public and Admin are the listeners' base URLs ("http://127.0.0.1:port");
	// Admin is "" when the admin listener is off.
	Public, Admin string
	// Config is the configuration path the process was started with.
	Config string

	t      testing.TB
	cmd    *exec.Cmd
	mu     sync.Mutex
	logs   []map[string]any
	exited chan struct{} // closed once the process has exited
	err    error         // the exit status, set before exited is closed
}

// Start runs `chainsts serve --config cfg args...` and returns once it
// serves. The configuration's listeners should be on port 0 and its log
// must be JSON at level info or below (or made so by args such as
// --log-format json). The process is killed when the test ends, and its log
// is shown if the test failed.
func Start(t testing.TB, cfg string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, Config: cfg, exited: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), append([]string{"serve", "--config", cfg}, args...)...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("chainsts log:\n%s", p.LogText())
		}
	})
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				line = map[string]any{"@message": sc.Text()}
			}
			p.mu.Lock()
			p.logs = append(p.logs, line)
			p.mu.Unlock()
			if line["@message"] == "serving" {
				admin := ""
				if a, ok := line["admin"]; ok {
					admin = fmt.Sprint(a)
				}
				select {
				case addrs <- [2]string{fmt.Sprint(line["listen"]), admin}:
				default: // only the first start matters
				}
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case a := <-addrs:
		p.Public = "http://" + a[0]
		if a[1] != "" {
			p.Admin = "http://" + a[1]
		}
	case <-p.exited:
		t.Fatalf("chainsts serve exited: %v", p.err)
	case <-time.After(30 * time.Second):
		t.Fatal("chainsts serve did not start")
	}
	return p
}

// Wait waits up to timeout for the process to exit and returns its exit
// status; the test fails if it is still running.
func (p *Process) Wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("chainsts serve still running after %v", timeout)
		return nil
	}
}

// WriteConfig replaces the configuration file's content.
func (p *Process) WriteConfig(cfg string) {
	p.t.Helper()
	if err := os.WriteFile(p.Config, []byte(cfg), 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// LogText is the log so far, one JSON object a line.
func (p *Process) LogText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.logs {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// LogCount is the number of log lines so far, a mark for WaitLog.
func (p *Process) LogCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.logs)
}

// WaitLog waits up to 20 s for a log line with the message among the lines
// after the first `after`.
func (p *Process) WaitLog(msg string, after int) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.logs[min(after, len(p.logs)):] {
			if l["@message"] == msg {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("no log line %q", msg)
}
