// Package alitest runs latchkey's Alibaba Cloud RPC front end in-process,
// over the real services (ECS, E-HPC, RAM with the policy authorizer), a
// real SQLite store and vault, and the sim drivers, for end-to-end tests
// that drive it through Alibaba's official SDKs.
//
// Unlike internal/testenv, which runs the whole assembled server, a
// Server here hands its parts to the test: the visual driver's
// per-cluster fault switch (to reach AgentError, ExecFail, PartFailure,
// AliyunError, UnknownError and ServiceUnavailable), the account-state
// service (NotEnabled, InDebt) and the services themselves. It imports no
// SDK, so the nested module e2e/ehpc2018 can use it with the
// alibaba-cloud-sdk-go release that still has E-HPC 2018-04-12.
package alitest

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/aliyun"
	"github.com/latchkey/latchkey/catalog"
	consolesim "github.com/latchkey/latchkey/console/sim"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/sqlite"
	"github.com/latchkey/latchkey/vault"
	visualsim "github.com/latchkey/latchkey/visual/sim"
)

// Region is the region tests address.
const Region = "cn-hangzhou"

// Options configure a Server; the zero value is the 2025 password policy
// with a 2-second agent timeout.
type Options struct {
	Policy       core.EHPCPasswordPolicy
	AgentTimeout time.Duration
}

// Server is one running front end and what is behind it.
type Server struct {
	// Addr is the host:port to put in an SDK's Domain (plain HTTP).
	Addr string
	// Root is the root account's access key.
	Root service.Credentials

	Store    core.Store
	AuditLog *service.AuditLog
	Identity *service.Identity
	ECS      *service.ECS
	EHPC     *service.EHPC
	RAM      *service.RAM
	Accounts *service.Accounts
	// Visual is the sim visual driver: SetFault makes a cluster's nodes
	// fail or slow down.
	Visual *visualsim.Driver
	// LoginAddresses is the loopback range login nodes get addresses
	// from, a random 127.x.y.0/24 so that parallel tests never share one.
	LoginAddresses netip.Prefix

	logs *syncBuffer
}

// Start runs a server until the test ends. The server's log is checked at
// the end: no secret of the root key may appear in it.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	if opt.AgentTimeout == 0 {
		opt.AgentTimeout = 2 * time.Second
	}
	s := &Server{logs: &syncBuffer{}}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "latchkey.db"), core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s.Store = st
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		t.Fatal(err)
	}
	sealer, err := vault.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := service.Config{
		Store:   st,
		Sealer:  sealer,
		Hasher:  vault.NewHasher(vault.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, nil),
		Clock:   core.SystemClock{},
		Log:     log,
		Drivers: map[string]core.ConsoleDriver{"sim": consolesim.New()},
	}
	cfg.Authorizer = service.NewPolicyAuthorizer(cfg)
	s.Identity = service.NewIdentity(cfg)
	if s.Root, _, err = s.Identity.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Visual = visualsim.New()
	t.Cleanup(func() { s.Visual.Close() })
	s.LoginAddresses = netip.PrefixFrom(netip.AddrFrom4([4]byte{127, byte(64 + mrand.IntN(160)), byte(mrand.IntN(256)), 0}), 24)
	regions := catalog.NewAlibaba()
	s.ECS = service.NewECS(cfg, regions)
	s.EHPC = service.NewEHPC(cfg, service.EHPCConfig{
		Policy: opt.Policy, Drivers: map[string]core.VisualDriver{"sim": s.Visual},
		LoginAddresses: s.LoginAddresses, AgentTimeout: opt.AgentTimeout,
	}, regions)
	s.RAM = service.NewRAM(cfg, s.Identity)
	s.Accounts = service.NewAccounts(cfg)
	s.AuditLog = service.NewAuditLog(st, core.SystemClock{}, log)
	t.Cleanup(func() { s.AuditLog.Close() })
	srv := httptest.NewServer(aliyun.NewHandler(aliyun.Deps{
		Keys: s.Identity, ECS: s.ECS, EHPC: s.EHPC, RAM: s.RAM,
		Audit: s.AuditLog, Clock: core.SystemClock{}, Log: log,
	}))
	t.Cleanup(srv.Close)
	s.Addr = srv.Listener.Addr().String()
	t.Cleanup(func() {
		if strings.Contains(s.logs.String(), s.Root.Secret.Reveal()) {
			t.Error("the root access key secret appears in the server log")
		}
	})
	return s
}

// Logs returns what the server logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// Audit returns the audit events recorded for resource (all when empty).
func (s *Server) Audit(t testing.TB, resource string) []core.AuditEvent {
	t.Helper()
	if err := s.AuditLog.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []core.AuditEvent
	err := s.Store.View(context.Background(), func(tx core.Tx) (err error) {
		out, err = tx.QueryAudit(context.Background(), core.AuditFilter{Resource: resource})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RootCaller is the root account as a service caller, for setting up
// state without going through the front end.
func (s *Server) RootCaller() core.Caller {
	return core.Caller{Principal: core.Principal{AccountID: s.Root.AccountID, AccessKeyID: s.Root.AccessKeyID}}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
