package rfb

import (
	"context"
	"crypto/subtle"
	"errors"
	"image"
	"image/color"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/console/textscreen"
)

// consoleLines is what test servers show.
var consoleLines = []string{"latchkey test console", "", "login: _"}

// testScreen renders consoleLines on an 80x25 text screen.
func testScreen() *image.RGBA {
	w, h := textscreen.Size(80, 25)
	return textscreen.Render(consoleLines, w, h)
}

// colourPattern is a small screen in which every channel varies
// independently, so that swapped or mis-shifted channels show.
func colourPattern() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := range 32 {
		for x := range 64 {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 4), uint8(y * 8), uint8(255 - x*3 - y), 255})
		}
	}
	return img
}

// passwords is a changeable console password with attempt counters.
type passwords struct {
	mu       sync.Mutex
	vnc      string
	plainU   string
	plainP   string
	ok, fail atomic.Int32
}

func (p *passwords) set(pw string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.vnc = pw
}

func (p *passwords) config() ServerConfig {
	return ServerConfig{
		DesktopName: "test-console",
		VNCPassword: func(context.Context) (string, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.vnc, nil
		},
		CheckPlain: func(_ context.Context, user, pass string) bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			u := subtle.ConstantTimeCompare([]byte(user), []byte(p.plainU))
			w := subtle.ConstantTimeCompare([]byte(pass), []byte(p.plainP))
			return u&w == 1
		},
		OnAuth: func(ok bool) {
			if ok {
				p.ok.Add(1)
			} else {
				p.fail.Add(1)
			}
		},
		Screen: testScreen,
	}
}

// transport starts a server with cfg and returns a function that opens a
// new client connection to it, and the channel on which each connection's
// Serve result arrives.
type transport struct {
	name  string
	start func(t *testing.T, cfg ServerConfig) (dial func() net.Conn, results <-chan error)
}

func transports() []transport {
	return []transport{{"pipe", startPipe}, {"tcp", startTCP}}
}

// startPipe serves each dialled connection over net.Pipe.
func startPipe(t *testing.T, cfg ServerConfig) (func() net.Conn, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	results := make(chan error, 100)
	t.Cleanup(func() { cancel(); wg.Wait() })
	return func() net.Conn {
		c, s := net.Pipe()
		wg.Go(func() { results <- Serve(ctx, s, cfg) })
		t.Cleanup(func() { c.Close() })
		return c
	}, results
}

// startTCP serves connections accepted on a loopback listener.
func startTCP(t *testing.T, cfg ServerConfig) (func() net.Conn, <-chan error) {
	addr, results := serveTCP(t, cfg)
	return func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}, results
}

// serveTCP serves cfg on a loopback listener until the test ends and
// returns its address.
func serveTCP(t *testing.T, cfg ServerConfig) (string, <-chan error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	results := make(chan error, 100)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { results <- Serve(ctx, c, cfg) })
		}
	})
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	return ln.Addr().String(), results
}

// wantAuthFailed fails unless err is an authentication failure.
func wantAuthFailed(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("%s: err = %v, want ErrAuthFailed", what, err)
	}
}

// wantSnapshot fails unless the next snapshot c takes is want; what
// names want in the failure message.
func wantSnapshot(t *testing.T, c *ClientConn, want *image.RGBA, what string) {
	t.Helper()
	img, err := c.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if at, ok := sameImage(img, want); !ok {
		t.Fatalf("snapshot differs from %s at %v", what, at)
	}
}

// sameImage reports the first pixel where a and b differ.
func sameImage(a, b *image.RGBA) (image.Point, bool) {
	if a.Bounds() != b.Bounds() {
		return a.Bounds().Max, false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				return image.Pt(x, y), false
			}
		}
	}
	return image.Point{}, true
}
