package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/latchkey/latchkey/console/libvirt"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/pki"
	"github.com/latchkey/latchkey/service"
)

// App is latchkey assembled from a Config: the data directory's secrets,
// the store, the services, the drivers behind the fault rules, the audit
// log, the front ends and the routes, behind the one http.Handler that
// both listeners serve. New builds it without binding a port, Serve runs
// it on listeners, Close releases what New opened.
//
// The exported fields are the parts, for tests that look past the APIs
// (set up state directly, read the audit log, add fault rules). New sets
// them and nothing changes them afterwards; callers must not either.
type App struct {
	// Store is the store every service shares.
	Store core.Store
	// Root is the data directory's root account and its first access key
	// (credentials.json).
	Root service.Credentials
	// AdminToken is the internal API's bearer token (admin.token).
	AdminToken core.Secret

	Identity *service.Identity
	Accounts *service.Accounts
	ECS      *service.ECS
	EHPC     *service.EHPC
	BCC      *service.BCC
	RAM      *service.RAM
	// Registry holds the products (fleet files, resets, settling,
	// password checks).
	Registry *service.Registry
	// Faults holds the fault rules that every driver call of the services
	// passes first (PRODUCT.md §8).
	Faults *faults.Injector
	// Audit is the audit log; its Flush makes every event recorded so far
	// visible to store queries.
	Audit *service.AuditLog
	// ConsoleDrivers and VisualDrivers are the drivers by name, without
	// the fault rules: what is really on the consoles and visual services.
	ConsoleDrivers map[string]core.ConsoleDriver
	VisualDrivers  map[string]core.VisualDriver

	cfg     Config
	tls     *pki.Material
	handler http.Handler
	// ready is what /healthz reports; Serve sets it.
	ready atomic.Bool
	// up is closed when Serve first reports ready: the work start-up
	// leaves to the background (the visual follow) waits for it.
	up      chan struct{}
	banner  banner
	closers []func() error
	// libvirt is the libvirt driver when --libvirt-hosts names a file.
	libvirt *libvirt.Driver

	closeOnce sync.Once
	closeErr  error
	served    atomic.Bool
}

var _ http.Handler = (*App)(nil)

// New builds the whole server from cfg without binding a port: it
// creates or loads the data directory (TLS material, master key, admin
// token, store, root credentials), tightens its modes where they let
// others in (tightenDataDir), seeds the demo fleet on a first start
// with cfg.Demo, and assembles the services and front ends. On error
// nothing stays open.
//
// cfg.Endpoints.HTTPS must name the address clients reach the HTTPS
// listener at: console URLs point there, whichever listener a call came
// in on. A caller that binds its own listeners binds them first and sets
// cfg.Endpoints from their addresses; Listen and HTTPListen are only
// validated (Run binds them). The caller must Close the App.
func New(ctx context.Context, cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Endpoints.HTTPS == "" {
		return nil, errors.New("server: Config.Endpoints.HTTPS is empty: console URLs need the HTTPS listener's address")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := tightenDataDir(cfg.DataDir, cfg.privateStoreFiles(), cfg.Log); err != nil {
		return nil, err
	}
	tlsMat, err := pki.Ensure(filepath.Join(cfg.DataDir, TLSDir), cfg.Clock.Now(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if len(tlsMat.Created) > 0 {
		cfg.Log.Info("TLS material written", "dir", filepath.Join(cfg.DataDir, TLSDir), "files", tlsMat.Created)
	}
	return assemble(ctx, cfg, tlsMat)
}

// withDefaults fills the optional fields Run and New accept empty.
func (c Config) withDefaults() Config {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Banner == nil {
		c.Banner = io.Discard
	}
	if c.Clock == nil {
		c.Clock = core.SystemClock{}
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = defaultShutdownTimeout
	}
	if c.RequestReadTimeout == 0 {
		c.RequestReadTimeout = DefaultRequestReadTimeout
	}
	if c.RequestMemory == 0 {
		c.RequestMemory = DefaultRequestMemory
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	return c
}

// ServeHTTP serves every route of both listeners (PRODUCT.md §1, §2, §8).
// /healthz answers 200 only while Serve reports the App ready; the
// internal API answers only requests that came over TLS.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Endpoints are the addresses New was told clients reach the listeners
// at (Config.Endpoints).
func (a *App) Endpoints() Endpoints { return a.cfg.Endpoints }

// ConsoleURL is the console URL the front ends hand out for a console
// ticket: wss://HTTPS/vnc/?s=TOKEN, not percent-encoded (PRODUCT.md §3).
func (a *App) ConsoleURL(token string) string {
	host := a.cfg.Endpoints.HTTPS
	if a.cfg.PublicAddress != "" {
		host = a.cfg.PublicAddress
	}
	return "wss://" + host + "/vnc/?s=" + url.QueryEscape(token)
}

// TLSConfig is the HTTPS listener's configuration: the data directory's
// server certificate, TLS 1.2 or later. Each call returns a new value.
func (a *App) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{a.tls.Certificate}, MinVersion: tls.VersionTLS12}
}

// CAPool is a pool holding only the data directory's CA, which signed
// the server certificate: what a client of the HTTPS listener trusts.
func (a *App) CAPool() *x509.CertPool { return a.tls.Pool() }

// RootCaller is the root account as a service caller, for setting up
// state through the services without a front end.
func (a *App) RootCaller() core.Caller {
	return core.Caller{Principal: core.Principal{AccountID: a.Root.AccountID, AccessKeyID: a.Root.AccessKeyID}}
}

// Close stops what New started (drivers, the audit log's writer, QEMU
// processes) and closes the store, the audit log first so that its last
// events are written. Call it after Serve has returned. Closing twice
// returns the first result.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		var errs []error
		for i := len(a.closers) - 1; i >= 0; i-- {
			errs = append(errs, a.closers[i]())
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}
