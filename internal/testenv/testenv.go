// Package testenv runs a whole latchkey server in-process for tests and
// hands back the official SDK clients already pointed at it, the way a
// user would configure them: only the endpoint (and, for HTTPS, the CA to
// trust) differs from talking to the real cloud.
//
// A server listens on 127.0.0.1 with ports chosen by the kernel and keeps
// its state in a temporary data directory; Start returns once /healthz
// answers 200, and the test's cleanup stops it (draining requests, as
// SIGTERM would). Restart stops and starts it again on the same data
// directory.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/baidubce/bce-sdk-go/services/bcc"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/server"
)

// Region is the region the clients are configured for.
const Region = "cn-hangzhou"

// Env is one running latchkey.
type Env struct {
	// DataDir is the server's data directory.
	DataDir string
	// Endpoints are the bound addresses (host:port).
	Endpoints server.Endpoints
	// Credentials are the root account's access key (credentials.json).
	Credentials server.Credentials
	// CAFile is the path of the CA certificate; CAPEM its content and
	// CAPool a pool holding it alone.
	CAFile string
	CAPEM  []byte
	CAPool *x509.CertPool
	// Banner is what the server printed at its last start.
	Banner string

	cfg  server.Config
	logs *syncBuffer
	stop func() error
}

// Option changes the server's configuration before it starts.
type Option func(*server.Config)

// WithDemo seeds the demo fleet (PRODUCT.md §7).
func WithDemo() Option { return func(c *server.Config) { c.Demo = true } }

// WithTransition sets the duration of each intermediate instance status;
// the default here is 0 (immediate), unlike the binary's.
func WithTransition(d time.Duration) Option { return func(c *server.Config) { c.Transition = d } }

// WithDataDir uses dir instead of a fresh temporary directory.
func WithDataDir(dir string) Option { return func(c *server.Config) { c.DataDir = dir } }

// WithConfig applies an arbitrary change to the configuration.
func WithConfig(f func(*server.Config)) Option { return Option(f) }

// Start runs a server and waits until it is ready. Its debug log is kept
// (Logs) and shown when the test fails. Proxy variables that are set are
// cleared for the test with t.Setenv, which a parallel test cannot do:
// run parallel tests with them unset (.ci/run does).
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	// These would route the SDKs' loopback requests through a proxy:
	// SDKv1 sets its transport's proxy from them explicitly, without Go's
	// loopback exemption.
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		if os.Getenv(k) != "" {
			t.Setenv(k, "")
		}
	}
	cfg := server.Defaults()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Listen = "127.0.0.1:0"
	cfg.HTTPListen = "127.0.0.1:0"
	cfg.Transition = 0
	// Each server's E-HPC login nodes listen on a loopback range of their
	// own, so servers of tests running in parallel (in this process or
	// another) do not compete for the same address and port.
	var r [2]byte
	if _, err := rand.Read(r[:]); err != nil {
		t.Fatal(err)
	}
	cfg.EHPCLoginAddresses = netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 32 + r[0]%200, r[1], 0}), 24)
	for _, o := range opts {
		o(&cfg)
	}
	e := &Env{DataDir: cfg.DataDir, cfg: cfg, logs: new(syncBuffer)}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("latchkey did not stop cleanly: %v", err)
		}
		if t.Failed() {
			t.Logf("latchkey log:\n%s", e.logs.String())
		}
	})
	e.start(t)
	return e
}

func (e *Env) start(t testing.TB) {
	t.Helper()
	cfg := e.cfg
	var banner syncBuffer
	cfg.Log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Banner = &banner
	ready := make(chan server.Endpoints, 1)
	cfg.Ready = func(eps server.Endpoints) { ready <- eps }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Run(ctx, cfg) }()
	var once sync.Once
	var runErr error
	e.stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	select {
	case eps := <-ready:
		e.Endpoints = eps
	case err := <-done:
		cancel()
		e.stop = func() error { return nil }
		t.Fatalf("latchkey did not start: %v\nlog:\n%s", err, e.logs.String())
	}
	e.Banner = banner.String()

	var err error
	if e.Credentials, err = server.ReadCredentials(e.DataDir); err != nil {
		t.Fatal(err)
	}
	e.CAFile = filepath.Join(e.DataDir, server.TLSDir, "ca.pem")
	if e.CAPEM, err = os.ReadFile(e.CAFile); err != nil {
		t.Fatal(err)
	}
	e.CAPool = x509.NewCertPool()
	if !e.CAPool.AppendCertsFromPEM(e.CAPEM) {
		t.Fatalf("%s holds no certificate", e.CAFile)
	}
	resp, err := e.HTTPClient().Get(e.URL("/healthz"))
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz after ready: %s", resp.Status)
	}
}

// Stop stops the server, draining in-flight requests, and returns what
// server.Run returned. Stopping twice is harmless.
func (e *Env) Stop() error {
	if e.stop == nil {
		return nil
	}
	return e.stop()
}

// Restart stops the server and starts it again on the same data
// directory, with new ports. Clients made before a restart point at the
// old ports: make new ones.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	if err := e.Stop(); err != nil {
		t.Fatalf("stop before restart: %v", err)
	}
	e.start(t)
}

// Logs returns everything the server has logged so far, at debug level.
func (e *Env) Logs() string { return e.logs.String() }

// URL returns the https:// URL of path on the HTTPS listener.
func (e *Env) URL(path string) string { return "https://" + e.Endpoints.HTTPS + path }

// HTTPURL returns the http:// URL of path on the plain-HTTP listener.
func (e *Env) HTTPURL(path string) string { return "http://" + e.Endpoints.HTTP + path }

// TLSConfig trusts latchkey's CA and nothing else.
func (e *Env) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: e.CAPool, MinVersion: tls.VersionTLS12}
}

// HTTPClient is a plain Go client that trusts latchkey's CA and uses no
// proxy.
func (e *Env) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: e.TLSConfig()}, Timeout: 30 * time.Second}
}

// ECS returns an Alibaba Cloud Go SDK (v1) ECS client that talks plain
// HTTP to latchkey, configured as the README tells users to.
func (e *Env) ECS(t testing.TB) *ecs.Client {
	t.Helper()
	c, err := ecs.NewClientWithAccessKey(Region, e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	return c
}

// ECSHTTPS returns an SDKv1 ECS client that talks HTTPS to latchkey and
// trusts its CA.
func (e *Env) ECSHTTPS(t testing.TB) *ecs.Client {
	t.Helper()
	cfg := sdk.NewConfig().WithScheme("HTTPS").WithHttpTransport(&http.Transport{TLSClientConfig: e.TLSConfig()})
	c, err := ecs.NewClientWithOptions(Region, cfg, credentials.NewAccessKeyCredential(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTPS
	return c
}

// ECSWithKey returns a plain-HTTP SDKv1 ECS client signing with another
// access key (a RAM user's, or a wrong secret).
func (e *Env) ECSWithKey(t testing.TB, accessKeyID, secret string) *ecs.Client {
	t.Helper()
	c, err := ecs.NewClientWithAccessKey(Region, accessKeyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	return c
}

// RAM returns an SDKv1 RAM client (API 2015-05-01) that talks plain HTTP
// to latchkey with the root access key.
func (e *Env) RAM(t testing.TB) *ram.Client {
	t.Helper()
	c, err := ram.NewClientWithAccessKey(Region, e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	return c
}

// Common returns an SDKv1 client for CommonRequest calls (what the aliyun
// CLI does, and the way to E-HPC 2018-04-12, which SDKv1 v1.63.107's typed
// clients lack), plain HTTP, signing with the given key (the root's when
// accessKeyID is empty). Requests need Domain set to e.Endpoints.HTTP.
func (e *Env) Common(t testing.TB, accessKeyID, secret string) *sdk.Client {
	t.Helper()
	if accessKeyID == "" {
		accessKeyID, secret = e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret
	}
	c, err := sdk.NewClientWithAccessKey(Region, accessKeyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BCC returns a bce-sdk-go BCC client that talks plain HTTP to latchkey
// (the SDK's default for an endpoint without a scheme).
func (e *Env) BCC(t testing.TB) *bcc.Client {
	t.Helper()
	c, err := bcc.NewClient(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret, "http://"+e.Endpoints.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// BCCHTTPS returns a bce-sdk-go BCC client that talks HTTPS to latchkey
// and trusts its CA. The SDK does not apply its own NoVerifySSL on this
// path, so the client's HTTPClient is replaced (bce-rest.md §3.1).
func (e *Env) BCCHTTPS(t testing.TB) *bcc.Client {
	t.Helper()
	c, err := bcc.NewClient(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret, "https://"+e.Endpoints.HTTPS)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTPClient = e.HTTPClient()
	return c
}

// OpenAPI returns a darabonba-openapi v2 client, which signs with V3
// (ACS3-HMAC-SHA256). https selects HTTPS with latchkey's CA (Config.Ca);
// otherwise it talks plain HTTP.
//
// The tea runtime caches HTTP clients per host and options but not per CA
// (reference §2.5), so a test that expects a TLS failure must use a
// different host or IgnoreSSL setting than earlier successful calls.
func (e *Env) OpenAPI(t testing.TB, https bool) *openapi.Client {
	t.Helper()
	cfg := &openapi.Config{
		AccessKeyId:     dara.String(e.Credentials.AccessKeyID),
		AccessKeySecret: dara.String(e.Credentials.AccessKeySecret),
		RegionId:        dara.String(Region),
		Endpoint:        dara.String(e.Endpoints.HTTP),
		Protocol:        dara.String("HTTP"),
	}
	if https {
		cfg.Endpoint = dara.String(e.Endpoints.HTTPS)
		cfg.Protocol = dara.String("HTTPS")
		cfg.Ca = dara.String(string(e.CAPEM))
	}
	c, err := openapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// DialConsole opens the console behind a URL as DescribeInstanceVncUrl
// returns it (percent-encoded or not), trusting latchkey's CA, and returns
// the RFB byte stream.
func (e *Env) DialConsole(ctx context.Context, consoleURL string) (net.Conn, error) {
	return gateway.Dial(ctx, consoleURL, e.HTTPClient())
}

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
