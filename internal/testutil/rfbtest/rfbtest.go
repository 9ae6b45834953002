// Package rfbtest logs in to RFB (VNC) servers for tests: console
// bridges, visual services, QEMU and Xvnc. It is apart from testutil
// because it imports console/rfb, whose own tests therefore cannot use it.
package rfbtest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/rfb"
)

// The helpers' time limits. They are hang guards that turn a server that
// never answers into an error; no assertion may depend on them.
const (
	DialTimeout  = 5 * time.Second
	LoginTimeout = 10 * time.Second
)

// Login dials addr over TCP, logs in with VNC Authentication and pw (of
// which the server compares only the first 8 bytes), and hangs up. It
// returns nil when the server accepted pw, an error matching
// rfb.ErrAuthFailed when it refused it, the dial's error when nothing
// answers at addr (one matching syscall.ECONNREFUSED when nothing
// listens), and any other error when the handshake failed. It never
// fails a test itself, and the errors it returns do not hold pw.
func Login(addr, pw string) error {
	conn, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), LoginTimeout)
	defer cancel()
	return LoginConn(ctx, conn, pw)
}

// LoginFrom is Login over a connection from the local address from, as
// a client inside or outside a service's allowed CIDR range would make
// it; the zero from lets the system choose, as Login does.
func LoginFrom(addr string, from netip.Addr, pw string) error {
	d := net.Dialer{Timeout: DialTimeout}
	if from.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: from.AsSlice()}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), LoginTimeout)
	defer cancel()
	return LoginConn(ctx, conn, pw)
}

// LoginPlain is Login with VeNCrypt Plain: the server checks user and the
// whole of pw.
func LoginPlain(addr, user, pw string) error {
	conn, err := net.DialTimeout("tcp", addr, DialTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), LoginTimeout)
	defer cancel()
	c, err := rfb.LoginPlain(ctx, conn, user, pw)
	if err != nil {
		return err
	}
	return c.Close()
}

// LoginConn logs in with VNC Authentication and pw over conn, an RFB
// connection the caller opened (through a console ticket, a WebSocket,
// a dialer bound to a source address), and closes conn before it returns.
// ctx bounds the login. Its result is Login's.
func LoginConn(ctx context.Context, conn net.Conn, pw string) error {
	defer conn.Close()
	c, err := rfb.Login(ctx, conn, pw)
	if err != nil {
		return err
	}
	return c.Close()
}

// Want fails t unless err is the result of a login that the server should
// accept (accepted) or refuse for its password (!accepted): nil, or an
// error matching rfb.ErrAuthFailed. A refusal for another reason (an
// unreachable console, a broken handshake) fails either way. what names
// the case in the failure message, which never shows a password.
func Want(t testing.TB, what string, err error, accepted bool) {
	t.Helper()
	switch {
	case accepted && err != nil:
		t.Fatalf("%s: refused, want logged in: %v", what, err)
	case !accepted && !errors.Is(err, rfb.ErrAuthFailed):
		t.Fatalf("%s: got %v, want the password refused", what, err)
	}
}

// AwaitLogin polls addr until pw logs in (Login), for at most a minute,
// and returns how long that took. It fails t at once when the server
// refuses pw (a server that answers with another password is wrong, not
// late), and when nothing has let pw in after the minute: a hang guard
// for a loaded machine, not a bound under test.
func AwaitLogin(t testing.TB, addr, pw string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := Login(addr, pw)
		if err == nil {
			return time.Since(start)
		}
		if errors.Is(err, rfb.ErrAuthFailed) {
			t.Fatalf("%s refused the password it should hold", addr)
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("%s does not let the password in after a minute: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
