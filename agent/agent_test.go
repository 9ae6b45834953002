package agent_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/agent"
	"github.com/latchkey/latchkey/agent/agenttest"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// The passwords of these tests. Failure messages name them by role
// ("password A"), never by value.
const (
	pwA = "PassA123"
	pwB = "PassB456"
	pwC = "PassC789"
)

func vncStart(addr string, port int, pw string) agent.StartRequest {
	return agent.StartRequest{HostName: "login0", Address: addr, Port: port, CIDR: "0.0.0.0/0", Auth: agent.AuthVNC, Password: agent.NewPassword(core.NewSecret(pw))}
}

func vncPassword(pw string) agent.PasswordRequest {
	return agent.PasswordRequest{Auth: agent.AuthVNC, Password: agent.NewPassword(core.NewSecret(pw))}
}

// TestPasswordChangeWithoutRestart is the agent's core promise: a new
// password is live for the next connection, in the same Xvnc process,
// and an open session survives the change.
func TestPasswordChangeWithoutRestart(t *testing.T) {
	t.Parallel()
	logs := new(testutil.Buffer)
	env := agenttest.Start(t, agenttest.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	c := env.Client()
	ctx := testutil.Context(t, time.Minute)
	port := testutil.FreePort(t)
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String()

	st, err := c.Start(ctx, "i-node1", vncStart("127.0.0.1", port, pwA))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if !st.Running || st.PID == 0 || st.Display == 0 || st.Listen != addr || !st.Started || !st.PasswordSet || !st.CIDREnforced {
		t.Fatalf("status after start = %+v", st)
	}
	if err := rfbtest.Login(addr, pwA); err != nil {
		t.Fatalf("password A after start: %v", err)
	}
	if err := rfbtest.Login(addr, pwB); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("password B before it was set: %v, want an authentication failure", err)
	}

	// A session opened with A stays open across the change.
	held, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	session, err := rfb.Login(ctx, held, pwA)
	if err != nil {
		t.Fatalf("session with password A: %v", err)
	}

	st2, err := c.SetPassword(ctx, "i-node1", vncPassword(pwB))
	if err != nil {
		t.Fatalf("set password B: %v", err)
	}
	if st2.PID != st.PID || st2.Display != st.Display || !st2.Running {
		t.Fatalf("setting the password restarted Xvnc: pid %d → %d, display %d → %d", st.PID, st2.PID, st.Display, st2.Display)
	}
	if err := rfbtest.Login(addr, pwB); err != nil {
		t.Fatalf("password B after the change: %v", err)
	}
	if err := rfbtest.Login(addr, pwA); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("password A after the change: %v, want an authentication failure", err)
	}
	if img, err := session.Snapshot(ctx); err != nil || img.Bounds().Dx() != 320 {
		t.Errorf("the session opened before the change: snapshot = %v", err)
	}
	session.Close()

	// The rfbauth file is vncpasswd's format, mode 0600.
	auth := filepath.Join(env.Dir, "nodes", "i-node1", "passwd")
	b, err := os.ReadFile(auth)
	if err != nil || !bytes.Equal(b, rfb.PasswdFile(pwB)) {
		t.Errorf("rfbauth file does not hold password B in vncpasswd's format (%v)", err)
	}
	if fi, err := os.Stat(auth); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("rfbauth file mode: %v %v", fi.Mode(), err)
	}

	// Stop: SIGTERM, waited for; the port no longer answers.
	st3, err := c.Stop(ctx, "i-node1")
	if err != nil || st3.Running || st3.Started {
		t.Fatalf("stop = %+v, %v", st3, err)
	}
	if err := syscall.Kill(st.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("Xvnc pid %d after stop: kill 0 = %v, want ESRCH", st.PID, err)
	}
	if err := rfbtest.Login(addr, pwB); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("login after stop: %v, want connection refused", err)
	}
	if _, err := c.Stop(ctx, "i-node1"); err != nil {
		t.Errorf("stopping twice: %v", err)
	}

	// A password set while stopped is the one of the next start.
	if st, err := c.SetPassword(ctx, "i-node1", vncPassword(pwC)); err != nil || st.Running {
		t.Fatalf("set password C while stopped = %+v, %v", st, err)
	}
	st4, err := c.Status(ctx, "i-node1")
	if err != nil || st4.Running || st4.Started || !st4.PasswordSet {
		t.Fatalf("status while stopped = %+v, %v", st4, err)
	}
	if _, err := c.Start(ctx, "i-node1", vncStart("127.0.0.1", port, pwC)); err != nil {
		t.Fatalf("start again: %v", err)
	}
	if err := rfbtest.Login(addr, pwC); err != nil {
		t.Fatalf("password C after the restart: %v", err)
	}
	if err := rfbtest.Login(addr, pwB); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("password B after the restart: %v", err)
	}

	env.Close()
	checkNoSecrets(t, "the agent's log", logs.String())
	checkNoSecrets(t, "Xvnc's log", readFile(t, filepath.Join(env.Dir, "nodes", "i-node1", "xvnc.log")))
	checkNoSecrets(t, "state.json", readFile(t, filepath.Join(env.Dir, "nodes", "i-node1", "state.json")))
}

// TestReconfigure moves a running service to another port: Xvnc is
// restarted there, and the old port is closed.
func TestReconfigure(t *testing.T) {
	t.Parallel()
	env := agenttest.Start(t, agenttest.Options{})
	c := env.Client()
	ctx := testutil.Context(t, time.Minute)
	p1, p2 := testutil.FreePort(t), testutil.FreePort(t)
	st1, err := c.Start(ctx, "i-node2", vncStart("127.0.0.1", p1, pwA))
	if err != nil {
		t.Fatal(err)
	}
	// The same start again changes nothing.
	if st, err := c.Start(ctx, "i-node2", vncStart("127.0.0.1", p1, pwA)); err != nil || st.PID != st1.PID {
		t.Fatalf("repeated start: %+v, %v; want pid %d kept", st, err, st1.PID)
	}
	st2, err := c.Start(ctx, "i-node2", vncStart("127.0.0.1", p2, pwB))
	if err != nil {
		t.Fatal(err)
	}
	if st2.PID == st1.PID {
		t.Errorf("a new port kept pid %d", st1.PID)
	}
	if err := rfbtest.Login(net.JoinHostPort("127.0.0.1", itoa(p2)), pwB); err != nil {
		t.Errorf("new port, password B: %v", err)
	}
	if err := rfbtest.Login(net.JoinHostPort("127.0.0.1", itoa(p1)), pwB); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("old port: %v, want connection refused", err)
	}
}

// TestTwoNodesOneAgent runs two login nodes' services on one agent: each
// has its own display, port and password.
func TestTwoNodesOneAgent(t *testing.T) {
	t.Parallel()
	env := agenttest.Start(t, agenttest.Options{})
	c := env.Client()
	ctx := testutil.Context(t, time.Minute)
	p1, p2 := testutil.FreePort(t), testutil.FreePort(t)
	s1, err1 := c.Start(ctx, "i-a", vncStart("127.0.0.1", p1, pwA))
	s2, err2 := c.Start(ctx, "i-b", vncStart("127.0.0.1", p2, pwB))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if s1.Display == s2.Display {
		t.Fatalf("both nodes got display :%d", s1.Display)
	}
	if rfbtest.Login(net.JoinHostPort("127.0.0.1", itoa(p1)), pwA) != nil || rfbtest.Login(net.JoinHostPort("127.0.0.1", itoa(p2)), pwB) != nil {
		t.Error("a node does not take its own password")
	}
	if err := rfbtest.Login(net.JoinHostPort("127.0.0.1", itoa(p1)), pwB); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("node a took node b's password: %v", err)
	}
}

// TestRestore: a service that was started comes back, with its
// password, when the agent restarts.
func TestRestore(t *testing.T) {
	t.Parallel()
	env := agenttest.Start(t, agenttest.Options{})
	ctx := testutil.Context(t, time.Minute)
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(port))
	st, err := env.Client().Start(ctx, "i-node3", vncStart("127.0.0.1", port, pwA))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client().Start(ctx, "i-idle", vncStart("127.0.0.1", testutil.FreePort(t), pwB)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client().Stop(ctx, "i-idle"); err != nil {
		t.Fatal(err)
	}
	env.Close()
	if err := rfbtest.Login(addr, pwA); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after the agent closed: %v, want connection refused", err)
	}

	again := agenttest.StartIn(t, env.Dir, agenttest.Options{})
	if err := again.Agent.Restore(ctx); err != nil {
		t.Fatalf("restore: %v", err)
	}
	st2, err := again.Client().Status(ctx, "i-node3")
	if err != nil || !st2.Running || st2.PID == st.PID {
		t.Fatalf("restored status = %+v, %v", st2, err)
	}
	if err := rfbtest.Login(addr, pwA); err != nil {
		t.Fatalf("password A after the restore: %v", err)
	}
	if st, err := again.Client().Status(ctx, "i-idle"); err != nil || st.Running || st.Started {
		t.Errorf("a stopped service came back: %+v, %v", st, err)
	}
}

// TestToken: every route but /healthz needs the token; a wrong one gets
// 401 and the agent's answer carries nothing more.
func TestToken(t *testing.T) {
	t.Parallel()
	env := agenttest.Start(t, agenttest.Options{})
	for _, c := range []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/v1/nodes/i-x", "", 401},
		{"GET", "/v1/nodes/i-x", "Bearer wrong-token-0123456789abcdef", 401},
		{"GET", "/v1/nodes/i-x", "Basic " + agenttest.Token, 401},
		{"PUT", "/v1/nodes/i-x/password", "Bearer " + agenttest.Token[:len(agenttest.Token)-1], 401},
		{"DELETE", "/v1/nodes/i-x/service", "bearer " + agenttest.Token, 200},
		{"GET", "/v1/nodes/i-x", "Bearer " + agenttest.Token, 200},
		{"GET", "/nothing", "", 401},
		{"GET", "/nothing", "Bearer " + agenttest.Token, 404},
		{"GET", "/v1/nodes/..%2f..%2fetc", "Bearer " + agenttest.Token, 400},
	} {
		req, _ := http.NewRequest(c.method, env.URL.String()+c.path, strings.NewReader(`{}`))
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, resp.StatusCode, body, c.want)
		}
		if resp.StatusCode == 401 && (!strings.Contains(string(body), agent.CodeUnauthorized) || resp.Header.Get("WWW-Authenticate") == "") {
			t.Errorf("%s %s: 401 without its code or challenge: %s", c.method, c.path, body)
		}
	}
	wrong := env.Client()
	wrong.Token = core.NewSecret("wrong-token-0123456789abcdef")
	_, err := wrong.SetPassword(testutil.Context(t, time.Minute), "i-x", vncPassword(pwA))
	var ae *agent.Error
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Code != agent.CodeUnauthorized {
		t.Errorf("client with a wrong token: %v", err)
	}
	if _, err := os.Stat(filepath.Join(env.Dir, "nodes", "i-x", "passwd")); err == nil {
		t.Error("a refused call wrote a password file")
	}
}

// TestBadRequests: malformed requests change nothing and their errors
// never quote the password.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	env := agenttest.Start(t, agenttest.Options{})
	c := env.Client()
	ctx := testutil.Context(t, time.Minute)
	long := strings.Repeat("x", 129)
	for name, req := range map[string]agent.StartRequest{
		"empty password":  vncStart("127.0.0.1", 5999, ""),
		"long password":   vncStart("127.0.0.1", 5999, long),
		"newline":         vncStart("127.0.0.1", 5999, "Abc\n123"),
		"no address":      vncStart("", 5999, pwA),
		"port 0":          vncStart("127.0.0.1", 0, pwA),
		"auth":            {Address: "127.0.0.1", Port: 5999, Auth: "none", Password: agent.NewPassword(core.NewSecret(pwA))},
		"plain, no user":  {Address: "127.0.0.1", Port: 5999, Auth: agent.AuthPlain, Password: agent.NewPassword(core.NewSecret(pwA))},
		"plain, bad user": {Address: "127.0.0.1", Port: 5999, Auth: agent.AuthPlain, PlainUser: "-oops", Password: agent.NewPassword(core.NewSecret(pwA))},
		"cidr":            {Address: "127.0.0.1", Port: 5999, Auth: agent.AuthVNC, CIDR: "10.0.0.0/99", Password: agent.NewPassword(core.NewSecret(pwA))},
		"host name":       {Address: "127.0.0.1", Port: 5999, Auth: agent.AuthVNC, HostName: "a b", Password: agent.NewPassword(core.NewSecret(pwA))},
	} {
		_, err := c.Start(ctx, "i-bad", req)
		var ae *agent.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != agent.CodeBadRequest {
			t.Errorf("%s: %v, want 400 BadRequest", name, err)
			continue
		}
		if strings.Contains(err.Error(), pwA) || strings.Contains(err.Error(), long) {
			t.Errorf("%s: the error quotes the password", name)
		}
	}
	if _, err := c.Start(ctx, "bad/id", vncStart("127.0.0.1", 5999, pwA)); err == nil {
		t.Error("a node id with a slash was accepted")
	}
	if _, err := os.Stat(filepath.Join(env.Dir, "nodes", "i-bad")); err == nil {
		t.Error("a refused request created the node")
	}
}

// TestExecFailures: a start that cannot run Xvnc names the command, and
// never the password.
func TestExecFailures(t *testing.T) {
	t.Parallel()
	ctx := testutil.Context(t, time.Minute)

	bad := agenttest.Start(t, agenttest.Options{Xvnc: "/nonexistent/Xvnc"})
	_, err := bad.Client().Start(ctx, "i-node4", vncStart("127.0.0.1", testutil.FreePort(t), pwA))
	var ae *agent.Error
	if !errors.As(err, &ae) || ae.Code != agent.CodeExecFailed || !strings.HasPrefix(ae.Command, "Xvnc") || !strings.Contains(ae.Message, "/nonexistent/Xvnc") {
		t.Fatalf("start with a missing Xvnc: %v, want ExecFailed naming Xvnc", err)
	}
	if strings.Contains(err.Error(), pwA) {
		t.Error("the error quotes the password")
	}
	if st, _ := bad.Client().Status(ctx, "i-node4"); st.Running || st.Started {
		t.Errorf("status after a failed start: %+v", st)
	}

	// A port that is taken: Xvnc itself fails, and says why.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	env := agenttest.Start(t, agenttest.Options{})
	_, err = env.Client().Start(ctx, "i-node5", vncStart("127.0.0.1", port, pwA))
	if !errors.As(err, &ae) || ae.Code != agent.CodeExecFailed || !strings.Contains(ae.Command, "-rfbport "+itoa(port)) || !strings.Contains(ae.Message, "in use") {
		t.Fatalf("start on a taken port: %v, want ExecFailed naming Xvnc and the port", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkNoSecrets fails when text holds a test password or the token.
func checkNoSecrets(t *testing.T, what, text string) {
	t.Helper()
	for name, s := range map[string]string{"password A": pwA, "password B": pwB, "password C": pwC, "the token": agenttest.Token} {
		if strings.Contains(text, s) {
			t.Errorf("%s holds %s", what, name)
		}
	}
}

// hostFiles digests the host's account files, which Plain must never
// change.
func hostFiles(t *testing.T) [sha256.Size]byte {
	t.Helper()
	var all []byte
	for _, f := range []string{"/etc/passwd", "/etc/shadow", "/etc/group"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return sha256.Sum256(all)
}

// TestPasswordNeverPrints: a request that reaches fmt, JSON logging or
// slog by mistake shows no password; the wire form carries it.
func TestPasswordNeverPrints(t *testing.T) {
	req := vncStart("127.0.0.1", 5999, pwA)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("req", "req", req, "pw", req.Password, "set", vncPassword(pwA))
	slog.New(slog.NewTextHandler(&buf, nil)).Info("req", "req", req, "set", vncPassword(pwA))
	for _, s := range []string{fmt.Sprint(req), fmt.Sprintf("%+v", req), fmt.Sprintf("%#v", req), buf.String()} {
		if strings.Contains(s, pwA) {
			t.Errorf("a formatted request shows the password")
		}
	}
	b, err := json.Marshal(req)
	var back agent.StartRequest
	if err != nil || json.Unmarshal(b, &back) != nil || back.Password.Secret().Reveal() != pwA {
		t.Errorf("the password does not survive the wire (%v)", err)
	}
}
