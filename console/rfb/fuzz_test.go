package rfb

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vnc "github.com/mitchellh/go-vnc"
)

// The handshake fuzzer feeds a client's byte stream to Serve and throws
// the answers away. The challenge comes from a fixed source, so a seed
// recorded from a real client's login still logs in when replayed and
// the fuzzer explores the message loop behind it too.

const (
	fuzzPassword  = "Secret12"
	fuzzPlainUser = "root"
	fuzzPlainPass = "Plain-Pass-1"
)

// fixedChallenge is the challenge every fuzzed session sends.
var fixedChallenge = bytes.Repeat([]byte{0x5a}, 16)

// scriptConn is a net.Conn whose reads come from a script and whose
// writes are discarded; deadlines are ignored (the script never blocks).
type scriptConn struct {
	r      io.Reader
	closed atomic.Bool
}

func (c *scriptConn) Read(b []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return c.r.Read(b)
}
func (c *scriptConn) Write(b []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	return len(b), nil
}
func (c *scriptConn) Close() error                     { c.closed.Store(true); return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// teeConn records what the server reads from a real client.
type teeConn struct {
	net.Conn
	mu  sync.Mutex
	got []byte
}

func (c *teeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.got = append(c.got, b[:n]...)
	c.mu.Unlock()
	return n, err
}

func (c *teeConn) recorded() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.got)
}

// fuzzConfig is the server configuration for offer: 0 VNC Authentication
// only (the console gateway), 1 VeNCrypt Plain only, 2 both (the visual
// service listeners). latchkey offers no None type. ok records the
// outcome of every attempt.
func fuzzConfig(offer byte, outcomes *[]bool, emptyPlain *bool) ServerConfig {
	screen := image.NewRGBA(image.Rect(0, 0, 64, 48))
	cfg := ServerConfig{
		DesktopName:      "fuzz",
		Rand:             bytes.NewReader(bytes.Repeat(fixedChallenge, 4)),
		Screen:           func() *image.RGBA { return screen },
		HandshakeTimeout: -1,
		RefreshInterval:  time.Millisecond,
		OnAuth:           func(ok bool) { *outcomes = append(*outcomes, ok) },
		OnKey:            func(bool, uint32) {},
		OnPointer:        func(uint8, int, int) {},
		OnCutText:        func(string) {},
	}
	vncAuth := func(context.Context) (string, error) { return fuzzPassword, nil }
	plain := func(_ context.Context, user, pass string) bool {
		if pass == "" {
			*emptyPlain = true
		}
		return user == fuzzPlainUser && pass == fuzzPlainPass
	}
	switch offer % 3 {
	case 0:
		cfg.VNCPassword = vncAuth
	case 1:
		cfg.CheckPlain = plain
	default:
		cfg.VNCPassword, cfg.CheckPlain = vncAuth, plain
	}
	return cfg
}

// recordClient runs a real client against Serve over a pipe and returns
// the bytes the client sent.
func recordClient(t testing.TB, offer byte, client func(net.Conn) error) []byte {
	srvEnd, cliEnd := net.Pipe()
	tee := &teeConn{Conn: srvEnd}
	var outcomes []bool
	var empty bool
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), tee, fuzzConfig(offer, &outcomes, &empty)) }()
	if err := client(cliEnd); err != nil {
		t.Fatalf("recording a client login (offer %d): %v", offer, err)
	}
	cliEnd.Close()
	<-done
	return tee.recorded()
}

// clientSession sends the messages a viewer sends after logging in.
func clientSession(cc *vnc.ClientConn) error {
	if err := cc.SetEncodings([]vnc.Encoding{&vnc.RawEncoding{}}); err != nil {
		return err
	}
	if err := cc.FramebufferUpdateRequest(false, 0, 0, 64, 48); err != nil {
		return err
	}
	if err := cc.KeyEvent(0x61, true); err != nil {
		return err
	}
	if err := cc.PointerEvent(vnc.ButtonLeft, 10, 10); err != nil {
		return err
	}
	if err := cc.CutText("clipboard"); err != nil {
		return err
	}
	return cc.FramebufferUpdateRequest(true, 0, 0, 64, 48)
}

// FuzzServeHandshake checks Serve on arbitrary client streams for every
// security type latchkey offers: it returns (a fuzzing run would stall
// otherwise), never panics, calls OnAuth at most once, never asks
// CheckPlain about an empty password, and lets in only a client that
// sent the right DES response or Plain credentials. The seeds are the
// streams of go-vnc (VNC Authentication, RFB 3.8) and of this package's
// Plain client, plus an RFB 3.3 login.
func FuzzServeHandshake(f *testing.F) {
	goVNC := func(conn net.Conn) error {
		cc, err := vnc.Client(conn, &vnc.ClientConfig{
			Auth:            []vnc.ClientAuth{&vnc.PasswordAuth{Password: fuzzPassword}},
			ServerMessageCh: make(chan vnc.ServerMessage, 64),
		})
		if err != nil {
			return err
		}
		return clientSession(cc)
	}
	plain := func(conn net.Conn) error {
		cc, err := LoginPlain(context.Background(), conn, fuzzPlainUser, fuzzPlainPass)
		if err != nil {
			return err
		}
		return cc.Close()
	}
	for _, offer := range []byte{0, 2} {
		f.Add(offer, recordClient(f, offer, goVNC))
	}
	for _, offer := range []byte{1, 2} {
		f.Add(offer, recordClient(f, offer, plain))
	}
	v33 := append([]byte("RFB 003.003\n"), challengeResponse(fuzzPassword, fixedChallenge)...)
	f.Add(byte(0), append(v33, 1))
	f.Fuzz(func(t *testing.T, offer byte, stream []byte) {
		var outcomes []bool
		var emptyPlain bool
		cfg := fuzzConfig(offer, &outcomes, &emptyPlain)
		Serve(context.Background(), &scriptConn{r: bytes.NewReader(stream)}, cfg)
		if len(outcomes) > 1 {
			t.Fatalf("OnAuth called %d times for one connection", len(outcomes))
		}
		if emptyPlain {
			t.Fatal("CheckPlain was asked about an empty password")
		}
		if len(outcomes) == 1 && outcomes[0] {
			right := bytes.Contains(stream, challengeResponse(fuzzPassword, fixedChallenge)) ||
				bytes.Contains(stream, []byte(fuzzPlainUser+fuzzPlainPass))
			if !right {
				t.Fatal("a client without the password logged in")
			}
		}
	})
}

// fuzzEnd is one side of a relayed handshake: what it sends is fixed,
// what it receives is kept.
type fuzzEnd struct {
	r   *bytes.Reader
	got bytes.Buffer
}

func (e *fuzzEnd) Read(p []byte) (int, error)  { return e.r.Read(p) }
func (e *fuzzEnd) Write(p []byte) (int, error) { return e.got.Write(p) }

// FuzzRelayAuth checks RelayAuth on arbitrary server and client streams:
// it returns, never panics, and relays byte for byte: what each side
// receives is a prefix of what the other sent, and, when it reports
// ErrNotFollowed (after which the caller relays the rest as is), all that
// it read. The seeds are a VeNCrypt Plain and a VNC Authentication
// handshake.
func FuzzRelayAuth(f *testing.F) {
	u32 := func(v uint32) []byte { return appendU32(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	v38 := []byte("RFB 003.008\n")
	f.Add(cat(v38, []byte{2, 19, 2}, []byte{0, 2}, []byte{0, 1}, u32(256), u32(0)),
		cat(v38, []byte{19}, []byte{0, 2}, u32(256), u32(4), u32(5), []byte("rootpass1")))
	f.Add(cat(v38, []byte{1, 2}, fixedChallenge, u32(1), appendString(nil, reasonAuthFailed)),
		cat(v38, []byte{2}, challengeResponse(fuzzPassword, fixedChallenge)))
	f.Add(cat([]byte("RFB 003.003\n"), u32(2), fixedChallenge, u32(0)),
		cat([]byte("RFB 003.003\n"), challengeResponse(fuzzPassword, fixedChallenge)))
	f.Fuzz(func(t *testing.T, fromServer, fromClient []byte) {
		server := &fuzzEnd{r: bytes.NewReader(fromServer)}
		client := &fuzzEnd{r: bytes.NewReader(fromClient)}
		err := RelayAuth(client, server)
		if !bytes.HasPrefix(fromServer, client.got.Bytes()) {
			t.Fatal("the client received bytes the server did not send")
		}
		if !bytes.HasPrefix(fromClient, server.got.Bytes()) {
			t.Fatal("the server received bytes the client did not send")
		}
		if errors.Is(err, ErrNotFollowed) {
			if client.got.Len() != len(fromServer)-server.r.Len() || server.got.Len() != len(fromClient)-client.r.Len() {
				t.Fatal("ErrNotFollowed with bytes read but not relayed")
			}
		}
	})
}
