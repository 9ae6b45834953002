// Package sim is the built-in visual driver: every E-HPC login node's
// visual service is an RFB server inside latchkey that listens on the
// node's public address and the service's port, accepts connections from
// the service's CidrIp only, and asks for the password the control plane
// last set (VNC Authentication, and VeNCrypt Plain under the 2024 policy;
// see package visual for the trade-off). Failures on purpose are fault
// rules (package faults), which wrap this driver as every other.
//
// Given a core.VisualServices (ServeFrom), the driver takes each node's
// password, user and CidrIp from it at every connection and login, so
// the store is the truth and SetVisualPassword has nothing to do; and it
// listens only while it is active (SetActive): of several replicas
// sharing a store, the one holding the listeners' lease is.
package sim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"image"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/console/textscreen"
	"github.com/latchkey/latchkey/core"
)

// The commands a real node runs for each operation (TigerVNC,
// vnc-backends.md §2); an ExecFail names them.
const (
	commandSetPassword = "vncpasswd -f"
	commandStart       = "vncserver"
)

// Driver is the sim visual driver. Its listeners live in memory: the
// control plane starts every started service again at start, and on the
// replica that takes the listeners over (EHPC.FollowVisual).
type Driver struct {
	ctx    context.Context // ends every listener and connection on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	nodes    map[core.NodeID]*node
	closed   bool
	src      core.VisualServices // nil: passwords and settings as last given
	inactive bool                // with src: another replica listens

	// OnAuth, if set, is called with the outcome of every login to a
	// visual service. It must not block.
	OnAuth func(ok bool)
	// Guard, if set, refuses clients whose source address failed to
	// authenticate too often, as Xvnc's blacklist does (package
	// blacklist). Set it before the first StartVisual.
	Guard *blacklist.Guard
}

// node is one login node's visual service.
type node struct {
	target core.VisualNode // address, port, CIDR, auth, Plain user
	pw     core.Secret     // empty until set: nobody logs in
	ln     net.Listener    // nil while stopped
	screen *image.RGBA
}

var _ core.VisualDriver = (*Driver)(nil)

// ServeFrom makes src the source of every node's password and settings,
// and leaves the driver inactive until SetActive(true). Call it before
// the first StartVisual.
func (d *Driver) ServeFrom(src core.VisualServices) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.src, d.inactive = src, true
}

// SetActive makes a driver with a source listen (true), or close every
// listener and forget every node (false): then StartVisual, StopVisual
// and SetVisualPassword check their arguments and change nothing, as the
// active replica serves the nodes. Open connections stay open.
func (d *Driver) SetActive(active bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.src == nil {
		return
	}
	d.inactive = !active
	if d.inactive {
		for id, n := range d.nodes {
			if n.ln != nil {
				n.ln.Close()
			}
			delete(d.nodes, id)
		}
	}
}

// Serving returns the nodes whose services listen.
func (d *Driver) Serving() []core.VisualNode {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []core.VisualNode
	for _, n := range d.nodes {
		if n.ln != nil {
			out = append(out, n.target)
		}
	}
	return out
}

// New returns a driver with no running services. Close stops them all.
func New() *Driver {
	ctx, cancel := context.WithCancel(context.Background())
	return &Driver{ctx: ctx, cancel: cancel, nodes: make(map[core.NodeID]*node)}
}

// Close stops every listener and closes every open connection, and waits
// for them.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	for _, n := range d.nodes {
		if n.ln != nil {
			n.ln.Close()
			n.ln = nil
		}
	}
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	return nil
}

// entry returns the node's record, creating it; d.mu must be held.
func (d *Driver) entry(t core.VisualNode) *node {
	n := d.nodes[t.NodeID]
	if n == nil {
		n = &node{}
		d.nodes[t.NodeID] = n
	}
	if n.screen == nil || n.target != t {
		n.screen = screen(t)
	}
	n.target = t
	return n
}

// SetVisualPassword implements core.VisualDriver: new connections (and
// the next start) ask for pw; open connections stay open, as with Xvnc.
func (d *Driver) SetVisualPassword(_ context.Context, t core.VisualNode, pw core.Secret) error {
	if pw.IsZero() {
		// An empty VNC password would let anyone in (vnc-backends.md §1).
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed, Message: commandSetPassword}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.src != nil {
		return nil // the source has it
	}
	n := d.entry(t)
	n.pw = pw
	return nil
}

// StartVisual implements core.VisualDriver: the node listens on
// t.Address:t.Port. A running service on the same address and port is
// reconfigured in place (CIDR, password, authentication); on another port
// it moves there.
func (d *Driver) StartVisual(ctx context.Context, t core.VisualNode, pw core.Secret) error {
	if !t.Address.IsValid() || t.Port < 1 || t.Port > 65535 || pw.IsZero() {
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed, Message: commandStart}
	}
	addr := netip.AddrPortFrom(t.Address, uint16(t.Port))
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return &core.Error{Kind: core.KindUnavailable, Message: "visual driver closed"}
	}
	if d.inactive {
		return nil
	}
	n := d.entry(t)
	n.pw = pw
	if n.ln != nil {
		if a, err := netip.ParseAddrPort(n.ln.Addr().String()); err == nil && a == addr {
			return nil
		}
		n.ln.Close()
		n.ln = nil
	}
	// Addresses are unique per login node in the store; a listener of
	// another node on this address belongs to a node that no longer
	// exists (its cluster was deleted while its agent did not answer).
	for id, other := range d.nodes {
		if id != t.NodeID && other.ln != nil && other.target.Address == t.Address && other.target.Port == t.Port {
			other.ln.Close()
			other.ln = nil
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr.String())
	if err != nil {
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed,
			Message: commandStart + " -rfbport " + strconv.Itoa(t.Port), Err: err}
	}
	n.ln = ln
	d.wg.Add(1)
	go d.accept(ln, t.NodeID)
	return nil
}

// StopVisual implements core.VisualDriver. Open connections stay open,
// like a VNC session whose server was told to stop accepting.
func (d *Driver) StopVisual(_ context.Context, t core.VisualNode) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := d.nodes[t.NodeID]; n != nil && n.ln != nil {
		n.ln.Close()
		n.ln = nil
	}
	return nil
}

// Listening reports the address the node's service listens on, if any.
func (d *Driver) Listening(id core.NodeID) (netip.AddrPort, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.nodes[id]
	if n == nil || n.ln == nil {
		return netip.AddrPort{}, false
	}
	a, err := netip.ParseAddrPort(n.ln.Addr().String())
	return a, err == nil
}

// accept serves one listener until it is closed.
func (d *Driver) accept(ln net.Listener, id core.NodeID) {
	defer d.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		d.mu.Lock()
		n := d.nodes[id]
		var cfg rfb.ServerConfig
		var surface blacklist.Surface
		var target core.VisualNode
		allowed := false
		if n != nil && n.ln == ln {
			target, allowed = n.target, true
			cfg = d.serverConfig(id, n)
			surface = blacklist.Surface{Name: "visual", Product: "ehpc", Resource: string(n.target.ClusterID) + "/" + string(id)}
		}
		src := d.src
		d.mu.Unlock()
		if allowed && src != nil {
			// The store's CidrIp, and a service stopped through another
			// replica refuses at once.
			live, _, err := src.LiveVisual(d.ctx, target.ClusterID, id)
			allowed = err == nil
			target.CIDR = live.CIDR
		}
		if !allowed || !target.CIDR.Contains(remoteAddr(conn)) {
			reset(conn)
			continue
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.serve(conn, cfg, surface)
		}()
	}
}

// serve runs one connection: the Guard admits it, or it gets Xvnc's
// "Too many security failures"; an admitted one tells the Guard how its
// login went.
func (d *Driver) serve(conn net.Conn, cfg rfb.ServerConfig, s blacklist.Surface) {
	attempt := d.Guard.Admit(d.ctx, s, remoteAddr(conn))
	if attempt == nil {
		defer conn.Close()
		_ = rfb.Refuse(conn, rfb.ReasonTooManyFailures)
		return
	}
	defer attempt.Settle(blacklist.Abandoned)
	onAuth := cfg.OnAuth
	cfg.OnAuth = func(ok bool) {
		v := blacklist.Failed
		if ok {
			v = blacklist.Succeeded
		}
		attempt.Settle(v)
		if onAuth != nil {
			onAuth(ok)
		}
	}
	_ = rfb.Serve(d.ctx, conn, cfg)
}

// serverConfig is the RFB configuration of a connection to node id. The
// password is looked up per login (in the source when there is one), so
// a change applies to every later login; d.mu must be held.
func (d *Driver) serverConfig(id core.NodeID, n *node) rfb.ServerConfig {
	src, cluster := d.src, n.target.ClusterID
	current := func() (core.Secret, string) {
		if src != nil {
			live, pw, err := src.LiveVisual(d.ctx, cluster, id)
			if err != nil {
				return core.Secret{}, ""
			}
			return pw, live.PlainUser
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		cur := d.nodes[id]
		if cur == nil {
			return core.Secret{}, ""
		}
		return cur.pw, cur.target.PlainUser
	}
	scr := n.screen
	cfg := rfb.ServerConfig{
		DesktopName: n.target.HostName,
		Security:    []rfb.SecurityType{rfb.SecurityVNCAuth},
		VNCPassword: func(context.Context) (string, error) {
			pw, _ := current()
			if pw.IsZero() {
				return "", errors.New("no visual service password set")
			}
			return pw.Reveal(), nil
		},
		Screen: func() *image.RGBA { return scr },
		OnAuth: d.OnAuth,
	}
	if n.target.Auth == core.VisualAuthPlain {
		// VeNCrypt Plain first: clients that speak it get the full-length
		// check; VNC Authentication stays for classic clients.
		cfg.Security = []rfb.SecurityType{rfb.SecurityVeNCrypt, rfb.SecurityVNCAuth}
		cfg.CheckPlain = func(_ context.Context, user, pass string) bool {
			pw, want := current()
			if pw.IsZero() || want == "" {
				return false
			}
			u := subtle.ConstantTimeCompare([]byte(user), []byte(want))
			p := subtle.ConstantTimeCompare([]byte(pass), []byte(pw.Reveal()))
			return u&p == 1
		}
	}
	return cfg
}

// remoteAddr returns the peer's IP address, unmapped.
func remoteAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// reset drops a connection from outside CidrIp with a reset, the way a
// security group that does not allow the peer looks to a client that got
// as far as connecting.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// screen renders what a user sees after logging in to a login node's
// visual service.
func screen(t core.VisualNode) *image.RGBA {
	lines := []string{
		"latchkey simulated E-HPC remote visualization",
		"",
		"Cluster: " + string(t.ClusterID),
		"Node:    " + t.HostName + " (" + string(t.NodeID) + ")",
		fmt.Sprintf("Address: %s:%d", t.Address, t.Port),
		"",
		"[" + t.HostName + "]$ _",
	}
	return textscreen.Render(lines, 640, 400)
}
