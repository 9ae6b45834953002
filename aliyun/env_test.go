package aliyun

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/console/sim"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/sqlite"
	"github.com/latchkey/latchkey/vault"
)

// The end-to-end tests run NewHandler over the real ECS and identity
// services (rules, state machine, RAM) in an httptest server and drive it
// through the official SDKs, configured as a user would: only the
// endpoint (and for HTTPS the CA) differs from the real cloud.

const testRegion = "cn-hangzhou"

// offsetClock is the wall clock shifted by an adjustable offset.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) Add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// testDriver is the sim console driver with a switch that makes a
// console unreachable, and a record of the password each console holds.
type testDriver struct {
	*sim.Driver
	mu   sync.Mutex
	down map[string]bool
	live map[string]string
}

func newTestDriver() *testDriver {
	return &testDriver{Driver: sim.New(), down: map[string]bool{}, live: map[string]string{}}
}

func (d *testDriver) SetConsolePassword(ctx context.Context, t core.ConsoleTarget, pw core.Secret) error {
	d.mu.Lock()
	down := d.down[t.ID]
	d.mu.Unlock()
	if down {
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable}
	}
	if err := d.Driver.SetConsolePassword(ctx, t, pw); err != nil {
		return err
	}
	d.mu.Lock()
	d.live[t.ID] = pw.Reveal()
	d.mu.Unlock()
	return nil
}

func (d *testDriver) setDown(id string, down bool) {
	d.mu.Lock()
	d.down[id] = down
	d.mu.Unlock()
}

// liveIs reports whether the console of id holds pw (without revealing
// either in a failure message).
func (d *testDriver) liveIs(id, pw string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live[id] == pw
}

// auditLog keeps audit events in memory.
type auditLog struct {
	mu     sync.Mutex
	events []core.AuditEvent
}

func (a *auditLog) Record(_ context.Context, ev core.AuditEvent) error {
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
	return nil
}

// Flush implements core.Auditor: Record stores at once.
func (a *auditLog) Flush(context.Context) error { return nil }

func (a *auditLog) all() []core.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]core.AuditEvent(nil), a.events...)
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type env struct {
	addr     string // host:port of the server
	srv      *httptest.Server
	pool     *x509.CertPool // the CA to trust, for TLS servers
	caPEM    []byte
	front    *offsetClock // the front end's clock (timestamp window, nonces)
	svcClock *offsetClock // the services' clock (state machine)
	store    core.Store
	identity *service.Identity
	ecs      *service.ECS
	driver   *testDriver
	audit    *auditLog
	logs     *syncBuffer
	root     service.Credentials
}

type envConfig struct {
	transition time.Duration
	tls        bool
}

type envOption func(*envConfig)

func withTransition(d time.Duration) envOption { return func(c *envConfig) { c.transition = d } }
func withTLS() envOption                       { return func(c *envConfig) { c.tls = true } }

// clearProxy empties the proxy variables: SDKv1 sends even loopback
// requests through a configured proxy (reference §1.5).
func clearProxy(t *testing.T) {
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(v, "")
	}
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	clearProxy(t)
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{front: &offsetClock{}, svcClock: &offsetClock{}, driver: newTestDriver(), audit: &auditLog{}, logs: &syncBuffer{}}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"), e.svcClock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	sealer, err := vault.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.Config{
		Store:      e.store,
		Sealer:     sealer,
		Hasher:     vault.NewHasher(vault.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, nil),
		Clock:      e.svcClock,
		Drivers:    map[string]core.ConsoleDriver{"sim": e.driver},
		Transition: cfg.transition,
	}
	e.identity = service.NewIdentity(svc)
	e.root, _, err = e.identity.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.ecs = service.NewECS(svc, catalog.NewAlibaba())
	h := NewHandler(Deps{
		Keys:  e.identity,
		ECS:   e.ecs,
		Audit: e.audit,
		Clock: e.front,
		Log:   slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if cfg.tls {
		e.srv = httptest.NewUnstartedServer(h)
		cert, pool, caPEM := testCA(t)
		e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		// A client that does not trust the CA is an expected test case;
		// keep its handshake error out of the output.
		e.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		e.srv.StartTLS()
		e.pool, e.caPEM = pool, caPEM
	} else {
		e.srv = httptest.NewServer(h)
	}
	t.Cleanup(e.srv.Close)
	e.addr = e.srv.Listener.Addr().String()
	t.Cleanup(func() {
		// Whatever the test did, no secret may have reached the log.
		logs := e.logs.String()
		if strings.Contains(logs, e.root.Secret.Reveal()) {
			t.Error("the access key secret appears in the server log")
		}
		if strings.Contains(strings.ToLower(logs), "authorization") {
			t.Error("the Authorization header appears in the server log")
		}
	})
	return e
}

// client returns an SDKv1 ECS client for the key, pointed at the server.
func (e *env) client(t *testing.T, ak core.AccessKeyID, secret string) *ecs.Client {
	t.Helper()
	cfg := sdk.NewConfig()
	if e.pool != nil {
		cfg = cfg.WithScheme("HTTPS").WithHttpTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.pool}})
	}
	c, err := ecs.NewClientWithOptions(testRegion, cfg, credentials.NewAccessKeyCredential(string(ak), secret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.addr
	return c
}

// rootClient is the client of the account root.
func (e *env) rootClient(t *testing.T) *ecs.Client {
	return e.client(t, e.root.AccessKeyID, e.root.Secret.Reveal())
}

// userKey creates an access key for a RAM user of the root's account.
func (e *env) userKey(t *testing.T, user core.UserName) service.Credentials {
	t.Helper()
	var creds service.Credentials
	err := e.store.Update(context.Background(), func(tx core.Tx) (err error) {
		creds, err = e.identity.CreateAccessKey(context.Background(), tx, e.root.AccountID, user)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it,
// as latchkey's first start does.
func testCA(t *testing.T) (tls.Certificate, *x509.CertPool, []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "latchkey test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, pool, caPEM
}
