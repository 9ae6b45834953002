package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/pki"
)

// defaultShutdownTimeout bounds the drain of in-flight requests.
const defaultShutdownTimeout = 30 * time.Second

// Run serves latchkey until ctx is cancelled, then drains in-flight
// requests and returns nil. It prepares the data directory (TLS material,
// master key, admin token, store, root credentials), binds both listeners,
// writes endpoints.json, and only then reports ready: /healthz answers 200
// and cfg.Ready is called. Any failure before that is returned with
// nothing left running.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Banner == nil {
		cfg.Banner = io.Discard
	}
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = defaultShutdownTimeout
	}
	log := cfg.Log

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	tlsMat, err := pki.Ensure(filepath.Join(cfg.DataDir, TLSDir), cfg.Clock.Now(), rand.Reader)
	if err != nil {
		return err
	}
	if len(tlsMat.Created) > 0 {
		log.Info("TLS material written", "dir", filepath.Join(cfg.DataDir, TLSDir), "files", tlsMat.Created)
	}

	// Bind before assembling, so that a busy port fails fast and the
	// services know the addresses they hand out (console URLs).
	httpsLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	defer httpsLn.Close()
	var httpLn net.Listener
	if cfg.HTTPListen != "" {
		httpLn, err = net.Listen("tcp", cfg.HTTPListen)
		if err != nil {
			return fmt.Errorf("--http-listen: %w", err)
		}
		defer httpLn.Close()
	}
	eps := Endpoints{HTTPS: dialAddress(httpsLn.Addr())}
	if httpLn != nil {
		eps.HTTP = dialAddress(httpLn.Addr())
	}

	var ready atomic.Bool
	a, err := assemble(ctx, cfg, eps, tlsMat, &ready)
	if err != nil {
		return err
	}
	defer a.close()

	// baseCtx outlives Shutdown's drain and is cancelled after it, so
	// long-lived hijacked connections (console WebSockets) end too.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	handler := logRequests(log, a.handler)
	newServer := func(name string) *http.Server {
		return &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			BaseContext:       func(net.Listener) context.Context { return baseCtx },
			ErrorLog:          slog.NewLogLogger(log.With("listener", name).Handler(), slog.LevelDebug),
		}
	}
	httpsSrv := newServer("https")
	httpsSrv.TLSConfig = &tls.Config{
		Certificates: []tls.Certificate{tlsMat.Certificate},
		MinVersion:   tls.VersionTLS12,
	}
	var httpSrv *http.Server
	if httpLn != nil {
		httpSrv = newServer("http")
	}

	if err := writeJSON(filepath.Join(cfg.DataDir, EndpointsFile), eps, 0o644); err != nil {
		return fmt.Errorf("endpoints: %w", err)
	}

	errc := make(chan error, 2)
	var wg sync.WaitGroup
	serve := func(srv *http.Server, ln net.Listener, tlsOn bool) {
		defer wg.Done()
		var err error
		if tlsOn {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}
	wg.Add(1)
	go serve(httpsSrv, httpsLn, true)
	if httpSrv != nil {
		wg.Add(1)
		go serve(httpSrv, httpLn, false)
	}

	// The banner is complete before /healthz answers 200, so whoever waits
	// for readiness can read it whole.
	a.printBanner(cfg.Banner)
	ready.Store(true)
	log.Info("latchkey ready", "https", eps.HTTPS, "http", eps.HTTP, "data_dir", cfg.DataDir)
	if cfg.Ready != nil {
		cfg.Ready(eps)
	}

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining in-flight requests")
	case serveErr = <-errc:
		log.Error("listener failed; shutting down", "err", serveErr)
	}
	ready.Store(false)

	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var shutErr error
	var mu sync.Mutex
	var sw sync.WaitGroup
	for _, srv := range []*http.Server{httpsSrv, httpSrv} {
		if srv == nil {
			continue
		}
		sw.Add(1)
		go func() {
			defer sw.Done()
			if err := srv.Shutdown(shutCtx); err != nil {
				mu.Lock()
				shutErr = errors.Join(shutErr, err)
				mu.Unlock()
				srv.Close()
			}
		}()
	}
	sw.Wait()
	cancelBase()
	wg.Wait()
	if shutErr != nil {
		log.Warn("shutdown did not drain every request in time", "err", shutErr)
	}
	// The listeners are gone: a stale endpoints.json would send clients
	// to ports that no longer answer (or that another program took).
	if err := os.Remove(filepath.Join(cfg.DataDir, EndpointsFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("could not remove endpoints.json", "err", err)
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

// dialAddress turns a bound address into one a client on this machine can
// dial: an unspecified IP (every interface) becomes the loopback address.
func dialAddress(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := ta.IP
	if ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(ta.Port))
}
