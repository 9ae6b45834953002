package rfb

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// rawClient drives the server byte by byte, as old clients do.
type rawClient struct {
	t *testing.T
	c net.Conn
}

func (r rawClient) read(n int) []byte {
	r.t.Helper()
	b, err := readN(r.c, n)
	if err != nil {
		r.t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

func (r rawClient) write(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatalf("writing: %v", err)
	}
}

func (r rawClient) u32() uint32 {
	r.t.Helper()
	b := r.read(4)
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// wantEOF checks that the server closed the connection with nothing more to
// say, for example no reason string after a 3.3 or 3.7 failure.
func (r rawClient) wantEOF() {
	r.t.Helper()
	var b [1]byte
	if n, err := r.c.Read(b[:]); !errors.Is(err, io.EOF) {
		r.t.Fatalf("after failure: read %d bytes, err %v; want EOF", n, err)
	}
}

// RFB 3.3 (vncsnapshot): the server picks the type as a u32, and a failed
// SecurityResult has no reason string.
func TestRFB33VNCAuth(t *testing.T) {
	for i, c := range []struct {
		pw   string
		want uint32
	}{{"Passw0rd", 0}, {"WrongPw1", 1}} {
		dial, results := startPipe(t, (&passwords{vnc: "Passw0rd"}).config())
		r := rawClient{t, dial()}
		if got := string(r.read(12)); got != "RFB 003.008\n" {
			t.Fatalf("server version %q", got)
		}
		r.write([]byte("RFB 003.003\n"))
		if typ := r.u32(); typ != uint32(SecurityVNCAuth) {
			t.Fatalf("3.3 security type = %d, want 2", typ)
		}
		r.write(challengeResponse(c.pw, r.read(16)))
		if got := r.u32(); got != c.want {
			t.Fatalf("case %d: SecurityResult = %d, want %d", i, got, c.want)
		}
		if c.want != 0 {
			r.wantEOF()
			continue
		}
		r.write([]byte{0})                   // ClientInit
		init := r.read(20)                   // size and pixel format
		name := string(r.read(int(r.u32()))) // desktop name
		if !bytes.Equal(init[4:], nativeFormat().marshal()) || name != "test-console" {
			t.Fatalf("ServerInit format % x name %q", init[4:], name)
		}
		r.c.Close()
		if err := <-results; err != nil {
			t.Fatalf("Serve = %v (%T)", err, err)
		}
	}
}

// RFB 3.7: a list of types, and again no reason after a failure.
func TestRFB37FailureHasNoReason(t *testing.T) {
	cfg := (&passwords{vnc: "Passw0rd"}).config()
	cfg.Security = []SecurityType{SecurityVNCAuth}
	dial, _ := startPipe(t, cfg)
	r := rawClient{t, dial()}
	r.read(12)
	r.write([]byte("RFB 003.007\n"))
	if got := r.read(2); !bytes.Equal(got, []byte{1, 2}) {
		t.Fatalf("security types % x, want 01 02", got)
	}
	r.write([]byte{2})
	r.write(challengeResponse("WrongPw1", r.read(16)))
	if got := r.u32(); got != 1 {
		t.Fatalf("SecurityResult = %d, want 1", got)
	}
	r.wantEOF()
}

// Our client speaks whatever older version the server announces.
func TestClientDowngrades(t *testing.T) {
	for _, v := range []string{"RFB 003.003\n", "RFB 003.007\n"} {
		cc, sc := net.Pipe()
		go func() {
			defer sc.Close()
			sc.Write([]byte(v))
			readN(sc, 12)
			if v == "RFB 003.003\n" {
				sc.Write(appendU32(nil, 2))
			} else {
				sc.Write([]byte{1, 2})
				readN(sc, 1)
			}
			sc.Write(make([]byte, 16))
			readN(sc, 16)
			sc.Write(appendU32(nil, 1))
		}()
		_, err := Login(t.Context(), cc, "Passw0rd")
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Reason != "" {
			t.Errorf("%q server: err = %v, want an AuthError without reason", v[:11], err)
		}
		cc.Close()
	}
}

// An RFB 3.3 client cannot use VeNCrypt: it is told why, then dropped.
func TestRFB33WithoutVNCAuthIsRefused(t *testing.T) {
	p := &passwords{plainU: "u", plainP: "p"}
	cfg := p.config()
	cfg.Security = []SecurityType{SecurityVeNCrypt}
	dial, results := startPipe(t, cfg)
	r := rawClient{t, dial()}
	r.read(12)
	r.write([]byte("RFB 003.003\n"))
	if typ := r.u32(); typ != 0 {
		t.Fatalf("security type = %d, want 0 (failed)", typ)
	}
	if reason := string(r.read(int(r.u32()))); reason == "" {
		t.Fatal("no reason given")
	}
	if err := <-results; err == nil {
		t.Fatal("Serve = nil, want an error")
	}
}

// Other servers' refusals (for example Xvnc's blacklist) surface as
// ErrRefused with the server's reason.
func TestClientReportsRefusal(t *testing.T) {
	cc, sc := net.Pipe()
	defer cc.Close()
	go func() {
		defer sc.Close()
		sc.Write([]byte("RFB 003.008\n"))
		readN(sc, 12)
		sc.Write(appendString([]byte{0}, "Too many security failures"))
	}()
	_, err := Login(t.Context(), cc, "Passw0rd")
	if !errors.Is(err, ErrRefused) || errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
}

func TestProtocolErrorsCloseTheConnection(t *testing.T) {
	cases := []struct {
		name string
		send []byte
	}{
		{"unknown message", []byte{99}},
		{"bad bits per pixel", append([]byte{msgSetPixelFormat, 0, 0, 0}, pixelFormat{BPP: 24, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255}.marshal()...)},
		{"channel overflows pixel", append([]byte{msgSetPixelFormat, 0, 0, 0}, pixelFormat{BPP: 16, Depth: 16, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 16}.marshal()...)},
		{"oversized cut text", []byte{msgClientCutText, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dial, results := startPipe(t, (&passwords{vnc: "Passw0rd"}).config())
			cc := dial()
			cl, err := Login(t.Context(), cc, "Passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cc.Write(c.send); err != nil {
				t.Fatal(err)
			}
			var pe *ProtocolError
			if err := <-results; !errors.As(err, &pe) {
				t.Fatalf("Serve = %v, want a *ProtocolError", err)
			}
			if _, err := cl.Snapshot(t.Context()); err == nil {
				t.Fatal("connection still open after a protocol error")
			}
		})
	}
}

func TestTruncatedMessageIsUnexpectedEOF(t *testing.T) {
	dial, results := startPipe(t, (&passwords{vnc: "Passw0rd"}).config())
	cc := dial()
	if _, err := Login(t.Context(), cc, "Passw0rd"); err != nil {
		t.Fatal(err)
	}
	cc.Write([]byte{msgKeyEvent, 1, 0})
	cc.Close()
	if err := <-results; !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Serve = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestInputReachesCallbacks(t *testing.T) {
	p := &passwords{vnc: "Passw0rd"}
	cfg := p.config()
	type key struct {
		down bool
		sym  uint32
	}
	keys := make(chan key, 1)
	pointers := make(chan [3]int, 1)
	cuts := make(chan string, 1)
	cfg.OnKey = func(down bool, sym uint32) { keys <- key{down, sym} }
	cfg.OnPointer = func(b uint8, x, y int) { pointers <- [3]int{int(b), x, y} }
	cfg.OnCutText = func(s string) { cuts <- s }
	dial, _ := startPipe(t, cfg)
	cc := dial()
	if _, err := Login(t.Context(), cc, "Passw0rd"); err != nil {
		t.Fatal(err)
	}
	msgs := []byte{msgKeyEvent, 1, 0, 0, 0, 0, 0xff, 0x0d} // Return down
	msgs = append(msgs, msgPointerEvent, 5, 0x01, 0x02, 0x00, 0x30)
	msgs = append(msgs, appendString([]byte{msgClientCutText, 0, 0, 0}, "clip")...)
	msgs = append(msgs, msgSetEncodings, 0, 0, 2, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0x21) // Hextile, DesktopSize
	if _, err := cc.Write(msgs); err != nil {
		t.Fatal(err)
	}
	if k := <-keys; k != (key{true, 0xff0d}) {
		t.Errorf("key = %+v", k)
	}
	if p := <-pointers; p != [3]int{5, 0x102, 0x30} {
		t.Errorf("pointer = %v", p)
	}
	if s := <-cuts; s != "clip" {
		t.Errorf("cut text = %q", s)
	}
}
