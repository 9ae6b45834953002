package agent_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/agent"
	"github.com/latchkey/latchkey/agent/agenttest"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// TestPlainFullLength: under VeNCrypt Plain every character of the
// password counts, through real PAM, the password and even the user
// change without restarting Xvnc, and the host's account files never
// change.
func TestPlainFullLength(t *testing.T) {
	agenttest.RequireRoot(t)
	t.Parallel()
	const (
		full1 = "Visual#Pass-2024-full"
		full2 = "Second#Pass-2024-xyz9"
	)
	before := hostFiles(t)
	env := agenttest.Start(t, agenttest.Options{})
	c := env.Client()
	ctx := testutil.Context(t, time.Minute)
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", itoa(port))

	st, err := c.Start(ctx, "i-plain", agent.StartRequest{
		HostName: "login0", Address: "127.0.0.1", Port: port, Auth: agent.AuthPlain, PlainUser: "hpcuser01",
		Password: agent.NewPassword(core.NewSecret(full1)),
	})
	if err != nil {
		t.Fatalf("start in Plain mode: %v", err)
	}
	for _, c := range []struct {
		what     string
		user, pw string
		ok       bool
	}{
		{"the whole first password", "hpcuser01", full1, true},
		{"the first password less its last character", "hpcuser01", full1[:len(full1)-1], false},
		{"the first password's first 8 characters and another tail", "hpcuser01", full1[:8] + "-other-tail", false},
		{"the first password for root", "root", full1, false},
		{"the first password for an unknown user", "nobody99", full1, false},
	} {
		err := rfbtest.LoginPlain(addr, c.user, c.pw)
		if c.ok && err != nil || !c.ok && !errors.Is(err, rfb.ErrAuthFailed) {
			t.Errorf("Plain login with %s: %v (want ok=%v)", c.what, err, c.ok)
		}
	}
	// Classic clients still log in with VNC Authentication, on the first
	// 8 characters: the documented trade-off.
	if err := rfbtest.Login(addr, full1[:8]+"zz"); err != nil {
		t.Errorf("VNC Authentication with the first password's first 8 characters: %v", err)
	}

	st2, err := c.SetPassword(ctx, "i-plain", agent.PasswordRequest{Auth: agent.AuthPlain, PlainUser: "alice.b1", Password: agent.NewPassword(core.NewSecret(full2))})
	if err != nil {
		t.Fatalf("set the second password for another user: %v", err)
	}
	if st2.PID != st.PID {
		t.Fatalf("a Plain password change restarted Xvnc: pid %d → %d", st.PID, st2.PID)
	}
	for _, c := range []struct {
		what     string
		user, pw string
		ok       bool
	}{
		{"the second password", "alice.b1", full2, true},
		{"the second password for the former user", "hpcuser01", full2, false},
		{"the first password", "hpcuser01", full1, false},
		{"the first password for the new user", "alice.b1", full1, false},
	} {
		err := rfbtest.LoginPlain(addr, c.user, c.pw)
		if c.ok && err != nil || !c.ok && !errors.Is(err, rfb.ErrAuthFailed) {
			t.Errorf("Plain login with %s: %v (want ok=%v)", c.what, err, c.ok)
		}
	}

	shadow := readFile(t, filepath.Join(env.Dir, "nodes", "i-plain", "plain", "etc", "shadow"))
	rootLocked := strings.HasPrefix(shadow, "root:!:") || strings.Contains(shadow, "\nroot:!:")
	if strings.Contains(shadow, full1) || strings.Contains(shadow, full2) || !strings.Contains(shadow, "alice.b1:$6$") || !rootLocked || strings.Contains(shadow, "hpcuser01:$") {
		t.Error("the private shadow file is not: the current user's hash, every other account locked")
	}
	if mounts := readFile(t, "/proc/self/mountinfo"); strings.Contains(mounts, env.Dir) {
		t.Error("the private /etc is mounted outside Xvnc's namespace")
	}

	// Back to VNC Authentication only: Xvnc restarts without Plain, and
	// the private database is gone.
	st3, err := c.SetPassword(ctx, "i-plain", vncPassword(pwA))
	if err != nil || st3.PID == st.PID || st3.Auth != agent.AuthVNC {
		t.Fatalf("switch to VNC Authentication: %+v, %v", st3, err)
	}
	if err := rfbtest.LoginPlain(addr, "alice.b1", full2); !errors.Is(err, rfb.ErrRefused) {
		t.Errorf("Plain after the switch: %v, want refused", err)
	}
	if err := rfbtest.Login(addr, pwA); err != nil {
		t.Errorf("VNC Authentication after the switch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(env.Dir, "nodes", "i-plain", "plain")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the private account database outlived Plain mode: %v", err)
	}

	env.Close()
	if hostFiles(t) != before {
		t.Fatal("the host's /etc/passwd, /etc/shadow or /etc/group changed")
	}
}
