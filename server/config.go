package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/sqlite"
)

// Defaults of `latchkey serve` (PRODUCT.md §1).
const (
	DefaultDataDir    = "./latchkey-data"
	DefaultListen     = "127.0.0.1:8443"
	DefaultHTTPListen = "127.0.0.1:8080"
	DefaultTransition = 300 * time.Millisecond
	DefaultBCERegion  = "bj"

	// DefaultEHPCPasswordPolicy and DefaultBCCPasswordPolicy name the
	// password policy editions of PRODUCT.md §3.
	DefaultEHPCPasswordPolicy = "2025"
	DefaultBCCPasswordPolicy  = "2020"
)

// Config is everything `latchkey serve` is told. The zero value is not
// usable; start from Defaults.
type Config struct {
	// DataDir holds all state: database, TLS material, master key,
	// credentials, endpoints.
	DataDir string
	// Listen is the HTTPS listener's address; port 0 picks a free port.
	Listen string
	// HTTPListen is the plain-HTTP listener's address; empty disables it.
	// A non-loopback address is refused unless InsecureHTTP is set.
	HTTPListen   string
	InsecureHTTP bool
	// Demo seeds the demo fleet (PRODUCT.md §7) when this start creates
	// the data directory's account.
	Demo bool
	// Store is the store URL: sqlite://PATH or postgres://…; empty means
	// sqlite://DATA_DIR/latchkey.db.
	Store string
	// Transition is how long each intermediate instance status lasts.
	Transition time.Duration
	// ConsoleDriver is the console driver of new ECS instances: "sim"
	// (latchkey's own consoles) or "qemu" (a QEMU process per console,
	// under DATA_DIR/qemu). QEMUBinary is QEMU's system emulator (empty:
	// qemu-system-x86_64 in PATH) and QEMUMachine "none" or "pc" (see
	// console/qemu).
	// "libvirt" puts new ECS and BCC instances on the libvirt hosts of
	// the LibvirtHosts file (see console/libvirt).
	ConsoleDriver string
	QEMUBinary    string
	QEMUMachine   string
	LibvirtHosts  string
	// QEMUGuest, with the qemu driver, is a directory holding a real
	// guest (vmlinuz and initramfs.gz, as internal/guestimage/build.sh
	// writes them) that every console's QEMU boots; BCC instances then go
	// on the qemu driver too, and changePass reaches their guest agent.
	QEMUGuest string
	// EHPCPasswordPolicy and BCCPasswordPolicy choose the password policy
	// editions; BCERegion is the BCC region of requests whose Host names
	// none.
	EHPCPasswordPolicy string
	BCCPasswordPolicy  string
	BCERegion          string
	// EHPCLoginAddresses is the range E-HPC login nodes' addresses (and
	// visual services) come from; the zero Prefix means service's default
	// (127.31.0.0/16). It must be loopback unless VisualDriver is
	// tigervnc. Tests give each server a range of its own.
	EHPCLoginAddresses netip.Prefix
	// VisualDriver is the visual driver of new E-HPC clusters: "sim"
	// (latchkey's own RFB listeners) or "tigervnc" (`latchkey agent` on
	// each login node, running Xvnc). VisualAgents is the agents file of
	// the tigervnc driver (see visual/tigervnc.LoadAgents).
	VisualDriver string
	VisualAgents string

	// PublicAddress, if set, is the host:port at which clients reach the
	// HTTPS listener from outside, such as a load balancer in front of
	// several replicas: console URLs (DescribeInstanceVncUrl, the BCC VNC
	// call) name it instead of Endpoints.HTTPS. Any replica redeems a
	// console ticket, since tickets are in the store.
	PublicAddress string

	// Pprof serves Go's runtime profiles (CPU, heap, mutex, block,
	// goroutines) at /_latchkey/debug/pprof/ behind the admin token, and
	// turns on mutex and block profiling.
	Pprof bool

	// Endpoints are the addresses (host:port) at which clients reach the
	// HTTPS and plain-HTTP listeners; HTTP is empty when there is none.
	// Console URLs name Endpoints.HTTPS, endpoints.json and the banner
	// show both. Run sets them from the listeners it binds, whatever they
	// were; a caller of New binds its own listeners and sets them first.
	Endpoints Endpoints

	// Log receives the server's structured log; nil discards it.
	Log *slog.Logger
	// Banner receives the human-readable startup banner; nil discards it.
	// On the first start it holds the root access key's secret, once.
	Banner io.Writer
	// Clock is the time source; nil means the wall clock.
	Clock core.Clock
	// Ready, if set, is called once Serve has started serving, endpoints.json
	// is written and /healthz answers 200.
	Ready func(Endpoints)
	// ShutdownTimeout bounds how long a shutdown waits for in-flight
	// requests; zero means 30 seconds.
	ShutdownTimeout time.Duration
	// RequestReadTimeout bounds reading a request's body once its
	// headers are read; zero means DefaultRequestReadTimeout. RequestMemory
	// bounds the bytes of request bodies handled at once; zero means
	// DefaultRequestMemory. See requestLimits.
	RequestReadTimeout time.Duration
	RequestMemory      int64
	// FaultSleep is how an injected latency waits (faults.Config.Sleep):
	// d, or until ctx ends. Nil means a timer; tests set it to hold a
	// call inside its latency until they release it.
	FaultSleep func(ctx context.Context, d time.Duration) error
	// MaxConnections bounds the connections each listener holds open at
	// once; zero means DefaultMaxConnections. See limitListener.
	MaxConnections int
}

// Defaults returns the configuration of a `latchkey serve` given no flags
// and no environment.
func Defaults() Config {
	return Config{
		DataDir:            DefaultDataDir,
		Listen:             DefaultListen,
		HTTPListen:         DefaultHTTPListen,
		Transition:         DefaultTransition,
		ConsoleDriver:      ConsoleDriverSim,
		QEMUMachine:        DefaultQEMUMachine,
		EHPCPasswordPolicy: DefaultEHPCPasswordPolicy,
		VisualDriver:       VisualDriverSim,
		BCCPasswordPolicy:  DefaultBCCPasswordPolicy,
		BCERegion:          DefaultBCERegion,
		MaxConnections:     DefaultMaxConnections,
	}
}

// Validate reports the first setting that cannot work, before anything is
// created or bound.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if c.MaxConnections < 0 {
		return fmt.Errorf("--max-connections %d: must not be negative", c.MaxConnections)
	}
	if c.PublicAddress != "" {
		if _, _, err := net.SplitHostPort(c.PublicAddress); err != nil {
			return fmt.Errorf("--public-address %q: want host:port", c.PublicAddress)
		}
	}
	if c.Listen == "" {
		return errors.New("--listen must not be empty: the HTTPS listener serves the consoles and the internal API")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("--listen %q: %w", c.Listen, err)
	}
	if c.HTTPListen != "" {
		host, _, err := net.SplitHostPort(c.HTTPListen)
		if err != nil {
			return fmt.Errorf("--http-listen %q: %w", c.HTTPListen, err)
		}
		if !c.InsecureHTTP && !isLoopbackHost(host) {
			return fmt.Errorf("--http-listen %q is not a loopback address: plain HTTP would carry signed requests and passwords in clear over the network; use a loopback address, disable it with --http-listen \"\", or pass --insecure-http", c.HTTPListen)
		}
	}
	if c.Transition < 0 {
		return errors.New("--transition must not be negative")
	}
	switch c.EHPCPasswordPolicy {
	case "2024", "2025":
	default:
		return fmt.Errorf("--ehpc-password-policy %q: want 2024 or 2025", c.EHPCPasswordPolicy)
	}
	switch c.BCCPasswordPolicy {
	case "2020", "2025":
	default:
		return fmt.Errorf("--bcc-password-policy %q: want 2020 or 2025", c.BCCPasswordPolicy)
	}
	if !catalog.IsBCCRegion(core.RegionID(c.BCERegion)) {
		return fmt.Errorf("--bce-region %q: want one of %v", c.BCERegion, catalog.BCCRegions())
	}
	if p := c.EHPCLoginAddresses; p.IsValid() && (!p.Addr().Is4() || !p.Addr().IsLoopback() && !c.loginAddressesMayLeaveLoopback()) {
		return fmt.Errorf("E-HPC login addresses %s: want an IPv4 loopback range (or the login nodes' own range with --visual-driver tigervnc)", p)
	}
	if err := c.validateVisualDriver(); err != nil {
		return err
	}
	if _, _, err := c.storeLocation(); err != nil {
		return err
	}
	if err := c.validateConsoleDriver(); err != nil {
		return err
	}
	return nil
}

// isLoopbackHost reports whether host (from a listen address) can only be
// reached from this machine. The empty host means every interface.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// privateStoreFiles are the files of a SQLite store (sqlite.Files),
// which may lie outside the data directory; none for PostgreSQL.
func (c *Config) privateStoreFiles() []string {
	if scheme, location, err := c.storeLocation(); err == nil && scheme == "sqlite" {
		return sqlite.Files(location)
	}
	return nil
}

// storeLocation parses Store into a scheme ("sqlite" or "postgres") and
// the path or URL the store package opens.
func (c *Config) storeLocation() (scheme, location string, err error) {
	s := c.Store
	if s == "" {
		return "sqlite", filepath.Join(c.DataDir, "latchkey.db"), nil
	}
	switch {
	case strings.HasPrefix(s, "sqlite://"):
		p := strings.TrimPrefix(s, "sqlite://")
		if p == "" {
			return "", "", fmt.Errorf("--store %q: no database path", s)
		}
		return "sqlite", p, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return "postgres", s, nil
	}
	return "", "", fmt.Errorf("--store: want sqlite://PATH or postgres://…")
}
