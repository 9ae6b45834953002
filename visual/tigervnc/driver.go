// Package tigervnc is the E-HPC visual driver for real login nodes
// (PRODUCT.md §5): each login node runs `latchkey agent` (package agent),
// which runs the node's visual service as a TigerVNC Xvnc, and this
// driver calls that agent for every StartVisual, StopVisual and
// SetVisualPassword.
//
// Login nodes are found by address: the control plane gives every login
// node an address (its PublicIpAddress, from --ehpc-login-addresses), and
// the agents file maps each address to the URL and token of the agent on
// that node (see LoadAgents).
//
// Errors follow core.VisualDriver: an agent that cannot be reached, does
// not answer before the call's deadline, or refuses latchkey's token is
// ReasonAgentTimeout (E-HPC's AgentError); a command that failed on the
// node is ReasonExecFailed with the command's name (ExecFail). The
// password reaches the agent only in a request body, over TLS unless the
// agent is on loopback or marked insecure_http.
//
// Password length: under the 2024 policy the agent offers VeNCrypt Plain,
// checked by PAM with the whole password, besides VNC Authentication,
// which only checks the first 8 characters, as every VNC server does (see
// package visual for the trade-off). Plain needs the agent to run as root.
package tigervnc

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/agent"
	"github.com/latchkey/latchkey/core"
)

// DefaultCallTimeout bounds a call whose context has no deadline. The
// E-HPC service always gives one (its agent timeout).
const DefaultCallTimeout = 30 * time.Second

// Agent is how the control plane reaches the agent of one login node.
type Agent struct {
	URL   *url.URL
	Token core.Secret
	// HTTP is the client for this agent; nil means one with the system's
	// trusted roots. Its TLS configuration decides which certificates the
	// agent may present.
	HTTP *http.Client
}

// Config is what the driver is told.
type Config struct {
	// Agents maps a login node's address (core.Node.PublicIP) to its
	// agent. A node whose address is not here is unreachable.
	Agents map[netip.Addr]Agent
	// CallTimeout bounds calls whose context has no deadline; zero means
	// DefaultCallTimeout.
	CallTimeout time.Duration
}

// Driver implements core.VisualDriver over node agents. It keeps no state
// of its own: the agents keep the services, the store the passwords.
type Driver struct {
	agents  map[netip.Addr]*agent.Client
	timeout time.Duration
}

var _ core.VisualDriver = (*Driver)(nil)

// New returns a driver for cfg's agents.
func New(cfg Config) *Driver {
	d := &Driver{agents: make(map[netip.Addr]*agent.Client, len(cfg.Agents)), timeout: cfg.CallTimeout}
	if d.timeout <= 0 {
		d.timeout = DefaultCallTimeout
	}
	for addr, a := range cfg.Agents {
		hc := a.HTTP
		if hc == nil {
			hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		}
		d.agents[addr.Unmap()] = &agent.Client{BaseURL: a.URL, Token: a.Token, HTTP: hc}
	}
	return d
}

// Close drops the idle connections to the agents.
func (d *Driver) Close() error {
	for _, c := range d.agents {
		c.HTTP.CloseIdleConnections()
	}
	return nil
}

// auth is the agent's name for the security types node's service offers.
func auth(n core.VisualNode) string {
	if n.Auth == core.VisualAuthPlain {
		return agent.AuthPlain
	}
	return agent.AuthVNC
}

// SetVisualPassword implements core.VisualDriver: the agent replaces the
// files Xvnc reads at every connection, so pw is live for new
// connections without a restart, and used at the next start when the
// service is stopped.
func (d *Driver) SetVisualPassword(ctx context.Context, n core.VisualNode, pw core.Secret) error {
	if pw.IsZero() {
		// An empty VNC password would let anyone in (vnc-backends.md §1).
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed, Message: "write rfbauth", Err: errors.New("empty password refused")}
	}
	return d.call(ctx, n, func(ctx context.Context, c *agent.Client) error {
		_, err := c.SetPassword(ctx, string(n.NodeID), agent.PasswordRequest{Auth: auth(n), PlainUser: n.PlainUser, Password: agent.NewPassword(pw)})
		return err
	})
}

// StartVisual implements core.VisualDriver: the node's Xvnc listens on
// n.Address and n.Port with password pw, restarted only when its address,
// port or security types change.
func (d *Driver) StartVisual(ctx context.Context, n core.VisualNode, pw core.Secret) error {
	if pw.IsZero() {
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed, Message: "Xvnc", Err: errors.New("empty password refused")}
	}
	req := agent.StartRequest{
		HostName: n.HostName, Address: n.Address.String(), Port: n.Port,
		Auth: auth(n), PlainUser: n.PlainUser, Password: agent.NewPassword(pw),
	}
	if n.CIDR.IsValid() {
		req.CIDR = n.CIDR.String()
	}
	return d.call(ctx, n, func(ctx context.Context, c *agent.Client) error {
		_, err := c.Start(ctx, string(n.NodeID), req)
		return err
	})
}

// StopVisual implements core.VisualDriver: the agent stops Xvnc with
// SIGTERM and answers once it has exited.
func (d *Driver) StopVisual(ctx context.Context, n core.VisualNode) error {
	return d.call(ctx, n, func(ctx context.Context, c *agent.Client) error {
		_, err := c.Stop(ctx, string(n.NodeID))
		return err
	})
}

// Status returns what the node's agent reports about its service.
func (d *Driver) Status(ctx context.Context, n core.VisualNode) (agent.Status, error) {
	var st agent.Status
	err := d.call(ctx, n, func(ctx context.Context, c *agent.Client) (err error) {
		st, err = c.Status(ctx, string(n.NodeID))
		return err
	})
	return st, err
}

// call runs fn against n's agent and maps its error (core.VisualDriver's
// contract).
func (d *Driver) call(ctx context.Context, n core.VisualNode, fn func(context.Context, *agent.Client) error) error {
	c := d.agents[n.Address.Unmap()]
	if c == nil {
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout,
			Message: "no agent is configured for login node " + n.HostName + " (" + n.Address.String() + ")"}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.timeout)
		defer cancel()
	}
	err := fn(ctx, c)
	if err == nil {
		return nil
	}
	where := "the agent of login node " + n.HostName + " (" + c.BaseURL.Host + ")"
	var ae *agent.Error
	if !errors.As(err, &ae) {
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Message: where + " did not answer", Err: err}
	}
	switch ae.Code {
	case agent.CodeExecFailed:
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed, Message: ae.Command, Err: ae}
	case agent.CodeUnauthorized:
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Message: where + " refused latchkey's token", Err: ae}
	case agent.CodeUnavailable:
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Message: where + " is shutting down", Err: ae}
	}
	return &core.Error{Kind: core.KindInternal, Message: where + " failed the call", Err: ae}
}
