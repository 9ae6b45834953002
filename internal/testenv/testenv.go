// Package testenv runs a whole latchkey server in-process for latchkey's
// own tests and hands back the official SDK clients already pointed at
// it, the way a user would configure them: only the endpoint (and, for
// HTTPS, the CA to trust) differs from talking to the real cloud.
//
// The server is latchkeytest's: on 127.0.0.1 with ports chosen by the
// kernel, in a temporary data directory, ready when Start returns and
// stopped (draining requests, as SIGTERM would) by the test's cleanup.
// testenv adds the SDK clients, which latchkeytest leaves to its users,
// and checks at cleanup that the root access key's secret never reached
// the server's log.
package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/baidubce/bce-sdk-go/services/bcc"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

// Region is the region the clients are configured for.
const Region = "cn-hangzhou"

// Env is one running latchkey. Its fields describe the current start;
// Restart updates them.
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

	lk *latchkeytest.Server
}

// Option changes the server's configuration before it starts.
type Option = latchkeytest.Option

// WithDemo seeds the demo fleet (PRODUCT.md §7).
func WithDemo() Option { return latchkeytest.WithDemo() }

// WithTransition sets the duration of each intermediate instance status;
// the default here is 0 (immediate), unlike the binary's.
func WithTransition(d time.Duration) Option { return latchkeytest.WithTransition(d) }

// WithDataDir uses dir instead of a fresh temporary directory.
func WithDataDir(dir string) Option { return latchkeytest.WithDataDir(dir) }

// WithConfig applies an arbitrary change to the configuration.
func WithConfig(f func(*server.Config)) Option { return latchkeytest.WithConfig(f) }

// Start runs a server (latchkeytest.Start) and waits until it is ready.
// Its debug log is kept (Logs) and shown when the test fails; at cleanup
// the test fails if the log holds the root access key's secret.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e := &Env{lk: latchkeytest.Start(t, opts...)}
	e.refresh(t)
	secret := e.Credentials.AccessKeySecret
	t.Cleanup(func() {
		if strings.Contains(e.Logs(), secret) {
			t.Error("the root access key's secret appears in the server's log")
		}
	})
	return e
}

// refresh reads what a start set: endpoints, credentials, CA, banner.
func (e *Env) refresh(t testing.TB) {
	t.Helper()
	lk := e.lk
	e.DataDir = lk.DataDir()
	e.Endpoints = server.Endpoints{HTTPS: lk.HTTPSEndpoint(), HTTP: lk.HTTPEndpoint()}
	e.Credentials = server.Credentials(lk.Credentials())
	e.Banner = lk.Banner()
	e.CAFile = filepath.Join(e.DataDir, server.TLSDir, "ca.pem")
	var err error
	if e.CAPEM, err = os.ReadFile(e.CAFile); err != nil {
		t.Fatal(err)
	}
	e.CAPool = x509.NewCertPool()
	if !e.CAPool.AppendCertsFromPEM(e.CAPEM) {
		t.Fatalf("%s holds no certificate", e.CAFile)
	}
}

// Stop stops the server, draining in-flight requests, and returns what
// serving it returned. Stopping twice is harmless.
func (e *Env) Stop() error { return e.lk.Stop() }

// Restart stops the server and starts it again on the same data
// directory, with new ports. Clients made before a restart point at the
// old ports: make new ones.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	if err := e.lk.Restart(); err != nil {
		t.Fatalf("restart: %v\nlog:\n%s", err, e.Logs())
	}
	e.refresh(t)
}

// Logs returns everything the server has logged so far, at debug level.
func (e *Env) Logs() string { return e.lk.Logs() }

// Server is the latchkeytest server underneath: CheckConsolePassword,
// ApplyFleet, AddFault, Admin, EHPCLoginAddresses.
func (e *Env) Server() *latchkeytest.Server { return e.lk }

// App is the assembled server of the current start: its store, services,
// fault injector and audit log.
func (e *Env) App() *server.App { return e.lk.App() }

// Audit returns the audit events that match f, after writing every event
// recorded so far.
func (e *Env) Audit(t testing.TB, f core.AuditFilter) []core.AuditEvent {
	t.Helper()
	ctx := context.Background()
	app := e.App()
	if err := app.Audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var out []core.AuditEvent
	err := app.Store.View(ctx, func(tx core.Tx) (err error) {
		out, err = tx.QueryAudit(ctx, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

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
	return e.ECSWithKey(t, e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret)
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

// EHPCRequest returns a CommonRequest for action of E-HPC 2018-04-12 on
// the plain-HTTP listener, the way the aliyun CLI sends it: GET, with
// params in the query. Send it with a Common client.
func (e *Env) EHPCRequest(action string, params map[string]string) *requests.CommonRequest {
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain = "GET", "http", e.Endpoints.HTTP
	req.Product, req.Version, req.ApiName = "EHPC", "2018-04-12", action
	for k, v := range params {
		req.QueryParams[k] = v
	}
	return req
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
