package rfb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testutil"
)

// Tests against real VNC software: TigerVNC's Xvnc and vncpasswd, and
// vncsnapshot. They skip when the programs are missing, except under CI.

// writePasswdFile writes an rfbauth file for pw atomically, as a driver must
// (Xvnc re-reads it on every connection).
func writePasswdFile(t *testing.T, path, pw string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, PasswdFile(pw), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// x11Free reports whether X display n looks unused: X servers keep their
// lock file and socket in /tmp whatever TMPDIR says.
func x11Free(n int) bool {
	for _, p := range []string{fmt.Sprintf("/tmp/.X%d-lock", n), fmt.Sprintf("/tmp/.X11-unix/X%d", n)} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// startXvnc starts Xvnc with VNC Authentication against authFile on a free
// display and port, and returns its address once it accepts connections.
// Its blacklist is off unless extra, appended to the command line (where
// a later parameter overrides an earlier one), turns it on. Cleanup stops
// it with SIGTERM, which removes its lock file and socket (SIGKILL would
// leave them), and waits for it.
func startXvnc(t *testing.T, authFile string, extra ...string) string {
	t.Helper()
	bin := testutil.Program(t, "Xvnc", "apt-get install tigervnc-standalone-server")
	base := 300 + os.Getpid()%500
	for attempt := range 20 {
		display := base + attempt*13
		if !x11Free(display) {
			continue
		}
		port := testutil.FreePort(t)
		var log bytes.Buffer
		args := append([]string{":" + strconv.Itoa(display),
			"-rfbport", strconv.Itoa(port), "-localhost", "-interface", "127.0.0.1",
			"-rfbauth", authFile, "-SecurityTypes", "VncAuth", "-UseBlacklist=0",
			"-geometry", "320x240", "-depth", "24", "-desktop", "xvnc-test"}, extra...)
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if waitListening(addr, exited) {
			t.Cleanup(func() {
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(30 * time.Second):
					cmd.Process.Kill()
					<-exited
					t.Errorf("Xvnc :%d ignored SIGTERM", display)
				}
			})
			return addr
		}
		<-exited
		t.Logf("Xvnc :%d did not start (another server may own it): %s", display, log.Bytes())
	}
	t.Fatal("could not start Xvnc on any display")
	return ""
}

// waitListening polls addr until it accepts a connection or the process
// exits. Each poll is a plain connect, which Xvnc does not count as a
// failed login.
func waitListening(addr string, exited <-chan struct{}) bool {
	for range 400 {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}

func loginTCP(ctx context.Context, t *testing.T, addr, pw string) (*ClientConn, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Login(ctx, conn, pw)
	if err != nil {
		conn.Close()
	}
	return c, err
}

func TestClientAgainstXvnc(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "passwd")
	writePasswdFile(t, auth, "Passw0rdA")
	addr := startXvnc(t, auth)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	c, err := loginTCP(ctx, t, addr, "Passw0rdA")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if c.Width() != 320 || c.Height() != 240 || c.Name() != "xvnc-test" {
		t.Fatalf("ServerInit = %dx%d %q", c.Width(), c.Height(), c.Name())
	}
	img, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if img.Bounds().Dx() != 320 || img.Bounds().Dy() != 240 {
		t.Fatalf("snapshot bounds %v", img.Bounds())
	}
	c.Close()

	_, err = loginTCP(ctx, t, addr, "WrongPw1")
	wantAuthFailed(t, "wrong password", err)
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Reason != "Authentication failure" {
		t.Fatalf("wrong password: %v, want Xvnc's reason %q", err, "Authentication failure")
	}

	if c, err := loginTCP(ctx, t, addr, "Passw0rdXYZ"); err != nil {
		t.Fatalf("9th and later characters should be ignored: %v", err)
	} else {
		c.Close()
	}

	writePasswdFile(t, auth, "N3wPassX")
	_, err = loginTCP(ctx, t, addr, "Passw0rdA")
	wantAuthFailed(t, "old password after rewriting the file", err)
	if c, err := loginTCP(ctx, t, addr, "N3wPassX"); err != nil {
		t.Fatalf("new password after rewriting the file: %v", err)
	} else {
		c.Close()
	}
}

// PasswdFile agrees with TigerVNC's own vncpasswd.
func TestPasswdFileAgainstVncpasswd(t *testing.T) {
	bin := testutil.Program(t, "vncpasswd", "apt-get install tigervnc-tools")
	for i, pw := range []string{"Ab1234", "Secret12", "Secret12345", "x", "pässwörd", "Tab\there"} {
		cmd := exec.CommandContext(t.Context(), bin, "-f")
		cmd.Stdin = bytes.NewReader([]byte(pw + "\n"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("vncpasswd -f, case %d: %v", i, err)
		}
		if !bytes.Equal(out, PasswdFile(pw)) {
			t.Errorf("case %d: PasswdFile = %x, vncpasswd wrote %x", i, PasswdFile(pw), out)
		}
	}
}
