package libvirt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/uuid"

	"github.com/latchkey/latchkey/core"
)

// domainPrefix starts the name of every domain latchkey creates:
// latchkey-<product>-<instance id>.
const domainPrefix = "latchkey-"

// Config configures a Driver.
type Config struct {
	Hosts    []Host
	Template Template
	// StopGrace is how long a graceful stop waits for the guest to power
	// off before the domain is destroyed; zero means 60 seconds.
	StopGrace time.Duration
	// Poll is the interval of the state poll that backs up lifecycle
	// events (see Follow); zero means 10 seconds.
	Poll time.Duration
	// Log receives host connections, domain changes and failures (never
	// a password); nil discards them.
	Log *slog.Logger
}

// Driver is the libvirt console and machine driver. Its methods may be
// called concurrently.
type Driver struct {
	cfg   Config
	hosts []*host

	mu      sync.Mutex
	placed  map[string]*host // domain name → the host it was last found on
	sources map[string]core.ConsolePasswords
	follow  map[string]func(ctx context.Context, id string, running func() (bool, error))
	stop    chan struct{} // closed by Close
	wg      sync.WaitGroup
}

var (
	_ core.ConsoleDriver       = (*Driver)(nil)
	_ core.GuestPasswordSetter = (*Driver)(nil)
	_ core.MachineDriver       = (*Driver)(nil)
)

// New returns a driver for the hosts of cfg. It connects to no host yet:
// each host is connected on first use, and again after its connection
// broke.
func New(cfg Config) (*Driver, error) {
	f := HostsFile{Hosts: cfg.Hosts, Template: cfg.Template}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("libvirt: %w", err)
	}
	cfg.Template = f.Template
	if cfg.StopGrace == 0 {
		cfg.StopGrace = 60 * time.Second
	}
	if cfg.Poll == 0 {
		cfg.Poll = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		cfg: cfg, placed: map[string]*host{}, sources: map[string]core.ConsolePasswords{},
		follow: map[string]func(context.Context, string, func() (bool, error)){}, stop: make(chan struct{}),
	}
	for _, h := range cfg.Hosts {
		d.hosts = append(d.hosts, &host{cfg: h, log: cfg.Log.With("host", h.Name)})
	}
	return d, nil
}

// ServeFrom makes src the source of product's console passwords: a
// domain created for one of its instances gets the password src holds.
func (d *Driver) ServeFrom(product string, src core.ConsolePasswords) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sources[product] = src
}

// Close stops following the hosts and closes their connections.
func (d *Driver) Close() error {
	d.mu.Lock()
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.mu.Unlock()
	d.wg.Wait()
	for _, h := range d.hosts {
		h.close()
	}
	return nil
}

// host is one libvirt host and its connection.
type host struct {
	cfg Host
	log *slog.Logger

	mu   sync.Mutex
	conn *golibvirt.Libvirt
}

// client returns the host's connection, connecting when there is none or
// it broke.
func (h *host) client() (*golibvirt.Libvirt, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil && h.conn.IsConnected() {
		return h.conn, nil
	}
	u, err := h.cfg.uri()
	if err != nil {
		return nil, err
	}
	l, err := golibvirt.ConnectToURI(u)
	if err != nil {
		h.conn = nil
		return nil, err
	}
	h.log.Info("libvirt host connected")
	h.conn = l
	return l, nil
}

func (h *host) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conn != nil {
		h.conn.Disconnect()
		h.conn = nil
	}
}

// machine is a target's domain on its host.
type machine struct {
	h   *host
	l   *golibvirt.Libvirt
	dom golibvirt.Domain
}

// errNoDomain says that latchkey has not created the target's domain yet.
var errNoDomain = errors.New("no domain yet")

func unreachable(what string, err error) error {
	return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Message: "libvirt: " + what, Err: err}
}

// domainName is the name of the domain latchkey creates for t.
func domainName(t core.ConsoleTarget) (string, error) {
	if !validName(t.Product) || strings.Contains(t.Product, "-") || !validName(t.ID) {
		return "", &core.Error{Kind: core.KindInvalid, Message: "libvirt: target names must be letters, digits, '-' and '_'"}
	}
	return domainPrefix + t.Product + "-" + t.ID, nil
}

// find returns t's domain: the adopted one t.Machine names, or the one
// latchkey created (errNoDomain when there is none on any reachable
// host). A host that cannot be reached, or an adopted domain that is
// gone, gives KindUnavailable.
func (d *Driver) find(t core.ConsoleTarget) (*machine, error) {
	if t.Machine != "" {
		hostName, domain, ok := strings.Cut(t.Machine, "/")
		h := d.host(hostName)
		if !ok || h == nil || domain == "" {
			return nil, unreachable("machine "+t.Machine+" names no host of the hosts file", nil)
		}
		l, err := h.client()
		if err != nil {
			return nil, unreachable("host "+h.cfg.Name+" cannot be reached", err)
		}
		var dom golibvirt.Domain
		if id, perr := uuid.Parse(domain); perr == nil {
			dom, err = l.DomainLookupByUUID(golibvirt.UUID(id))
		} else {
			dom, err = l.DomainLookupByName(domain)
		}
		if err != nil {
			return nil, unreachable("domain "+domain+" on host "+h.cfg.Name+" was not found", err)
		}
		return &machine{h: h, l: l, dom: dom}, nil
	}
	name, err := domainName(t)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	first := d.placed[name]
	d.mu.Unlock()
	order := d.hosts
	if first != nil {
		order = append([]*host{first}, d.hosts...)
	}
	var down error
	for _, h := range order {
		l, err := h.client()
		if err != nil {
			down = unreachable("host "+h.cfg.Name+" cannot be reached", err)
			continue
		}
		dom, err := l.DomainLookupByName(name)
		if err == nil {
			d.mu.Lock()
			d.placed[name] = h
			d.mu.Unlock()
			return &machine{h: h, l: l, dom: dom}, nil
		}
		if !golibvirt.IsNotFound(err) {
			down = unreachable("host "+h.cfg.Name+" did not answer", err)
		}
	}
	if down != nil {
		// The domain may be on the host that did not answer.
		return nil, down
	}
	return nil, errNoDomain
}

func (d *Driver) host(name string) *host {
	for _, h := range d.hosts {
		if h.cfg.Name == name {
			return h
		}
	}
	return nil
}

// place picks the host for a new domain: the reachable host with the
// fewest domains latchkey created, the first in the hosts file on a tie.
func (d *Driver) place() (*host, *golibvirt.Libvirt, error) {
	var best *host
	var bestL *golibvirt.Libvirt
	bestN := -1
	var lastErr error
	for _, h := range d.hosts {
		l, err := h.client()
		if err != nil {
			lastErr = err
			continue
		}
		doms, _, err := l.ConnectListAllDomains(1, 0)
		if err != nil {
			lastErr = err
			continue
		}
		n := 0
		for _, dom := range doms {
			if strings.HasPrefix(dom.Name, domainPrefix) {
				n++
			}
		}
		if bestN < 0 || n < bestN {
			best, bestL, bestN = h, l, n
		}
	}
	if best == nil {
		return nil, nil, unreachable("no host of the hosts file can be reached", lastErr)
	}
	return best, bestL, nil
}

// create defines t's domain on the host place picks, with vncPassword,
// and returns it (not started).
func (d *Driver) create(t core.ConsoleTarget, vncPassword string) (*machine, error) {
	name, err := domainName(t)
	if err != nil {
		return nil, err
	}
	h, l, err := d.place()
	if err != nil {
		return nil, err
	}
	xml, err := d.cfg.Template.domainXML(name, t.CPUs, t.MemoryGB*1024, vncPassword)
	if err != nil {
		return nil, err
	}
	dom, err := l.DomainDefineXMLFlags(xml, 0)
	if err != nil {
		return nil, unreachable("host "+h.cfg.Name+" did not define domain "+name, err)
	}
	d.mu.Lock()
	d.placed[name] = h
	d.mu.Unlock()
	h.log.Info("domain defined", "domain", name)
	return &machine{h: h, l: l, dom: dom}, nil
}

// ensure returns t's domain, creating it when latchkey has not yet. A new
// domain's VNC password is pw, else the product's stored password, else
// (BCC, whose consoles have none) a random one.
func (d *Driver) ensure(ctx context.Context, t core.ConsoleTarget, pw core.Secret) (*machine, error) {
	m, err := d.find(t)
	if !errors.Is(err, errNoDomain) {
		return m, err
	}
	if pw.IsZero() {
		d.mu.Lock()
		src := d.sources[t.Product]
		d.mu.Unlock()
		if src != nil {
			if pw, err = src.LivePassword(ctx, t); err != nil {
				return nil, unreachable("the console's password could not be read", err)
			}
		}
	}
	if pw.IsZero() {
		b := make([]byte, 4) // VNC Authentication takes at most 8 characters
		rand.Read(b)
		pw = core.NewSecret(fmt.Sprintf("%x", b))
	}
	return d.create(t, pw.Reveal())
}

// active reports whether the domain runs.
func (m *machine) active() (bool, error) {
	n, err := m.l.DomainIsActive(m.dom)
	return n == 1, err
}

// SetConsolePassword implements core.ConsoleDriver: the domain's VNC
// graphics password becomes pw, live and in its persistent definition,
// with one DomainUpdateDeviceFlags call (the definition only when the
// domain is shut off). A domain latchkey has not created yet is defined
// with pw. Errors are *core.Error of KindUnavailable; the password is
// then unchanged.
func (d *Driver) SetConsolePassword(ctx context.Context, t core.ConsoleTarget, pw core.Secret) error {
	if pw.IsZero() {
		return &core.Error{Kind: core.KindInvalid, Message: "empty console password"}
	}
	m, err := d.find(t)
	if errors.Is(err, errNoDomain) {
		_, err = d.create(t, pw.Reveal())
		return err
	}
	if err != nil {
		return err
	}
	xml, err := m.l.DomainGetXMLDesc(m.dom, golibvirt.DomainXMLSecure)
	if err != nil {
		return unreachable("domain "+m.dom.Name+" did not answer", err)
	}
	g, err := vncGraphics(xml)
	if err != nil {
		return unreachable("domain "+m.dom.Name, err)
	}
	g.VNC.Passwd = pw.Reveal()
	dev, err := g.Marshal()
	if err != nil {
		return err
	}
	err = m.l.DomainUpdateDeviceFlags(m.dom, dev, golibvirt.DomainDeviceModifyLive|golibvirt.DomainDeviceModifyConfig)
	if isNotRunning(err) {
		err = m.l.DomainUpdateDeviceFlags(m.dom, dev, golibvirt.DomainDeviceModifyConfig)
	}
	if err != nil {
		return unreachable("domain "+m.dom.Name+" did not take the password", err)
	}
	return nil
}

// isNotRunning reports whether err is libvirt refusing a live change of
// a domain that is shut off.
func isNotRunning(err error) bool {
	var le golibvirt.Error
	return errors.As(err, &le) && golibvirt.ErrorNumber(le.Code) == golibvirt.ErrOperationInvalid
}

// OpenConsole implements core.ConsoleDriver: a TCP connection to the
// running domain's VNC server on its host, which does VNC Authentication
// with the domain's graphics password itself.
func (d *Driver) OpenConsole(ctx context.Context, t core.ConsoleTarget) (core.Conn, error) {
	m, err := d.find(t)
	if errors.Is(err, errNoDomain) {
		return nil, unreachable("the instance has no domain yet", nil)
	}
	if err != nil {
		return nil, err
	}
	xml, err := m.l.DomainGetXMLDesc(m.dom, 0)
	if err != nil {
		return nil, unreachable("domain "+m.dom.Name+" did not answer", err)
	}
	g, err := vncGraphics(xml)
	if err != nil {
		return nil, unreachable("domain "+m.dom.Name, err)
	}
	if g.VNC.Port <= 0 {
		return nil, unreachable("domain "+m.dom.Name+" is not running", nil)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(m.h.cfg.vncAddress(), strconv.Itoa(g.VNC.Port)))
	if err != nil {
		return nil, unreachable("the VNC server of domain "+m.dom.Name+" did not answer", err)
	}
	return conn, nil
}

// SetGuestPassword implements core.GuestPasswordSetter through the
// guest's qemu-guest-agent (virDomainSetUserPassword, a plain-text
// password the guest hashes itself). A domain that is shut off, or whose
// agent does not run, gives KindUnavailable, and the guest is unchanged.
func (d *Driver) SetGuestPassword(ctx context.Context, t core.ConsoleTarget, user string, pw core.Secret) error {
	m, err := d.find(t)
	if errors.Is(err, errNoDomain) {
		return unreachable("the instance has no domain yet", nil)
	}
	if err != nil {
		return err
	}
	if err := m.l.DomainSetUserPassword(m.dom, golibvirt.OptString{user}, golibvirt.OptString{pw.Reveal()}, 0); err != nil {
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout,
			Message: "libvirt: the guest agent of domain " + m.dom.Name + " did not set the password", Err: err}
	}
	return nil
}

// StartMachine implements core.MachineDriver.
func (d *Driver) StartMachine(ctx context.Context, t core.ConsoleTarget) error {
	m, err := d.ensure(ctx, t, core.Secret{})
	if err != nil {
		return err
	}
	on, err := m.active()
	if err != nil {
		return unreachable("domain "+m.dom.Name+" did not answer", err)
	}
	if on {
		return nil
	}
	if err := m.l.DomainCreate(m.dom); err != nil {
		return unreachable("domain "+m.dom.Name+" did not start", err)
	}
	m.h.log.Info("domain started", "domain", m.dom.Name)
	return nil
}

// StopMachine implements core.MachineDriver: a shutdown through the guest
// agent or ACPI (see waitOff), and the domain destroyed if it has not
// shut off after Config.StopGrace, or at once with force.
func (d *Driver) StopMachine(ctx context.Context, t core.ConsoleTarget, force bool) error {
	m, err := d.find(t)
	if errors.Is(err, errNoDomain) {
		return nil
	}
	if err != nil {
		return err
	}
	return d.stopDomain(ctx, m, force)
}

func (d *Driver) stopDomain(ctx context.Context, m *machine, force bool) error {
	on, err := m.active()
	if err != nil {
		return unreachable("domain "+m.dom.Name+" did not answer", err)
	}
	if !on {
		return nil
	}
	if !force {
		if d.waitOff(ctx, m) {
			m.h.log.Info("domain shut down", "domain", m.dom.Name)
			return nil
		}
		m.h.log.Warn("domain did not shut down in time; destroying it", "domain", m.dom.Name, "grace", d.cfg.StopGrace)
	}
	if err := m.l.DomainDestroy(m.dom); err != nil {
		if on, aerr := m.active(); aerr == nil && !on {
			return nil
		}
		return unreachable("domain "+m.dom.Name+" was not destroyed", err)
	}
	m.h.log.Info("domain destroyed", "domain", m.dom.Name)
	return nil
}

// shutdownRetry is how often a graceful stop asks the guest again: a
// guest still booting has no agent and no ACPI daemon yet, and loses the
// request.
const shutdownRetry = 5 * time.Second

// waitOff asks the guest to power off (through its agent, or the ACPI
// power button), again every shutdownRetry, and waits until the domain
// has shut off, for at most StopGrace: its lifecycle events end the wait,
// and a check every half second backs them up.
func (d *Driver) waitOff(ctx context.Context, m *machine) bool {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.StopGrace)
	defer cancel()
	events, err := m.l.LifecycleEvents(ctx)
	if err != nil {
		events = nil
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var asked time.Time
	for {
		if on, err := m.active(); err == nil && !on {
			return true
		}
		if time.Since(asked) >= shutdownRetry {
			m.l.DomainShutdownFlags(m.dom, golibvirt.DomainShutdownGuestAgent|golibvirt.DomainShutdownAcpiPowerBtn)
			asked = time.Now()
		}
		select {
		case <-ctx.Done():
			return false
		case <-events:
		case <-tick.C:
		}
	}
}

// RebootMachine implements core.MachineDriver: a reset with force, a
// reboot through the guest agent (or ACPI when the agent does not answer)
// otherwise; a domain that is shut off is started.
func (d *Driver) RebootMachine(ctx context.Context, t core.ConsoleTarget, force bool) error {
	m, err := d.ensure(ctx, t, core.Secret{})
	if err != nil {
		return err
	}
	on, err := m.active()
	if err != nil {
		return unreachable("domain "+m.dom.Name+" did not answer", err)
	}
	switch {
	case !on:
		err = m.l.DomainCreate(m.dom)
	case force:
		err = m.l.DomainReset(m.dom, 0)
	default:
		err = m.l.DomainReboot(m.dom, golibvirt.DomainRebootGuestAgent|golibvirt.DomainRebootAcpiPowerBtn)
	}
	if err != nil {
		return unreachable("domain "+m.dom.Name+" did not restart", err)
	}
	m.h.log.Info("domain restarted", "domain", m.dom.Name, "force", force)
	return nil
}

// DeleteMachine implements core.MachineDriver: the domain latchkey
// created is destroyed and undefined. An adopted domain is left as it is:
// latchkey only forgets it, and logs so.
func (d *Driver) DeleteMachine(ctx context.Context, t core.ConsoleTarget) error {
	if t.Machine != "" {
		d.cfg.Log.Info("adopted domain forgotten; it is left as it is on its host", "machine", t.Machine, "instance", t.ID)
		return nil
	}
	m, err := d.find(t)
	if errors.Is(err, errNoDomain) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := d.stopDomain(ctx, m, true); err != nil {
		return err
	}
	if err := m.l.DomainUndefineFlags(m.dom, golibvirt.DomainUndefineManagedSave|golibvirt.DomainUndefineNvram); err != nil {
		return unreachable("domain "+m.dom.Name+" was not undefined", err)
	}
	d.mu.Lock()
	delete(d.placed, m.dom.Name)
	d.mu.Unlock()
	m.h.log.Info("domain deleted", "domain", m.dom.Name)
	return nil
}
