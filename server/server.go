package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// defaultShutdownTimeout bounds the drain of in-flight requests.
const defaultShutdownTimeout = 30 * time.Second

// Run serves latchkey until ctx is cancelled, then drains in-flight
// requests and returns nil. It binds both listeners, builds the server on
// their addresses (New), and serves it (Serve): endpoints.json is written
// before it reports ready, /healthz answers 200 and cfg.Ready is called.
// Any failure before that is returned with nothing left running.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()

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
	cfg.Endpoints = Endpoints{HTTPS: dialAddress(httpsLn.Addr())}
	if httpLn != nil {
		cfg.Endpoints.HTTP = dialAddress(httpLn.Addr())
	}

	a, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Serve(ctx, httpsLn, httpLn)
}

// Serve serves the App on httpsLn (with TLS) and, unless it is nil,
// httpLn (plain HTTP) until ctx is cancelled or a listener fails, then
// drains in-flight requests (at most Config.ShutdownTimeout) and returns:
// nil after a cancellation, the listener's error otherwise. The listeners
// must be the ones Config.Endpoints names; Serve closes them.
//
// Before reporting ready it writes endpoints.json and prints the banner;
// then /healthz answers 200 and Config.Ready is called. While draining
// /healthz answers 503; console sessions (hijacked connections) end once
// the drain is over; endpoints.json is removed at the end. Serve may be
// called once per App; the caller still Closes the App afterwards.
func (a *App) Serve(ctx context.Context, httpsLn, httpLn net.Listener) error {
	if !a.served.CompareAndSwap(false, true) {
		return errors.New("server: Serve called twice on one App")
	}
	cfg, log := a.cfg, a.cfg.Log
	eps := cfg.Endpoints
	httpsLn = limitListener(httpsLn, cfg.MaxConnections)
	if httpLn != nil {
		httpLn = limitListener(httpLn, cfg.MaxConnections)
	}

	// baseCtx outlives Shutdown's drain and is cancelled after it, so
	// long-lived hijacked connections (console WebSockets) end too.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	newServer := func(name string) *http.Server {
		return &http.Server{
			Handler:           a.handler,
			ReadHeaderTimeout: readHeaderTimeout,
			IdleTimeout:       2 * time.Minute,
			BaseContext:       func(net.Listener) context.Context { return baseCtx },
			ErrorLog:          slog.NewLogLogger(log.With("listener", name).Handler(), slog.LevelDebug),
		}
	}
	httpsSrv := newServer("https")
	httpsSrv.TLSConfig = a.TLSConfig()
	var httpSrv *http.Server
	if httpLn != nil {
		httpSrv = newServer("http")
	}

	if err := writeJSON(filepath.Join(cfg.DataDir, EndpointsFile), eps, 0o644); err != nil {
		httpsLn.Close()
		if httpLn != nil {
			httpLn.Close()
		}
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
	a.banner.print(cfg.Banner)
	a.ready.Store(true)
	close(a.up)
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
	a.ready.Store(false)

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
