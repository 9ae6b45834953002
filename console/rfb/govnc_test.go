package rfb

import (
	"net"
	"strings"
	"testing"

	vnc "github.com/mitchellh/go-vnc"
)

// These tests use mitchellh/go-vnc, an independent RFB client, as the
// oracle for the server's handshake and pixel encoding.

// goVNCLogin logs in with go-vnc and returns its connection and the channel
// its message loop delivers server messages on.
func goVNCLogin(t *testing.T, conn net.Conn, pw string) (*vnc.ClientConn, chan vnc.ServerMessage, error) {
	t.Helper()
	msgs := make(chan vnc.ServerMessage, 16) // never blocks go-vnc's loop in these tests
	cc, err := vnc.Client(conn, &vnc.ClientConfig{
		Auth:            []vnc.ClientAuth{&vnc.PasswordAuth{Password: pw}},
		ServerMessageCh: msgs,
	})
	if err == nil {
		t.Cleanup(func() { cc.Close() })
	}
	return cc, msgs, err
}

// nextUpdate returns the next FramebufferUpdate, skipping other messages.
func nextUpdate(t *testing.T, msgs <-chan vnc.ServerMessage) *vnc.FramebufferUpdateMessage {
	t.Helper()
	for {
		select {
		case m := <-msgs:
			if u, ok := m.(*vnc.FramebufferUpdateMessage); ok {
				return u
			}
		case <-t.Context().Done():
			t.Fatal("no framebuffer update")
		}
	}
}

func TestGoVNCClient(t *testing.T) {
	dial, _ := startTCP(t, (&passwords{vnc: "Passw0rd"}).config())

	if _, _, err := goVNCLogin(t, dial(), "WrongPw1"); err == nil || !strings.Contains(err.Error(), "Authentication failure") {
		t.Fatalf("wrong password: err = %v, want an authentication failure", err)
	}

	cc, msgs, err := goVNCLogin(t, dial(), "Passw0rd")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	screen := testScreen()
	w, h := screen.Bounds().Dx(), screen.Bounds().Dy()
	if int(cc.FrameBufferWidth) != w || int(cc.FrameBufferHeight) != h || cc.DesktopName != "test-console" {
		t.Fatalf("ServerInit = %dx%d %q", cc.FrameBufferWidth, cc.FrameBufferHeight, cc.DesktopName)
	}
	if err := cc.SetEncodings([]vnc.Encoding{&vnc.RawEncoding{}}); err != nil {
		t.Fatal(err)
	}
	if err := cc.FramebufferUpdateRequest(false, 0, 0, uint16(w), uint16(h)); err != nil {
		t.Fatal(err)
	}
	u := nextUpdate(t, msgs)
	if len(u.Rectangles) != 1 {
		t.Fatalf("%d rectangles, want 1", len(u.Rectangles))
	}
	r := u.Rectangles[0]
	if r.X != 0 || r.Y != 0 || int(r.Width) != w || int(r.Height) != h {
		t.Fatalf("rectangle %+v, want the whole %dx%d screen", r, w, h)
	}
	colours := r.Enc.(*vnc.RawEncoding).Colors
	for i, c := range colours {
		want := screen.RGBAAt(i%w, i/w)
		if c != (vnc.Color{R: uint16(want.R), G: uint16(want.G), B: uint16(want.B)}) {
			t.Fatalf("pixel (%d,%d) = %v, want %v", i%w, i/w, c, want)
		}
	}
}

// go-vnc decodes true-colour pixels at 8, 16 and 32 bits per pixel in both
// byte orders. (Its colour-map handling cannot serve: SetPixelFormat clears
// the map after sending, racing with the map the server sends in reply.)
func TestGoVNCPixelFormats(t *testing.T) {
	formats := []struct {
		name string
		f    pixelFormat
	}{
		{"native", nativeFormat()},
		{"rgb565 big-endian", rgb565(true)},
		{"rgb565 little-endian", rgb565(false)},
		{"bgr233", bgr233()},
		{"bgr888 big-endian", bgr888BigEndian()},
	}
	screen := colourPattern()
	w, h := screen.Bounds().Dx(), screen.Bounds().Dy()
	for _, tc := range formats {
		t.Run(tc.name, func(t *testing.T) {
			// net.Pipe, not TCP: its channels order go-vnc's reading of
			// PixelFormat after the test's write for the race detector.
			cfg := (&passwords{vnc: "Passw0rd"}).config()
			cfg.Screen = colourPattern
			dial, _ := startPipe(t, cfg)
			cc, msgs, err := goVNCLogin(t, dial(), "Passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			f := tc.f
			pf := vnc.PixelFormat{
				BPP: f.BPP, Depth: f.Depth, BigEndian: f.BigEndian, TrueColor: f.TrueColour,
				RedMax: f.RedMax, GreenMax: f.GreenMax, BlueMax: f.BlueMax,
				RedShift: f.RedShift, GreenShift: f.GreenShift, BlueShift: f.BlueShift,
			}
			cc.PixelFormat = pf // go-vnc's SetPixelFormat does not record it
			if err := cc.SetPixelFormat(&pf); err != nil {
				t.Fatal(err)
			}
			if err := cc.FramebufferUpdateRequest(false, 0, 0, uint16(w), uint16(h)); err != nil {
				t.Fatal(err)
			}
			colours := nextUpdate(t, msgs).Rectangles[0].Enc.(*vnc.RawEncoding).Colors
			for i, c := range colours {
				p := screen.RGBAAt(i%w, i/w)
				want := vnc.Color{R: uint16(scale(int(p.R), f.RedMax)), G: uint16(scale(int(p.G), f.GreenMax)), B: uint16(scale(int(p.B), f.BlueMax))}
				if c != want {
					t.Fatalf("pixel (%d,%d) = %v, want %v", i%w, i/w, c, want)
				}
			}
		})
	}
}
