// Package agenttest runs a latchkey agent in-process for tests, over a
// real Xvnc, and checks afterwards that every Xvnc it started is gone and
// left no X11 lock file or socket behind (vnc-backends.md §10).
package agenttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/agent"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
)

// RequireXvnc returns Xvnc's path. Without Xvnc the test is skipped,
// unless the environment variable CI is set: then it fails, so that CI
// cannot pass without running the real thing (testutil.Program).
func RequireXvnc(t testing.TB) string {
	t.Helper()
	return testutil.Program(t, "Xvnc", "apt-get install tigervnc-standalone-server")
}

// RequireRoot skips a test that needs root (VeNCrypt Plain's mount
// namespace), unless CI is set: then it fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.Missing(t, "VeNCrypt Plain needs root (a private mount namespace)")
	}
}

// Token is the bearer token of every test agent.
const Token = "test-agent-token-0123456789abcdef"

// Options change an Env's agent.
type Options struct {
	// Xvnc overrides the Xvnc binary (a bad path makes starts fail).
	Xvnc string
	// Log receives the agent's log; nil discards it.
	Log *slog.Logger
}

// Env is an agent serving HTTP on a loopback port.
type Env struct {
	Agent *agent.Agent
	URL   *url.URL
	Dir   string

	srv  *httptest.Server
	once sync.Once

	mu   sync.Mutex
	seen map[int]int // display → PID of every Xvnc the agent reported
}

// Start runs an agent whose Xvnc runs without the blacklist (tests try
// wrong passwords on purpose, vnc-backends.md §2) on a small screen, from
// a random display base so that parallel test packages rarely meet. The
// test's cleanup closes it and fails the test if an Xvnc or its X11
// files remain.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	return StartIn(t, t.TempDir(), opts)
}

// StartIn is Start over an existing state directory, as a restarted
// agent.
func StartIn(t testing.TB, dir string, opts Options) *Env {
	t.Helper()
	xvnc := opts.Xvnc
	if xvnc == "" {
		xvnc = RequireXvnc(t)
	}
	e := &Env{Dir: dir, seen: make(map[int]int)}
	a, err := agent.New(agent.Config{
		StateDir:    e.Dir,
		Token:       core.NewSecret(Token),
		Xvnc:        xvnc,
		ExtraArgs:   []string{"-UseBlacklist=0", "-geometry", "320x240"},
		DisplayBase: 100 + rand.IntN(5000),
		Log:         opts.Log,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Agent = a
	e.srv = httptest.NewServer(e.record(a.Handler()))
	e.URL, _ = url.Parse(e.srv.URL)
	t.Cleanup(func() {
		e.Close()
		e.checkGone(t)
	})
	return e
}

// Client returns a client of the agent with the right token.
func (e *Env) Client() *agent.Client {
	return &agent.Client{BaseURL: e.URL, Token: core.NewSecret(Token)}
}

// Close stops the HTTP server (the agent no longer answers) and the
// agent (every Xvnc gets SIGTERM and is waited for). It may be called
// more than once.
func (e *Env) Close() {
	e.once.Do(func() {
		e.srv.Close()
		e.Agent.Close()
	})
}

// record notes the display and PID of every Status the agent answers.
func (e *Env) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		var st agent.Status
		if json.Unmarshal(rec.body.Bytes(), &st) == nil && st.Display > 0 {
			e.mu.Lock()
			e.seen[st.Display] = st.PID
			e.mu.Unlock()
		}
	})
}

type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// checkGone fails t if a process the agent reported still exists, or a
// display it used still has a lock file or socket.
func (e *Env) checkGone(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for display, pid := range e.seen {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("Xvnc (pid %d, display :%d) is still running after the agent closed", pid, display)
		}
		for _, f := range []string{
			filepath.Join("/tmp", fmt.Sprintf(".X%d-lock", display)),
			filepath.Join("/tmp", ".X11-unix", fmt.Sprintf("X%d", display)),
		} {
			if _, err := os.Lstat(f); err == nil {
				t.Errorf("%s is left behind", f)
			}
		}
	}
}

// Displays returns how many Xvnc runs the agent reported.
func (e *Env) Displays() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seen)
}
