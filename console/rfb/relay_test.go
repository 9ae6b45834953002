package rfb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// relayed opens a client connection that reaches the server dial opens
// through RelayAuth, and returns it with the channel on which RelayAuth's
// result arrives. After a nil or ErrNotFollowed result the session is
// relayed on, as the gateway does.
func relayed(t *testing.T, dial func() net.Conn) (net.Conn, <-chan error) {
	t.Helper()
	client, relaySide := net.Pipe()
	server := dial()
	res := make(chan error, 1)
	go func() {
		defer relaySide.Close()
		defer server.Close()
		err := RelayAuth(relaySide, server)
		res <- err
		if err != nil && !errors.Is(err, ErrNotFollowed) {
			return
		}
		done := make(chan struct{}, 2)
		go func() { io.Copy(relaySide, server); done <- struct{}{} }()
		go func() { io.Copy(server, relaySide); done <- struct{}{} }()
		<-done
	}()
	t.Cleanup(func() { client.Close() })
	return client, res
}

func TestRelayAuthReportsTheServersVerdict(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			var p passwords
			p.set("Relay123")
			cfg := p.config()
			cfg.Security = []SecurityType{SecurityVNCAuth}
			dial, _ := tr.start(t, cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			conn, res := relayed(t, dial)
			c, err := Login(ctx, conn, "Relay123")
			if err != nil {
				t.Fatalf("right password through the relay: %v", err)
			}
			if err := <-res; err != nil {
				t.Fatalf("RelayAuth after a login = %v, want nil", err)
			}
			// The session goes on through the relay.
			if _, err := c.Snapshot(ctx); err != nil {
				t.Fatalf("snapshot through the relay: %v", err)
			}
			c.Close()

			conn, res = relayed(t, dial)
			_, err = Login(ctx, conn, "Wrong123")
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Reason != reasonAuthFailed {
				t.Fatalf("wrong password through the relay: client got %v, want the server's reason", err)
			}
			err = <-res
			if !errors.As(err, &ae) || ae.Reason != reasonAuthFailed {
				t.Fatalf("RelayAuth after a wrong password = %v, want an *AuthError with the server's reason", err)
			}
		})
	}
}

// TestRelayAuthRFB33 drives the relay with an RFB 3.3 client, which gets
// no failure reason: the relay still sees the failure.
func TestRelayAuthRFB33(t *testing.T) {
	var p passwords
	p.set("Old33pw")
	dial, _ := startPipe(t, p.config())
	for _, c := range []struct {
		pw   string
		want error
	}{{"Old33pw", nil}, {"Bad33pw", ErrAuthFailed}} {
		conn, res := relayed(t, dial)
		result := login33(t, conn, c.pw)
		if err := <-res; !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("password %d: RelayAuth = %v, want %v", len(c.pw), err, c.want)
		}
		if (result == 0) != (c.want == nil) {
			t.Errorf("the 3.3 client got SecurityResult %d", result)
		}
	}
}

// login33 runs VNC Authentication as an RFB 3.3 client (vncsnapshot's
// version) and returns SecurityResult.
func login33(t *testing.T, conn net.Conn, pw string) uint32 {
	t.Helper()
	if _, err := readN(conn, 12); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(version33.message()); err != nil {
		t.Fatal(err)
	}
	if st, err := readU32(conn); err != nil || st != uint32(SecurityVNCAuth) {
		t.Fatalf("3.3 security type %d, %v", st, err)
	}
	ch, err := readN(conn, 16)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(challengeResponse(pw, ch)); err != nil {
		t.Fatal(err)
	}
	r, err := readU32(conn)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRelayAuthPassesRefusals: a server that refuses before asking for a
// password (Refuse, as a blacklisted client gets it) is relayed as such.
// It listens on TCP: Refuse writes ahead of the client's version, which
// a buffered connection absorbs and net.Pipe does not.
func TestRelayAuthPassesRefusals(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				Refuse(c, ReasonTooManyFailures)
			}()
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	conn, res := relayed(t, dial)
	_, err = Login(t.Context(), conn, "Any1234")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), ReasonTooManyFailures) {
		t.Fatalf("client: %v, want ErrRefused with %q", err, ReasonTooManyFailures)
	}
	if err := <-res; !errors.Is(err, ErrRefused) {
		t.Fatalf("RelayAuth = %v, want ErrRefused", err)
	}
}

// TestRelayAuthFollowsVeNCryptPlain: a VeNCrypt Plain login reaches the
// server's verdict through the relay, which reports it.
func TestRelayAuthFollowsVeNCryptPlain(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			var p passwords
			p.set("Relay123")
			p.plainU, p.plainP = "root", "Full-Length-Pass1"
			cfg := p.config()
			cfg.Security = []SecurityType{SecurityVeNCrypt, SecurityVNCAuth}
			dial, _ := tr.start(t, cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			conn, res := relayed(t, dial)
			c, err := LoginPlain(ctx, conn, "root", "Full-Length-Pass1")
			if err != nil {
				t.Fatalf("right credentials through the relay: %v", err)
			}
			if err := <-res; err != nil {
				t.Fatalf("RelayAuth after a Plain login = %v, want nil", err)
			}
			if _, err := c.Snapshot(ctx); err != nil {
				t.Fatalf("snapshot through the relay: %v", err)
			}
			c.Close()

			for _, creds := range [][2]string{{"root", "Full-Length-Pass2"}, {"admin", "Full-Length-Pass1"}} {
				conn, res = relayed(t, dial)
				_, err = LoginPlain(ctx, conn, creds[0], creds[1])
				var ae *AuthError
				if !errors.As(err, &ae) || ae.Reason != reasonAuthFailed {
					t.Fatalf("wrong credentials through the relay: client got %v, want the server's reason", err)
				}
				if err := <-res; !errors.As(err, &ae) || ae.Reason != reasonAuthFailed {
					t.Fatalf("RelayAuth after wrong credentials = %v, want an *AuthError with the server's reason", err)
				}
			}
		})
	}
}

// TestRelayAuthPassesWhatItCannotFollow: a VeNCrypt version the relay
// does not know is reported as ErrNotFollowed, and what follows passes
// through untouched: here the server's refusal of that version.
func TestRelayAuthPassesWhatItCannotFollow(t *testing.T) {
	var p passwords
	p.plainU, p.plainP = "root", "Full-Length-Pass1"
	cfg := p.config()
	cfg.Security = []SecurityType{SecurityVeNCrypt}
	dial, _ := startPipe(t, cfg)
	conn, res := relayed(t, dial)
	go func() {
		if _, err := io.ReadFull(conn, make([]byte, 12)); err != nil {
			return
		}
		// RFB 3.8, VeNCrypt, then VeNCrypt 0.1 after the server's 0.2.
		conn.Write([]byte("RFB 003.008\n"))
		if _, err := io.ReadFull(conn, make([]byte, 2)); err != nil { // one type: 19
			return
		}
		conn.Write([]byte{byte(SecurityVeNCrypt)})
		if _, err := io.ReadFull(conn, make([]byte, 2)); err != nil { // 0.2
			return
		}
		conn.Write([]byte{0, 1})
	}()
	if err := <-res; !errors.Is(err, ErrNotFollowed) {
		t.Fatalf("RelayAuth with VeNCrypt 0.1 = %v, want ErrNotFollowed", err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(conn, b); err != nil || b[0] != 0xff {
		t.Fatalf("the server's answer through the relay = %x, %v; want its refusal 0xff", b, err)
	}
	if p.ok.Load() != 0 {
		t.Fatal("a login succeeded")
	}
}

// TestRelayAuthAgainstXvnc relays to TigerVNC's Xvnc.
func TestRelayAuthAgainstXvnc(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "passwd")
	writePasswdFile(t, auth, "Passw0rdA")
	addr := startXvnc(t, auth)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	conn, res := relayed(t, dial)
	c, err := Login(ctx, conn, "Passw0rdA")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := <-res; err != nil {
		t.Fatalf("RelayAuth after a login to Xvnc = %v", err)
	}
	c.Close()
	conn, res = relayed(t, dial)
	Login(ctx, conn, "WrongPw1")
	var ae *AuthError
	if err := <-res; !errors.As(err, &ae) || ae.Reason != "Authentication failure" {
		t.Fatalf("RelayAuth after a wrong password = %v, want Xvnc's failure", err)
	}
}

// TestRefuseIsXvncsBlacklistAnswer compares Refuse with what Xvnc sends a
// blacklisted address, byte for byte.
func TestRefuseIsXvncsBlacklistAnswer(t *testing.T) {
	auth := filepath.Join(t.TempDir(), "passwd")
	writePasswdFile(t, auth, "Passw0rdA")
	addr := startXvnc(t, auth, "-UseBlacklist=1")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	// Xvnc counts every connection that has not authenticated (the
	// readiness probe too) and lets the fifth through: fail until it
	// refuses.
	refused := false
	for range 10 {
		_, err := loginTCP(ctx, t, addr, "WrongPw1")
		if errors.Is(err, ErrRefused) {
			if !strings.Contains(err.Error(), ReasonTooManyFailures) {
				t.Fatalf("Xvnc refused with %v, want %q", err, ReasonTooManyFailures)
			}
			refused = true
			break
		}
		wantAuthFailed(t, "a wrong password before the blacklist", err)
	}
	if !refused {
		t.Fatal("Xvnc never blacklisted the address")
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	xvnc, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading Xvnc's refusal: %v", err)
	}

	c, s := net.Pipe()
	go func() {
		defer s.Close()
		Refuse(s, ReasonTooManyFailures)
	}()
	ours, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, xvnc) {
		t.Fatalf("Refuse sends %q, Xvnc sends %q", ours, xvnc)
	}
}
