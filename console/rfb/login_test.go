package rfb

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestLoginVNCAuth(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			p := &passwords{vnc: "Passw0rdA"}
			dial, results := tr.start(t, p.config())
			ctx := t.Context()

			c, err := Login(ctx, dial(), "Passw0rdA")
			if err != nil {
				t.Fatalf("right password: %v", err)
			}
			w, h := testScreen().Bounds().Dx(), testScreen().Bounds().Dy()
			if c.Width() != w || c.Height() != h || c.Name() != "test-console" {
				t.Fatalf("ServerInit = %dx%d %q, want %dx%d %q", c.Width(), c.Height(), c.Name(), w, h, "test-console")
			}
			c.Close()
			if err := <-results; err != nil {
				t.Fatalf("Serve after a clean logout: %v", err)
			}

			_, err = Login(ctx, dial(), "WrongPw1")
			wantAuthFailed(t, "wrong password", err)
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Reason != "Authentication failure" {
				t.Fatalf("wrong password: err = %v, want reason %q", err, "Authentication failure")
			}
			if err := <-results; !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("Serve after a wrong password = %v, want ErrAuthFailed", err)
			}
			if got, want := [2]int32{p.ok.Load(), p.fail.Load()}, [2]int32{1, 1}; got != want {
				t.Fatalf("OnAuth (ok, fail) = %v, want %v", got, want)
			}
		})
	}
}

// VNC Authentication keys DES with the first 8 bytes only, like every VNC
// server (vnc-backends.md §1).
func TestLoginVNCAuthUsesFirstEightBytes(t *testing.T) {
	p := &passwords{vnc: "Passw0rdA"}
	dial, _ := startPipe(t, p.config())
	for i, c := range []struct {
		try string
		ok  bool
	}{
		{"Passw0rdA", true},
		{"Passw0rdB", true},
		{"Passw0rdXYZ", true},
		{"Passw0rd", true},
		{"Passw0r", false},
		{"passw0rdA", false},
	} {
		cc, err := Login(t.Context(), dial(), c.try)
		switch {
		case c.ok && err != nil:
			t.Errorf("case %d: login failed: %v", i, err)
		case !c.ok && !errors.Is(err, ErrAuthFailed):
			t.Errorf("case %d: err = %v, want ErrAuthFailed", i, err)
		}
		if cc != nil {
			cc.Close()
		}
	}
}

func TestEmptyPasswordNeverLogsIn(t *testing.T) {
	p := &passwords{vnc: ""}
	dial, results := startPipe(t, p.config())
	for i, try := range []string{"", "anything", "\x00"} {
		c, err := Login(t.Context(), dial(), try)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, ErrAuthFailed) {
			t.Errorf("VNC auth attempt %d with no password configured: err = %v, want ErrAuthFailed", i, err)
		}
		<-results
	}

	p.plainU, p.plainP = "alice", ""
	_, err := LoginPlain(t.Context(), dial(), "alice", "")
	wantAuthFailed(t, "Plain with an empty password", err)
}

func TestVNCPasswordLookupError(t *testing.T) {
	cfg := ServerConfig{VNCPassword: func(context.Context) (string, error) {
		return "Passw0rd", errors.New("keyring unavailable")
	}}
	dial, results := startPipe(t, cfg)
	_, err := Login(t.Context(), dial(), "Passw0rd")
	wantAuthFailed(t, "password lookup error", err)
	serr := <-results
	if !errors.Is(serr, ErrAuthFailed) || !errorContains(serr, "keyring unavailable") {
		t.Fatalf("Serve = %v, want ErrAuthFailed with the lookup error", serr)
	}
}

func errorContains(err error, s string) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				if errorContains(e, s) {
					return true
				}
			}
		}
		if err.Error() == s {
			return true
		}
	}
	return false
}

// A new password applies to the next connection; one already open stays.
func TestPasswordChangeTakesEffectForNextConnection(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			p := &passwords{vnc: "OldPass1"}
			dial, _ := tr.start(t, p.config())
			ctx := t.Context()

			open, err := Login(ctx, dial(), "OldPass1")
			if err != nil {
				t.Fatalf("old password before the change: %v", err)
			}
			defer open.Close()

			p.set("NewPass2")
			_, err = Login(ctx, dial(), "OldPass1")
			wantAuthFailed(t, "old password after the change", err)
			c, err := Login(ctx, dial(), "NewPass2")
			if err != nil {
				t.Fatalf("new password after the change: %v", err)
			}
			c.Close()

			if _, err := open.Snapshot(ctx); err != nil {
				t.Fatalf("connection opened before the change: %v", err)
			}
		})
	}
}

func TestLoginPlainChecksFullLength(t *testing.T) {
	for _, tr := range transports() {
		t.Run(tr.name, func(t *testing.T) {
			const pass = "Full-Length#Passw0rd-2024xyz"
			p := &passwords{plainU: "vncuser", plainP: pass}
			cfg := p.config()
			cfg.Security = []SecurityType{SecurityVeNCrypt}
			dial, _ := tr.start(t, cfg)
			ctx := t.Context()

			c, err := LoginPlain(ctx, dial(), "vncuser", pass)
			if err != nil {
				t.Fatalf("right credentials: %v", err)
			}
			if c.Name() != "test-console" {
				t.Fatalf("name = %q", c.Name())
			}
			c.Close()

			for i, try := range [][2]string{
				{"vncuser", pass[:8]},                  // what VNC auth would keep
				{"vncuser", pass[:8] + "X" + pass[9:]}, // differs after the 8th character
				{"vncuser", pass[:len(pass)-1]},        // one character short
				{"other", pass},
			} {
				_, err := LoginPlain(ctx, dial(), try[0], try[1])
				if !errors.Is(err, ErrAuthFailed) {
					t.Errorf("case %d: err = %v, want ErrAuthFailed", i, err)
				}
			}

			_, err = Login(ctx, dial(), pass)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("VNC auth against a Plain-only server: err = %v, want ErrRefused", err)
			}
		})
	}
}

func TestBothSecurityTypesOffered(t *testing.T) {
	p := &passwords{vnc: "VncPass1", plainU: "u", plainP: "PlainPass-long"}
	cfg := p.config()
	cfg.Security = []SecurityType{SecurityVeNCrypt, SecurityVNCAuth}
	dial, _ := startPipe(t, cfg)
	if c, err := Login(t.Context(), dial(), "VncPass1"); err != nil {
		t.Errorf("VNC auth: %v", err)
	} else {
		c.Close()
	}
	if c, err := LoginPlain(t.Context(), dial(), "u", "PlainPass-long"); err != nil {
		t.Errorf("Plain: %v", err)
	} else {
		c.Close()
	}
}

func TestServerConfigErrors(t *testing.T) {
	pw := func(context.Context) (string, error) { return "x", nil }
	for i, cfg := range []ServerConfig{
		{},
		{Security: []SecurityType{SecurityVNCAuth}},
		{VNCPassword: pw, Security: []SecurityType{SecurityVeNCrypt}},
		{VNCPassword: pw, Security: []SecurityType{1}},
	} {
		// Close the client first: a config wrongly accepted then fails on
		// I/O instead of blocking, and is told apart by its message.
		dial, results := startPipe(t, cfg)
		dial().Close()
		if err := <-results; err == nil || !strings.HasPrefix(err.Error(), "rfb: server config") {
			t.Errorf("config %d: Serve = %v, want a configuration error", i, err)
		}
	}
}
