package rfb

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latchkey/latchkey/console/textscreen"
)

func TestSnapshotShowsTheRenderedText(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			p := &passwords{vnc: "Passw0rd"}
			dial, _ := tr.start(t, p.config())
			c, err := Login(t.Context(), dial(), "Passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			wantSnapshot(t, c, testScreen(), "the rendered console")
		})
	}
}

func TestSnapshotKeepsColours(t *testing.T) {
	cfg := (&passwords{vnc: "Passw0rd"}).config()
	cfg.Screen = colourPattern
	dial, _ := startPipe(t, cfg)
	c, err := Login(t.Context(), dial(), "Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantSnapshot(t, c, colourPattern(), "the colour pattern")
}

// The screen is read per update, so a client sees live state, while the
// framebuffer size stays the one announced in ServerInit.
func TestScreenIsLive(t *testing.T) {
	var state atomic.Value
	state.Store("state: booting")
	w, h := textscreen.Size(40, 3)
	cfg := ServerConfig{
		VNCPassword: func(context.Context) (string, error) { return "Passw0rd", nil },
		Screen: func() *image.RGBA {
			// Later screens are larger; the server must crop them.
			s := state.Load().(string)
			if s == "state: booting" {
				return textscreen.Render([]string{s}, w, h)
			}
			return textscreen.Render([]string{s}, w+50, h+50)
		},
	}
	dial, _ := startPipe(t, cfg)
	c, err := Login(t.Context(), dial(), "Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range []string{"state: booting", "state: running"} {
		state.Store(s)
		wantSnapshot(t, c, textscreen.Render([]string{s}, w, h), fmt.Sprintf("the screen of %q", s))
	}
}

// An incremental update request for an unchanged screen waits, checking
// once per RefreshInterval (fake time, so no busy loop goes unnoticed), and
// is answered with the new screen once it changes.
func TestIncrementalUpdateWaitsForChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var state atomic.Value
		state.Store("before")
		var calls atomic.Int32
		w, h := textscreen.Size(10, 1)
		cfg := ServerConfig{
			VNCPassword:     func(context.Context) (string, error) { return "Passw0rd", nil },
			RefreshInterval: time.Second,
			Screen: func() *image.RGBA {
				calls.Add(1)
				return textscreen.Render([]string{state.Load().(string)}, w, h)
			},
		}
		cc, sc := net.Pipe()
		served := make(chan error, 1)
		go func() { served <- Serve(t.Context(), sc, cfg) }()
		c, err := Login(t.Context(), cc, "Passw0rd")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Snapshot(t.Context()); err != nil {
			t.Fatal(err)
		}

		req := append([]byte{msgUpdateRequest, 1}, 0, 0, 0, 0, byte(w>>8), byte(w), byte(h>>8), byte(h))
		if _, err := cc.Write(req); err != nil {
			t.Fatal(err)
		}
		got := make(chan *image.RGBA, 1)
		go func() {
			typ, err := readU8(c.br)
			if err != nil || typ != msgFramebufferUpdate {
				got <- nil
				return
			}
			img, _ := c.readUpdate(nativeFormat())
			got <- img
		}()

		before := calls.Load()
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("an incremental update was sent although the screen had not changed")
		default:
		}
		if n := calls.Load() - before; n < 9 || n > 11 {
			t.Fatalf("screen read %d times in 10 refresh intervals, want about 10", n)
		}

		state.Store("after")
		img := <-got
		if img == nil {
			t.Fatal("reading the incremental update failed")
		}
		if at, ok := sameImage(img, textscreen.Render([]string{"after"}, w, h)); !ok {
			t.Fatalf("incremental update differs from the changed screen at %v", at)
		}
		c.Close()
		if err := <-served; err != nil {
			t.Fatalf("Serve = %v, want nil after the client closed", err)
		}
	})
}

// Cancelling ctx ends Serve with ctx's error; synctest.Test fails if any
// goroutine Serve started is still blocked afterwards.
func TestServeStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cfg := (&passwords{vnc: "Passw0rd"}).config()
		cc, sc := net.Pipe()
		served := make(chan error, 1)
		go func() { served <- Serve(ctx, sc, cfg) }()
		c, err := Login(t.Context(), cc, "Passw0rd")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cancel()
		if err := <-served; !errors.Is(err, context.Canceled) {
			t.Fatalf("Serve = %v, want context.Canceled", err)
		}
		if _, err := c.Snapshot(t.Context()); err == nil {
			t.Fatal("connection still usable after Serve returned")
		}
	})
}

// A client stalled in the handshake is dropped after HandshakeTimeout.
func TestHandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := (&passwords{vnc: "Passw0rd"}).config()
		cfg.HandshakeTimeout = 5 * time.Second
		cc, sc := net.Pipe()
		defer cc.Close()
		served := make(chan error, 1)
		go func() { served <- Serve(t.Context(), sc, cfg) }()
		if _, err := readN(cc, 12); err != nil { // the version, then silence
			t.Fatal(err)
		}
		var ne net.Error
		if err := <-served; !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Serve = %v, want a timeout", err)
		}
	})
}
