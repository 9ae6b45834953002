package sim

import (
	"context"
	"image"
	"net"
	"sync"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/console/textscreen"
	"github.com/latchkey/latchkey/core"
)

// Driver is the sim console driver. A product that keeps its consoles'
// live passwords in the store registers a core.ConsolePasswords
// (ServeFrom):
// its consoles then ask, at every login, for the password the store
// holds at that moment, so every replica's consoles agree and a change is
// live everywhere once it is stored, with nothing to push or reconcile.
// Other products' consoles keep the password they were last given, in
// memory.
//
// A product that keeps only a hash of its guests' administrator password
// registers a core.ConsoleLogins (CheckLoginsWith): its consoles then
// offer VeNCrypt Plain, whose username and whole password it judges,
// after VNC Authentication against the password last given.
type Driver struct {
	mu        sync.Mutex
	passwords map[key]core.Secret
	sources   map[string]core.ConsolePasswords
	logins    map[string]core.ConsoleLogins

	// OnAuth, if set, is called with the outcome of every console login.
	OnAuth func(product string, ok bool)
}

// ServeFrom makes src the source of the live passwords of product's
// consoles. Call it before the driver serves consoles.
func (d *Driver) ServeFrom(product string, src core.ConsolePasswords) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sources[product] = src
}

// CheckLoginsWith makes chk the judge of VeNCrypt Plain logins on
// product's consoles. Call it before the driver serves consoles.
func (d *Driver) CheckLoginsWith(product string, chk core.ConsoleLogins) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.logins[product] = chk
}

func (d *Driver) loginsOf(product string) core.ConsoleLogins {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logins[product]
}

func (d *Driver) source(product string) core.ConsolePasswords {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sources[product]
}

type key struct{ product, id string }

var _ core.PullingConsoleDriver = (*Driver)(nil)

// New returns a driver with no consoles.
func New() *Driver {
	return &Driver{
		passwords: make(map[key]core.Secret),
		sources:   make(map[string]core.ConsolePasswords),
		logins:    make(map[string]core.ConsoleLogins),
	}
}

// PullsPasswords implements core.PullingConsoleDriver: product's consoles
// ask its password source, when it has one.
func (d *Driver) PullsPasswords(_ context.Context, product string) bool {
	return d.source(product) != nil
}

// SetConsolePassword implements core.ConsoleDriver. The sim console is
// always reachable; empty passwords are refused (an empty VNC password
// would let anyone in). For a product with a password source there is
// nothing to set: storing the password makes it live.
func (d *Driver) SetConsolePassword(_ context.Context, t core.ConsoleTarget, pw core.Secret) error {
	if pw.IsZero() {
		return &core.Error{Kind: core.KindInvalid, Message: "empty console password"}
	}
	if d.source(t.Product) != nil {
		return nil
	}
	d.mu.Lock()
	d.passwords[key{t.Product, t.ID}] = pw
	d.mu.Unlock()
	return nil
}

// password returns the console's live password, or an error when none was
// ever set (then nobody can log in).
func (d *Driver) password(ctx context.Context, t core.ConsoleTarget) (string, error) {
	if src := d.source(t.Product); src != nil {
		pw, err := src.LivePassword(ctx, t)
		if err != nil {
			return "", err
		}
		return pw.Reveal(), nil
	}
	d.mu.Lock()
	pw, ok := d.passwords[key{t.Product, t.ID}]
	d.mu.Unlock()
	if !ok {
		return "", &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Message: "console has no password"}
	}
	return pw.Reveal(), nil
}

// OpenConsole implements core.ConsoleDriver: it returns one end of an
// in-memory pipe whose other end is served by an RFB server offering VNC
// Authentication against the console's live password, and then VeNCrypt
// Plain when the product has a core.ConsoleLogins. The server stops when
// either end closes.
func (d *Driver) OpenConsole(_ context.Context, t core.ConsoleTarget) (core.Conn, error) {
	client, server := net.Pipe()
	screen := Screen(t)
	cfg := rfb.ServerConfig{
		DesktopName: t.ID,
		Security:    []rfb.SecurityType{rfb.SecurityVNCAuth},
		VNCPassword: func(ctx context.Context) (string, error) { return d.password(ctx, t) },
		Screen:      func() *image.RGBA { return screen },
	}
	if chk := d.loginsOf(t.Product); chk != nil {
		// VNC Authentication first: noVNC and TigerVNC's vncviewer take
		// the server's first type they speak, and with their defaults
		// neither logs in with VeNCrypt Plain.
		cfg.Security = []rfb.SecurityType{rfb.SecurityVNCAuth, rfb.SecurityVeNCrypt}
		cfg.CheckPlain = func(ctx context.Context, user, pass string) bool {
			ok, err := chk.CheckConsoleLogin(ctx, t, user, core.NewSecret(pass))
			return err == nil && ok
		}
	}
	if d.OnAuth != nil {
		cfg.OnAuth = func(ok bool) { d.OnAuth(t.Product, ok) }
	}
	go func() {
		defer server.Close()
		// The console's life is the connection's, not the request's that
		// opened it.
		_ = rfb.Serve(context.Background(), server, cfg)
	}()
	return client, nil
}

// Screen renders the text console of a target: what a user sees after
// logging in.
func Screen(t core.ConsoleTarget) *image.RGBA {
	lines := []string{
		"latchkey simulated console",
		"",
		"Product:  " + t.Product,
		"Instance: " + t.ID,
		"Name:     " + t.Name,
		"Status:   " + t.Status,
		"",
		t.Name + " login: _",
	}
	return textscreen.Render(lines, 640, 400)
}
