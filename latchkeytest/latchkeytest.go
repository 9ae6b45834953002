package latchkeytest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// Credentials are the root account of a Server's data directory and its
// access key, which signs Alibaba RPC and BCE requests alike.
type Credentials struct {
	AccountID       string
	AccessKeyID     string
	AccessKeySecret string
}

// Option changes how Start configures the server.
type Option func(*settings)

// settings are what the options set.
type settings struct {
	cfg    server.Config
	fleets [][]byte
}

// WithDemo seeds the demo fleet on the first start (PRODUCT.md §7;
// `latchkey serve --demo`).
func WithDemo() Option { return func(s *settings) { s.cfg.Demo = true } }

// WithFleet applies a fleet file (README, "Describe the fleet in one
// file") through the internal API once the server is ready, before Start
// returns; the test fails if it does not apply. Several are applied in
// order. A Restart does not apply them again: the data directory keeps
// what they made.
func WithFleet(yaml []byte) Option {
	return func(s *settings) { s.fleets = append(s.fleets, bytes.Clone(yaml)) }
}

// WithEHPCPasswordPolicy chooses the E-HPC visual-service password policy:
// "2025" (the default) or "2024" (--ehpc-password-policy).
func WithEHPCPasswordPolicy(policy string) Option {
	return func(s *settings) { s.cfg.EHPCPasswordPolicy = policy }
}

// WithBCCPasswordPolicy chooses the BCC administrator password policy:
// "2020" (the default) or "2025" (--bcc-password-policy).
func WithBCCPasswordPolicy(policy string) Option {
	return func(s *settings) { s.cfg.BCCPasswordPolicy = policy }
}

// WithTransition sets how long Pending, Starting and Stopping last. The
// default here is 0 (immediate), unlike the binary's 300ms.
func WithTransition(d time.Duration) Option { return func(s *settings) { s.cfg.Transition = d } }

// WithDataDir keeps the server's state in dir instead of a fresh
// temporary directory, e.g. to start a second server on the data
// directory of a first one.
func WithDataDir(dir string) Option { return func(s *settings) { s.cfg.DataDir = dir } }

// WithConfig applies any change to the server's configuration, after the
// other options. Log and Banner are Start's own: it keeps the log (Logs)
// and the banner (Banner) of each start; a Ready it finds is called too.
func WithConfig(f func(*server.Config)) Option { return func(s *settings) { f(&s.cfg) } }

// Server is one latchkey running in the test's process. Its methods may
// be called from several goroutines, except Stop and Restart, which must
// not run alongside any other method.
type Server struct {
	cfg  server.Config
	logs *testutil.Buffer

	// Set by each start.
	app    *server.App
	eps    server.Endpoints
	banner string
	client *http.Client
	stop   func() error
}

// Start runs a latchkey on 127.0.0.1 with ports the kernel chooses and a
// temporary data directory, and returns once it is ready (/healthz
// answers 200) and the WithFleet files are applied. The test's cleanup
// stops it, draining in-flight requests, and shows its log if the test
// failed. Each server's E-HPC login nodes get addresses from a random
// loopback /24 of their own (testutil.LoopbackPrefix), so servers of
// parallel tests seldom compete for an address.
//
// The proxy variables that are set (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
// NO_PROXY, either case) are cleared for the test with t.Setenv, which a
// parallel test cannot do: run parallel tests with them unset. SDKv1
// sets its transport's proxy from them itself, without Go's loopback
// exemption.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	testutil.NoProxy(t)
	st := settings{cfg: server.Defaults()}
	st.cfg.DataDir = filepath.Join(t.TempDir(), "data")
	st.cfg.Listen = "127.0.0.1:0"
	st.cfg.HTTPListen = "127.0.0.1:0"
	st.cfg.Transition = 0
	// Outside the binary's default 127.31.0.0/16, so a latchkey serve
	// running beside the tests is not disturbed either.
	st.cfg.EHPCLoginAddresses = testutil.LoopbackPrefix()
	for _, o := range opts {
		o(&st)
	}
	s := &Server{cfg: st.cfg, logs: new(testutil.Buffer)}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("latchkey did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("latchkey log:\n%s", s.logs.String())
		}
	})
	if err := s.start(); err != nil {
		t.Fatalf("latchkey did not start: %v\nlog:\n%s", err, s.logs.String())
	}
	for i, f := range st.fleets {
		if err := s.ApplyFleet(f); err != nil {
			t.Fatalf("fleet file %d: %v", i+1, err)
		}
	}
	return s
}

// start binds the listeners, builds the server on them and serves it
// until stop; it returns once the server is ready.
func (s *Server) start() error {
	cfg := s.cfg
	cfg.Log = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var banner strings.Builder
	cfg.Banner = &banner
	ready := make(chan struct{})
	userReady := cfg.Ready
	cfg.Ready = func(eps server.Endpoints) {
		if userReady != nil {
			userReady(eps)
		}
		close(ready)
	}

	httpsLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	var httpLn net.Listener
	if cfg.HTTPListen != "" {
		if httpLn, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			httpsLn.Close()
			return err
		}
	}
	cfg.Endpoints = server.Endpoints{HTTPS: httpsLn.Addr().String()}
	if httpLn != nil {
		cfg.Endpoints.HTTP = httpLn.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		httpsLn.Close()
		if httpLn != nil {
			httpLn.Close()
		}
		return err
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, httpsLn, httpLn) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = errors.Join(<-done, app.Close())
		})
		return stopErr
	}
	select {
	case <-ready:
	case err := <-done:
		cancel()
		return errors.Join(err, app.Close())
	}

	s.app, s.eps, s.banner, s.stop = app, cfg.Endpoints, banner.String(), stop
	s.client = &http.Client{
		Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: app.CAPool(), MinVersion: tls.VersionTLS12}},
		Timeout:   2 * time.Minute,
	}
	resp, err := s.client.Get("https://" + s.eps.HTTPS + "/healthz")
	if err != nil {
		return fmt.Errorf("GET /healthz: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz once ready: %s", resp.Status)
	}
	return nil
}

// Stop stops the server, draining in-flight requests, and returns what
// serving it returned. Stopping twice, or a server that Start's cleanup
// stopped, is harmless.
func (s *Server) Stop() error {
	if s.stop == nil {
		return nil
	}
	return s.stop()
}

// Restart stops the server and starts it again on the same data
// directory, with new ports; it returns once the server is ready again.
// Clients made before it point at the old ports: make new ones.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return fmt.Errorf("stop before restart: %w", err)
	}
	s.stop = nil
	return s.start()
}

// HTTPEndpoint is the plain-HTTP listener's host:port, what an SDK's
// endpoint (Domain) is set to; empty when WithConfig disabled it.
func (s *Server) HTTPEndpoint() string { return s.eps.HTTP }

// HTTPSEndpoint is the HTTPS listener's host:port: every API, the
// consoles (wss://) and the internal API. Clients trust CACertPool.
func (s *Server) HTTPSEndpoint() string { return s.eps.HTTPS }

// Credentials are the root account and its access key
// (DATA_DIR/credentials.json).
func (s *Server) Credentials() Credentials {
	r := s.app.Root
	return Credentials{AccountID: string(r.AccountID), AccessKeyID: string(r.AccessKeyID), AccessKeySecret: r.Secret.Reveal()}
}

// CACertPool holds only the data directory's CA, which signed the HTTPS
// listener's certificate.
func (s *Server) CACertPool() *x509.CertPool { return s.app.CAPool() }

// HTTPClient is a client that trusts CACertPool and uses no proxy.
func (s *Server) HTTPClient() *http.Client { return s.client }

// DataDir is the server's data directory.
func (s *Server) DataDir() string { return s.cfg.DataDir }

// EHPCLoginAddresses is the loopback range the server's E-HPC login nodes
// get their addresses from (each node's PublicIpAddress).
func (s *Server) EHPCLoginAddresses() netip.Prefix { return s.cfg.EHPCLoginAddresses }

// Logs is everything the server logged so far, at debug level. It never
// holds a password, a secret key or an Authorization header.
func (s *Server) Logs() string { return s.logs.String() }

// Banner is the startup text the server printed at its last start. On the
// first start in a data directory it holds the root access key's secret.
func (s *Server) Banner() string { return s.banner }

// App is the assembled server of the current start, for tests that reach
// past the APIs: its store, services and fault injector. A Restart
// replaces it.
func (s *Server) App() *server.App { return s.app }

// AdminError is an answer of the internal API that is not a success.
type AdminError struct {
	Status  int    // HTTP status
	Code    string // the internal API's error code
	Message string
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("latchkey internal API: %d %s: %s", e.Status, e.Code, e.Message)
}

// Admin calls the internal API (PRODUCT.md §8) over HTTPS with the admin
// token: method on /_latchkey/path, e.g. ("PATCH", "accounts/root",
// map[string]any{"in_debt": true}, nil). in is the request body: a
// []byte as is (a fleet file), anything else but nil as JSON. The answer
// is decoded into out unless out is nil. An answer that is not 2xx is an
// *AdminError.
func (s *Server) Admin(method, path string, in, out any) error {
	var body io.Reader
	switch b := in.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, "https://"+s.eps.HTTPS+"/_latchkey/"+strings.TrimPrefix(path, "/"), body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.app.AdminToken.Reveal())
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error, Code string }
		if json.Unmarshal(raw, &e) != nil || e.Code == "" {
			e.Error = strings.TrimSpace(string(raw))
		}
		return &AdminError{Status: resp.StatusCode, Code: e.Code, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// ApplyFleet applies a fleet file through the internal API (POST
// /_latchkey/fleet): it creates what is missing and changes what differs,
// setting passwords through the services, so they reach the consoles.
func (s *Server) ApplyFleet(yaml []byte) error {
	if yaml == nil {
		yaml = []byte{}
	}
	return s.Admin("POST", "fleet", yaml, nil)
}

// AddFault adds a fault rule through the internal API (POST
// /_latchkey/faults; README, "Make the console fail") and returns it as
// stored, with its ID. Rules stay until they are spent or removed
// (Admin("DELETE", "faults/"+id, nil, nil), or "faults" for all).
func (s *Server) AddFault(r faults.Rule) (faults.Rule, error) {
	var added faults.Rule
	err := s.Admin("POST", "faults", r, &added)
	return added, err
}
