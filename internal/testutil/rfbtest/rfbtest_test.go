package rfbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testutil"
)

// serve runs an RFB server with VNC password "Abc123" and Plain login
// alice/"Plain-Password-1" on a loopback port until the test ends. It
// returns the server's address and a function that lists the addresses
// the server's connections came from.
func serve(t *testing.T) (string, func() []netip.Addr) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var from []netip.Addr
	cfg := rfb.ServerConfig{
		DesktopName: "rfbtest",
		VNCPassword: func(context.Context) (string, error) { return "Abc123", nil },
		CheckPlain:  func(_ context.Context, user, pass string) bool { return user == "alice" && pass == "Plain-Password-1" },
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			from = append(from, c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr())
			mu.Unlock()
			wg.Go(func() { rfb.Serve(ctx, c, cfg); c.Close() })
		}
	})
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	return ln.Addr().String(), func() []netip.Addr {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(from)
	}
}

func TestLogin(t *testing.T) {
	addr, _ := serve(t)
	if err := Login(addr, "Abc123"); err != nil {
		t.Errorf("the right password: %v", err)
	}
	if err := Login(addr, "Xyz789"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("a wrong password: %v, want ErrAuthFailed", err)
	}
	if err := LoginPlain(addr, "alice", "Plain-Password-1"); err != nil {
		t.Errorf("Plain with the right password: %v", err)
	}
	if err := LoginPlain(addr, "alice", "Plain-Password-2"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("Plain with a wrong password: %v, want ErrAuthFailed", err)
	}
	nobody := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
	if err := Login(nobody, "Abc123"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("nothing listening: %v, want ECONNREFUSED", err)
	}
}

func TestLoginFrom(t *testing.T) {
	addr, from := serve(t)
	other := netip.MustParseAddr("127.0.0.2")
	if err := LoginFrom(addr, other, "Abc123"); err != nil {
		t.Errorf("from %s, the right password: %v", other, err)
	}
	if err := LoginFrom(addr, other, "Xyz789"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("from %s, a wrong password: %v, want ErrAuthFailed", other, err)
	}
	if err := LoginFrom(addr, netip.Addr{}, "Abc123"); err != nil {
		t.Errorf("from any address, the right password: %v", err)
	}
	want := []netip.Addr{other, other, netip.MustParseAddr("127.0.0.1")}
	if got := from(); !slices.Equal(got, want) {
		t.Errorf("the connections came from %v, want %v", got, want)
	}
}

func TestLoginConnClosesConn(t *testing.T) {
	addr, _ := serve(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := LoginConn(context.Background(), conn, "Abc123"); err != nil {
		t.Fatalf("LoginConn: %v", err)
	}
	if _, err := conn.Write([]byte{0}); !errors.Is(err, net.ErrClosed) {
		t.Errorf("conn after LoginConn: write gave %v, want it closed", err)
	}
}

func TestWant(t *testing.T) {
	for _, tc := range []struct {
		err      error
		accepted bool
		fails    bool
	}{
		{nil, true, false},
		{rfb.ErrAuthFailed, false, false},
		{rfb.ErrAuthFailed, true, true},
		{nil, false, true},
		{syscall.ECONNREFUSED, false, true},
	} {
		f := &fatalT{TB: t}
		func() {
			defer func() {
				if r := recover(); r != nil && r != f {
					panic(r)
				}
			}()
			Want(f, "case", tc.err, tc.accepted)
		}()
		if f.failed != tc.fails || f.failed && !strings.HasPrefix(f.msg, "case: ") {
			t.Errorf("Want(%v, %v): failed %v (%q), want failed %v", tc.err, tc.accepted, f.failed, f.msg, tc.fails)
		}
	}
}

// fatalT records a Fatalf instead of ending the real test.
type fatalT struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

func TestAwaitLogin(t *testing.T) {
	addr, _ := serve(t)
	AwaitLogin(t, addr, "Abc123")
	f := &fatalT{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != f {
				panic(r)
			}
		}()
		AwaitLogin(f, addr, "Xyz789")
	}()
	if !f.failed || strings.Contains(f.msg, "Xyz789") {
		t.Errorf("AwaitLogin with a refused password: failed %v (%q), want failed without the password", f.failed, f.msg)
	}
}
