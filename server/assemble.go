package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/latchkey/latchkey/aliyun"
	"github.com/latchkey/latchkey/bce"
	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/sim"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/pki"
	"github.com/latchkey/latchkey/internalapi"
	"github.com/latchkey/latchkey/metrics"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/postgres"
	"github.com/latchkey/latchkey/store/sqlite"
	"github.com/latchkey/latchkey/vault"
)

// assemble builds the App from cfg: the data directory's secrets (admin
// token, master key), the store, the services, the drivers behind the
// fault rules, the root account, the demo fleet on a first start with
// --demo, the front ends and the routes. It is the one place where
// latchkey is wired. tlsMat is the data directory's TLS material. On
// error everything opened so far is closed.
func assemble(ctx context.Context, cfg Config, tlsMat *pki.Material) (_ *App, err error) {
	log := cfg.Log
	eps := cfg.Endpoints
	a := &App{cfg: cfg, tls: tlsMat, banner: banner{dataDir: cfg.DataDir, eps: eps, caFile: tlsMat.CAFile}, up: make(chan struct{})}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	adminToken, created, err := loadOrCreateToken(filepath.Join(cfg.DataDir, AdminTokenFile), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	if created {
		log.Info("admin token written", "file", filepath.Join(cfg.DataDir, AdminTokenFile))
	}

	key, err := vault.LoadOrCreateKey(filepath.Join(cfg.DataDir, vault.KeyFileName))
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	sealer, err := vault.NewSealer(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	hasher := vault.NewHasher(vault.DefaultParams(), nil)

	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, st.Close)
	// The audit log closes after everything that records to it, and
	// before the store.
	audit := service.NewAuditLog(st, cfg.Clock, log.With("component", "audit"))
	a.closers = append(a.closers, audit.Close)

	// Console drivers are wrapped from the inside out: fault rules first
	// (PRODUCT.md §8), then the metrics that count what the service saw.
	m := metrics.New()
	if cs, ok := st.(metrics.CommitStats); ok {
		m.ObserveCommits(cs)
	}
	// One blacklist for every VNC surface latchkey answers (PRODUCT.md
	// §10): the console gateway and the sim visual services. It is kept
	// in the store, so every replica refuses a source blocked through
	// any of them.
	guard := blacklist.New(blacklist.Config{
		Ledger: blacklist.NewStore(st, blacklist.Policy{}), Clock: cfg.Clock,
		Auditor: audit, Recorder: m, Log: log.With("component", "vnc-blacklist"),
	})
	injector := faults.New(faults.Config{Store: st, Clock: cfg.Clock, Sleep: cfg.FaultSleep, Observer: m, Log: log.With("component", "faults")})
	simDriver := sim.New()
	simDriver.OnAuth = m.ConsoleLogin
	consoleDrivers := map[string]core.ConsoleDriver{"sim": simDriver}
	if err := a.addQEMUDriver(cfg, consoleDrivers); err != nil {
		return nil, fmt.Errorf("qemu console driver: %w", err)
	}
	if err := a.addLibvirtDriver(cfg, consoleDrivers); err != nil {
		return nil, fmt.Errorf("libvirt console driver: %w", err)
	}
	drivers := metrics.ConsoleDrivers(injector.ConsoleDrivers(consoleDrivers), m)
	svc := service.Config{
		Store:   st,
		Sealer:  sealer,
		Hasher:  hasher,
		Clock:   cfg.Clock,
		Log:     log.With("component", "service"),
		Drivers: drivers,
		Probes:  consoleDrivers,
		// Machines follow their instances (start, stop, reboot, delete).
		Machines: machineDrivers(consoleDrivers),
		// The interval until the store holds one; it does from the
		// write below on.
		Transition: cfg.Transition,
	}
	// The transition interval lives in the store, read by every
	// transaction that schedules a transition, so a change through the
	// internal API of any replica holds on all of them. Every start sets
	// it to --transition (the flag sets the interval).
	timing := service.NewTiming(svc)
	if err := timing.SetTransition(ctx, cfg.Transition); err != nil {
		return nil, fmt.Errorf("transition interval: %w", err)
	}
	// Every call is authorized by RAM policy; roots are always allowed
	// (PRODUCT.md §4).
	svc.Authorizer = service.NewPolicyAuthorizer(svc)
	identity := service.NewIdentity(svc)
	creds, first, err := identity.Bootstrap(ctx)
	if err != nil {
		return nil, fmt.Errorf("root account: %w", err)
	}
	if err := ensureCredentialsFile(cfg, creds, first); err != nil {
		return nil, err
	}
	a.banner.accountID, a.banner.accessKeyID = string(creds.AccountID), string(creds.AccessKeyID)
	if first {
		a.banner.secret = creds.Secret.Reveal()
		log.Info("root account created", "account_id", creds.AccountID, "access_key_id", creds.AccessKeyID, "file", filepath.Join(cfg.DataDir, CredentialsFile))
	}

	// New ECS instances get --console-driver's driver; BCC instances
	// keep sim unless it is libvirt (see bccDefaultDriver).
	ecsSvc := svc
	ecsSvc.DefaultDriver = cfg.ecsDefaultDriver()
	ecs := service.NewECS(ecsSvc, catalog.NewAlibaba())
	// ECS consoles take their live passwords from the store when they
	// need them (sim at each login, qemu when a console opens): every
	// replica's consoles agree, and nothing is pushed at start.
	for _, d := range consoleDrivers {
		if s, ok := d.(interface {
			ServeFrom(string, core.ConsolePasswords)
		}); ok {
			s.ServeFrom("ecs", ecs)
		}
	}
	bccSvc := svc
	bccSvc.DefaultDriver = cfg.bccDefaultDriver()
	bcc := service.NewBCC(bccSvc, core.BCCPasswordPolicy(cfg.BCCPasswordPolicy))
	// The sim BCC guest's console checks its administrator's VeNCrypt
	// Plain login against the stored hash (PRODUCT.md §6).
	simDriver.CheckLoginsWith("bcc", bcc)

	// E-HPC login nodes serve their visual service through the sim
	// driver on loopback addresses of their own, or through the tigervnc
	// driver on real nodes (--visual-driver); fault rules apply at this
	// node boundary too.
	visualDrivers, visualWithFaults, err := a.addVisualDrivers(cfg, injector, guard)
	if err != nil {
		return nil, fmt.Errorf("visual drivers: %w", err)
	}
	ehpcPolicy := core.EHPCPasswordPolicy(cfg.EHPCPasswordPolicy)
	ehpc := service.NewEHPC(svc, service.EHPCConfig{
		Policy:         ehpcPolicy,
		Drivers:        visualWithFaults,
		Probes:         visualDrivers,
		DefaultDriver:  cfg.visualDefaultDriver(),
		LoginAddresses: cfg.EHPCLoginAddresses,
	}, catalog.NewAlibaba())
	// Visual services inside latchkey (sim) take their passwords and
	// settings from the store at every connection, and are served by the
	// one replica that holds their lease (EHPC.FollowVisual).
	for _, d := range visualDrivers {
		if s, ok := d.(interface{ ServeFrom(core.VisualServices) }); ok {
			s.ServeFrom(ehpc)
		}
	}
	ram := service.NewRAM(svc, identity)
	accounts := service.NewAccounts(svc)
	registry := service.NewRegistry(svc, identity, accounts, ecs, ehpc, bcc, ram)
	// Documents an older latchkey stored get their labels before any
	// listing is answered (a no-op, one index lookup, once done).
	if n, err := registry.Relabel(ctx); err != nil {
		return nil, fmt.Errorf("relabel: %w", err)
	} else if n > 0 {
		log.Info("documents labeled for indexed listings", "documents", n)
	}
	// Consoles and visual services hold no state across a restart of
	// latchkey: the store's passwords are the truth. Reconcile bypasses
	// fault rules: stored rules stop client operations, and must not
	// leave consoles without their passwords. The sim visual listeners
	// start after ready, at the follow's first pass.
	if err := registry.Reconcile(faults.Bypass(ctx)); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	// After ready, in the background: the sim visual listeners follow
	// the store, and the tigervnc nodes get the services the store has
	// started (their agents may have restarted meanwhile).
	followCtx, stopFollowing := context.WithCancel(faults.Bypass(context.WithoutCancel(ctx)))
	var followed sync.WaitGroup
	followed.Go(func() { ehpc.FollowVisual(followCtx, a.up) })
	followed.Go(func() { ehpc.ReconcileRemote(followCtx, a.up) })
	a.closers = append(a.closers, func() error {
		stopFollowing()
		followed.Wait()
		return nil
	})

	if cfg.Demo && first {
		if err := seedDemo(ctx, registry, ehpc, creds, ehpcPolicy, rand.Reader, &a.banner); err != nil {
			return nil, fmt.Errorf("demo fleet: %w", err)
		}
		log.Info("demo fleet seeded", "ecs", len(a.banner.demo), "bcc", len(a.banner.demoBCC), "ehpc", 1)
	}

	a.followMachines(ecs, bcc)
	consoles := service.NewConsoles(svc, map[string]service.ConsoleSource{"ecs": ecs, "bcc": bcc})
	if cfg.Pprof {
		// One in 5 mutex contention events, and blocking of 10µs or more.
		runtime.SetMutexProfileFraction(5)
		runtime.SetBlockProfileRate(10_000)
	}
	a.Store, a.Root, a.AdminToken = st, creds, adminToken
	a.Identity, a.Accounts, a.ECS, a.EHPC, a.BCC, a.RAM = identity, accounts, ecs, ehpc, bcc, ram
	a.Registry, a.Faults, a.Audit = registry, injector, audit
	a.ConsoleDrivers, a.VisualDrivers = consoleDrivers, visualDrivers
	limits := newRequestLimits(cfg.RequestMemory, cfg.RequestReadTimeout)
	a.handler = logRequests(log, limits.wrap(newHandler(routeDeps{
		ready:   &a.ready,
		metrics: m.Handler(),
		aliyun: m.Middleware("aliyun", aliyun.NewHandler(aliyun.Deps{
			Keys:       identity,
			Nonces:     service.NewNonces(st),
			ECS:        metrics.ECS(ecs, m),
			EHPC:       ehpc,
			RAM:        ram,
			Audit:      audit,
			Clock:      cfg.Clock,
			Log:        log.With("component", "aliyun"),
			ConsoleURL: a.ConsoleURL,
		})),
		bce: m.Middleware("bce", bce.NewServer(bce.Config{
			BCC:           bcc,
			Keyring:       identity,
			Auditor:       audit,
			Clock:         cfg.Clock,
			Log:           log.With("component", "bce"),
			DefaultRegion: core.RegionID(cfg.BCERegion),
			ConsoleURL:    a.ConsoleURL,
		})),
		vnc: &gateway.Handler{
			Consoles: metrics.Consoles(consoles, m), Log: log.With("component", "gateway"),
			Guard: guard, Origins: ownOrigins(eps),
		},
		// The internal API (PRODUCT.md §8).
		internal: internalapi.Handler(internalapi.Deps{
			Token: adminToken, Store: st, Registry: registry, Clock: cfg.Clock,
			Log: log.With("component", "internal"), Audit: audit, Metrics: m,
			Root:       core.Principal{AccountID: creds.AccountID, AccessKeyID: creds.AccessKeyID},
			Faults:     injector,
			Timing:     timing,
			EHPCPolicy: ehpcPolicy,
			Profiling:  cfg.Pprof,
		}),
	})))
	return a, nil
}

// openStore opens the store cfg.Store names.
func openStore(ctx context.Context, cfg Config) (core.Store, error) {
	scheme, location, err := cfg.storeLocation()
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "sqlite":
		if err := os.MkdirAll(filepath.Dir(location), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		// latchkey is the only SQLite user in its process: commit with
		// fdatasync, as native SQLite builds do, for the same durability
		// at a lower cost per commit.
		if err := sqlite.UseFdatasync(); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		st, err := sqlite.Open(ctx, location, cfg.Clock)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", location, err)
		}
		return st, nil
	case "postgres":
		// The URL may carry a password: it stays out of the error.
		st, err := postgres.Open(ctx, location, cfg.Clock, 0)
		if err != nil {
			return nil, fmt.Errorf("store postgres: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("store: unknown scheme %q", scheme)
}

// ensureCredentialsFile writes credentials.json (mode 0600) when the root
// account was just created, and rewrites it from the store when it is
// missing (a crash between creating the account and writing the file, or
// a deleted file).
func ensureCredentialsFile(cfg Config, creds service.Credentials, first bool) error {
	path := filepath.Join(cfg.DataDir, CredentialsFile)
	if !first {
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		cfg.Log.Warn("credentials.json was missing; written again from the store", "file", path)
	}
	c := Credentials{AccountID: string(creds.AccountID), AccessKeyID: string(creds.AccessKeyID), AccessKeySecret: creds.Secret.Reveal()}
	if err := writeJSON(path, c, 0o600); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	return nil
}
