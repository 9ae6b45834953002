package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/agent"
	"github.com/latchkey/latchkey/agent/agenttest"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// TestAgentCommand runs `latchkey agent` as a user would: it writes a
// token file, serves its API, runs a real Xvnc for a node, and on
// shutdown stops it and exits 0.
func TestAgentCommand(t *testing.T) {
	agenttest.RequireXvnc(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "agent.token")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := new(testutil.Buffer), new(testutil.Buffer)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"latchkey", "agent", "--listen", "127.0.0.1:0", "--token-file", tokenFile,
			"--state-dir", filepath.Join(dir, "state"), "--xvnc-arg=-UseBlacklist=0", "--xvnc-arg=-geometry", "--xvnc-arg=320x240",
			"--display-base", strconv.Itoa(6000 + os.Getpid()%1000)}, func(string) string { return "" }, out, errOut)
	}()
	var base *url.URL
	for base == nil {
		select {
		case err := <-done:
			t.Fatalf("latchkey agent exited: %v\n%s", err, errOut)
		case <-time.After(5 * time.Millisecond):
		}
		if _, rest, ok := strings.Cut(out.String(), "listening on "); ok {
			u, _, _ := strings.Cut(rest, " ")
			base, _ = url.Parse(u)
		}
	}

	fi, err := os.Stat(tokenFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(tokenFile)
	token := strings.TrimSpace(string(b))
	if len(token) < 32 {
		t.Fatalf("token of %d characters", len(token))
	}
	if resp, err := http.Get(base.JoinPath("healthz").String()); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	if resp, err := http.Get(base.JoinPath("v1", "nodes", "i-x").String()); err != nil || resp.StatusCode != 401 {
		t.Fatalf("without the token: %v %v", resp, err)
	}

	c := &agent.Client{BaseURL: base, Token: core.NewSecret(token)}
	port := testutil.FreePort(t)
	st, err := c.Start(ctx, "i-cmd", agent.StartRequest{Address: "127.0.0.1", Port: port, Auth: agent.AuthVNC, Password: agent.NewPassword(core.NewSecret("Abc123"))})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := rfbtest.Login(addr, "Abc123"); err != nil {
		t.Fatalf("login: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("latchkey agent after SIGTERM: %v", err)
	}
	if err := syscall.Kill(st.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("Xvnc pid %d still exists after the agent stopped", st.PID)
	}
	if err := rfbtest.Login(addr, "Abc123"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("after the agent stopped: %v, want connection refused", err)
	}
	if _, err := os.Lstat(filepath.Join("/tmp", ".X11-unix", "X"+strconv.Itoa(st.Display))); err == nil {
		t.Errorf("display :%d's socket is left behind", st.Display)
	}
	for _, s := range []string{token, "Abc123"} {
		if strings.Contains(out.String()+errOut.String(), s) {
			t.Error("the agent's output holds the token or a password")
		}
	}
}

func TestAgentCommandFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--state-dir", dir}, "--token-file"},
		{[]string{"--token-file", filepath.Join(dir, "t"), "--listen", "0.0.0.0:7450"}, "not a loopback address"},
		{[]string{"--token-file", filepath.Join(dir, "t"), "--tls-cert", "x.pem"}, "go together"},
		{[]string{"--token-file", filepath.Join(dir, "t"), "--vnc-interface", "login0"}, "--vnc-interface"},
	} {
		err := run(context.Background(), append([]string{"latchkey", "agent"}, c.args...), func(string) string { return "" }, io.Discard, io.Discard)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("agent %v: %v, want a usage error mentioning %s", c.args, err, c.want)
		}
	}
	var help testutil.Buffer
	if err := run(context.Background(), []string{"latchkey", "agent", "--help"}, func(string) string { return "" }, &help, io.Discard); err != nil || !strings.Contains(help.String(), "--token-file") {
		t.Errorf("agent --help: %v", err)
	}
}
