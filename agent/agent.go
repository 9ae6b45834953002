package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Defaults of Config.
const (
	DefaultXvnc = "Xvnc"
	// DefaultDisplayBase is the first X display tried: above the few
	// displays desktops and vncserver take (:0, :1, …).
	DefaultDisplayBase  = 20
	DefaultStartTimeout = 30 * time.Second
	// DefaultStopTimeout is how long a stop waits after SIGTERM before
	// SIGKILL; Xvnc takes 1.5–2.5 s (vnc-backends.md §2).
	DefaultStopTimeout = 10 * time.Second
)

// Config is what an agent is told.
type Config struct {
	// StateDir holds the agent's files: STATE_DIR/nodes/<node>/ per node
	// (mode 0700). It must not be shared by two agents.
	StateDir string
	// Token is the bearer token every API call but /healthz must carry.
	Token core.Secret
	// Xvnc is the Xvnc binary, a path or a name looked up in PATH.
	Xvnc string
	// Interface, if valid, is the address every Xvnc listens on,
	// whatever address the control plane gives (for a node whose
	// PublicIpAddress is not an address of its own, behind NAT).
	Interface netip.Addr
	// ExtraArgs are appended to every Xvnc command line (for example
	// -geometry 1920x1080, or -UseBlacklist=0 in tests). They must not
	// hold a password: command lines are visible to every local user.
	ExtraArgs []string
	// DisplayBase is the first X display number tried.
	DisplayBase  int
	StartTimeout time.Duration
	StopTimeout  time.Duration
	// Rand is the source of password-hash salts; nil means crypto/rand.
	Rand io.Reader
	// Log receives the agent's log; it never holds a password or the
	// token. nil discards it.
	Log *slog.Logger
}

// Agent runs the visual services of the login nodes it serves: one Xvnc
// per node, whose password it sets by replacing files Xvnc reads at every
// connection. It is safe for concurrent use; operations on one node are
// serialized.
type Agent struct {
	cfg   Config
	token [sha256.Size]byte // SHA-256 of the token, compared in constant time

	mu       sync.Mutex
	nodes    map[string]*node
	displays map[int]bool // X displays held by this agent's Xvnc runs
	closed   bool

	procs sync.WaitGroup // one per Xvnc process, until reaped
}

// node is one login node's visual service.
type node struct {
	id  string
	dir string

	mu   sync.Mutex // serializes operations; guards st and proc
	st   nodeState
	proc *xvnc // nil when not started by this agent
}

// errClosed is the answer to calls after Close.
var errClosed = errors.New("the agent is shutting down")

// requestError is a malformed request: nothing changed.
type requestError struct{ msg string }

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{msg: fmt.Sprintf(format, args...)}
}

// New returns an agent over cfg.StateDir, creating it. It starts nothing:
// Restore starts the services that were running when the agent last
// stopped.
func New(cfg Config) (*Agent, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("agent: no state directory")
	}
	if len(cfg.Token.Reveal()) < 16 {
		return nil, errors.New("agent: the token must be at least 16 characters")
	}
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("agent: state directory: %w", err)
	}
	cfg.StateDir = dir
	if cfg.Xvnc == "" {
		cfg.Xvnc = DefaultXvnc
	}
	if cfg.DisplayBase <= 0 {
		cfg.DisplayBase = DefaultDisplayBase
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(dir, "nodes"), 0o700); err != nil {
		return nil, fmt.Errorf("agent: state directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: state directory: %w", err)
	}
	return &Agent{
		cfg:      cfg,
		token:    sha256.Sum256([]byte(cfg.Token.Reveal())),
		nodes:    make(map[string]*node),
		displays: make(map[int]bool),
	}, nil
}

// Restore starts every visual service whose state says it was started:
// after a restart of the agent (or of the node) the services come back
// with the password files they had. Failures are logged and returned
// together; the other nodes start regardless.
func (a *Agent) Restore(ctx context.Context) error {
	entries, err := os.ReadDir(filepath.Join(a.cfg.StateDir, "nodes"))
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !validNodeID(e.Name()) {
			continue
		}
		n, err := a.node(e.Name(), false)
		if err != nil || n == nil {
			errs = append(errs, err)
			continue
		}
		n.mu.Lock()
		if n.st.Started && (n.proc == nil || n.proc.exited()) {
			if err := a.ensureRunning(ctx, n); err != nil {
				a.cfg.Log.Error("visual service not restored", "node", n.id, "err", err)
				errs = append(errs, fmt.Errorf("node %s: %w", n.id, err))
			}
		}
		n.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Close stops every Xvnc (SIGTERM, and waits) and refuses later calls.
// The nodes' states are kept, so that Restore starts them again.
func (a *Agent) Close() error {
	a.mu.Lock()
	a.closed = true
	nodes := make([]*node, 0, len(a.nodes))
	for _, n := range a.nodes {
		nodes = append(nodes, n)
	}
	a.mu.Unlock()
	for _, n := range nodes {
		n.mu.Lock()
		a.stopProc(n)
		n.mu.Unlock()
	}
	a.procs.Wait()
	return nil
}

func (a *Agent) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

var (
	nodeIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	userPattern     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9._-]{0,31}$`)
	hostNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$`)
)

func validNodeID(id string) bool { return nodeIDPattern.MatchString(id) }

// node returns the node's record, loading its state from disk; with
// create it makes the node's directory, otherwise an unknown node is nil.
func (a *Agent) node(id string, create bool) (*node, error) {
	if !validNodeID(id) {
		return nil, badRequest("node: want 1-64 letters, digits, '.', '_' or '-'")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, errClosed
	}
	if n := a.nodes[id]; n != nil {
		return n, nil
	}
	dir := filepath.Join(a.cfg.StateDir, "nodes", id)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if !create {
			return nil, nil
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, err
		}
	}
	st, err := loadState(dir)
	if err != nil {
		return nil, fmt.Errorf("node %s: state: %w", id, err)
	}
	n := &node{id: id, dir: dir, st: st}
	a.nodes[id] = n
	return n, nil
}

// checkAuth validates the Auth, PlainUser and Password of a request.
func checkAuth(auth, user string, pw core.Secret) error {
	switch auth {
	case AuthVNC:
	case AuthPlain:
		if !userPattern.MatchString(user) {
			return badRequest("plain_user: want a user name (letters, digits, '.', '_', '-'; at most 32)")
		}
	default:
		return badRequest("auth: want %q or %q", AuthVNC, AuthPlain)
	}
	p := pw.Reveal()
	switch {
	case p == "":
		// An empty VNC password is a real one that anybody knows
		// (vnc-backends.md §1).
		return badRequest("password: must not be empty")
	case len(p) > 128:
		return badRequest("password: at most 128 bytes")
	case strings.ContainsAny(p, "\x00\n"):
		return badRequest("password: must not contain NUL or a newline")
	}
	return nil
}

// Start implements PUT /v1/nodes/{node}/service: the password files
// first, then Xvnc on the requested address and port, restarted only
// when its address, port or security types change.
func (a *Agent) Start(ctx context.Context, id string, req StartRequest) (Status, error) {
	if err := checkAuth(req.Auth, req.PlainUser, req.Password.Secret()); err != nil {
		return Status{}, err
	}
	if _, err := netip.ParseAddr(req.Address); err != nil {
		return Status{}, badRequest("address: want an IP address")
	}
	if req.Port < 1 || req.Port > 65535 {
		return Status{}, badRequest("port: want 1-65535")
	}
	if req.CIDR != "" {
		if _, err := netip.ParsePrefix(req.CIDR); err != nil {
			return Status{}, badRequest("cidr: want an address prefix")
		}
	}
	if req.HostName != "" && !hostNamePattern.MatchString(req.HostName) {
		return Status{}, badRequest("host_name: want a host name")
	}
	n, err := a.node(id, true)
	if err != nil {
		return Status{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if a.isClosed() {
		return Status{}, errClosed
	}
	if err := a.writePassword(n, req.Auth, req.PlainUser, req.Password.Secret()); err != nil {
		return Status{}, err
	}
	n.st = nodeState{
		Started: true, HostName: req.HostName, Address: req.Address, Port: req.Port,
		CIDR: req.CIDR, Auth: req.Auth, PlainUser: req.PlainUser,
	}
	err = a.ensureRunning(ctx, n)
	if serr := saveState(n.dir, n.st); serr != nil && err == nil {
		err = fmt.Errorf("state: %w", serr)
	}
	if err == nil && n.st.CIDR != "" && !cidrEnforced(n.st.CIDR) {
		a.cfg.Log.Warn("Xvnc cannot restrict clients to the service's CIDR; the node's firewall must", "node", n.id, "cidr", n.st.CIDR)
	}
	return a.status(n), err
}

// SetPassword implements PUT /v1/nodes/{node}/password: the files Xvnc
// reads at every connection are replaced, so the password is live for
// the next connection without a restart; connections already open stay
// open. A started service whose Xvnc is gone, or offers other security
// types, is (re)started.
func (a *Agent) SetPassword(ctx context.Context, id string, req PasswordRequest) (Status, error) {
	if err := checkAuth(req.Auth, req.PlainUser, req.Password.Secret()); err != nil {
		return Status{}, err
	}
	n, err := a.node(id, true)
	if err != nil {
		return Status{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if a.isClosed() {
		return Status{}, errClosed
	}
	if err := a.writePassword(n, req.Auth, req.PlainUser, req.Password.Secret()); err != nil {
		return Status{}, err
	}
	n.st.Auth, n.st.PlainUser = req.Auth, req.PlainUser
	if n.st.Started {
		err = a.ensureRunning(ctx, n)
	}
	if serr := saveState(n.dir, n.st); serr != nil && err == nil {
		err = fmt.Errorf("state: %w", serr)
	}
	return a.status(n), err
}

// Stop implements DELETE /v1/nodes/{node}/service: Xvnc gets SIGTERM and
// the call returns once it has exited. The password files stay for the
// next start.
func (a *Agent) Stop(ctx context.Context, id string) (Status, error) {
	n, err := a.node(id, false)
	if err != nil || n == nil {
		return Status{Node: id, CIDREnforced: true}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if a.isClosed() {
		return Status{}, errClosed
	}
	a.stopProc(n)
	var serr error
	if n.st.Started {
		n.st.Started = false
		serr = saveState(n.dir, n.st)
	}
	return a.status(n), serr
}

// Status implements GET /v1/nodes/{node}.
func (a *Agent) Status(id string) (Status, error) {
	n, err := a.node(id, false)
	if err != nil || n == nil {
		return Status{Node: id, CIDREnforced: true}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return a.status(n), nil
}

// writePassword replaces the node's password files: the private Plain
// database first (so that a failure there changes nothing), then the
// rfbauth file. n's lock is held.
func (a *Agent) writePassword(n *node, auth, user string, pw core.Secret) error {
	if auth == AuthPlain {
		db := plainDB{root: filepath.Join(n.dir, plainDir)}
		if err := db.setPassword(user, pw, a.cfg.Rand); err != nil {
			return &execError{Command: "write shadow", Detail: err.Error()}
		}
	}
	if err := writeRfbauth(n.dir, pw); err != nil {
		return &execError{Command: "write rfbauth", Detail: err.Error()}
	}
	return nil
}

// ensureRunning makes the node's Xvnc match its state: it is started if
// there is none (or it exited), restarted if it listens elsewhere or
// offers other security types, and left alone otherwise. When Xvnc no
// longer runs in Plain mode, the private account database is removed.
// n's lock is held.
func (a *Agent) ensureRunning(ctx context.Context, n *node) error {
	want, err := a.listenAddr(n.st)
	if err != nil {
		return &execError{Command: a.xvncCommand(0, n.st.Port), Detail: "no address to listen on"}
	}
	if p := n.proc; p != nil && !p.exited() && p.listen == want && p.auth == n.st.Auth {
		return nil
	}
	a.stopProc(n)
	x, err := a.spawn(ctx, n, n.st)
	if err != nil {
		n.st.Started = false
		return err
	}
	n.proc = x
	if n.st.Auth != AuthPlain {
		os.RemoveAll(filepath.Join(n.dir, plainDir))
	}
	return nil
}

// stopProc stops the node's Xvnc, if any, and frees its display. n's
// lock is held.
func (a *Agent) stopProc(n *node) {
	p := n.proc
	if p == nil {
		return
	}
	a.terminate(p)
	a.releaseDisplay(p.display)
	n.proc = nil
	a.cfg.Log.Info("Xvnc stopped", "node", n.id, "pid", p.pid, "display", p.display, "exit", p.err)
}

// status reports the node; n's lock is held.
func (a *Agent) status(n *node) Status {
	s := Status{
		Node: n.id, Started: n.st.Started, Auth: n.st.Auth, PlainUser: n.st.PlainUser,
		CIDR: n.st.CIDR, CIDREnforced: cidrEnforced(n.st.CIDR), PasswordSet: hasRfbauth(n.dir),
	}
	if p := n.proc; p != nil && !p.exited() {
		s.Running, s.PID, s.Display, s.Listen = true, p.pid, p.display, p.listen.String()
	}
	return s
}

// cidrEnforced reports whether Xvnc honours cidr: only when it allows
// every client, since Xvnc has no host filter.
func cidrEnforced(cidr string) bool {
	if cidr == "" {
		return true
	}
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == 0
}
