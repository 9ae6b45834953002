package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/latchkey/latchkey/core"
)

// The agent's HTTP API. Every route but /healthz needs
// "Authorization: Bearer <token>"; bodies are JSON.
//
//	GET    /healthz                    200 "ok" (no token needed)
//	GET    /v1/nodes/{node}            the node's Status
//	PUT    /v1/nodes/{node}/service    StartRequest → Status: start, or reconfigure
//	DELETE /v1/nodes/{node}/service    → Status: stop (stopping a stopped service is fine)
//	PUT    /v1/nodes/{node}/password   PasswordRequest → Status
//
// {node} is the login node's id (core.NodeID): one agent can serve several
// nodes, each with its own Xvnc, display and files. A failure is an
// ErrorBody with the HTTP status of its Code.

// Auth values: which RFB security types the node's Xvnc offers
// (core.VisualAuth).
const (
	// AuthVNC offers VNC Authentication only (-SecurityTypes VncAuth):
	// the first 8 characters of the password count.
	AuthVNC = "vnc"
	// AuthPlain offers VeNCrypt Plain first, checked by PAM against the
	// node's private account database with the whole password, and VNC
	// Authentication second (-SecurityTypes Plain,VncAuth).
	AuthPlain = "plain"
)

// Password carries a password in a request body. It marshals its value,
// because the agent needs it, but prints, formats and logs as
// [redacted], so a request that reaches a log by mistake leaks nothing.
type Password struct{ s core.Secret }

// NewPassword wraps s for the wire.
func NewPassword(s core.Secret) Password { return Password{s: s} }

// Secret returns the password.
func (p Password) Secret() core.Secret { return p.s }

// MarshalJSON implements json.Marshaler with the plaintext.
func (p Password) MarshalJSON() ([]byte, error) { return json.Marshal(p.s.Reveal()) }

// UnmarshalJSON implements json.Unmarshaler.
func (p *Password) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("password: want a string")
	}
	p.s = core.NewSecret(v)
	return nil
}

func (p Password) String() string       { return "[redacted]" }
func (p Password) GoString() string     { return "agent.Password{[redacted]}" }
func (p Password) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// StartRequest starts a node's visual service, or reconfigures it when
// it runs: Xvnc listens on Address (or the agent's --vnc-interface) and
// Port, and asks for Password.
type StartRequest struct {
	// HostName is the login node's host name, shown as the desktop name.
	HostName string `json:"host_name,omitempty"`
	Address  string `json:"address"`
	Port     int    `json:"port"`
	// CIDR is the range the service should accept connections from.
	// Xvnc has no host filter, so the agent records it and reports in
	// Status.CIDREnforced that it is not enforced unless it allows every
	// address; the node's firewall must do the rest.
	CIDR      string   `json:"cidr,omitempty"`
	Auth      string   `json:"auth"`
	PlainUser string   `json:"plain_user,omitempty"`
	Password  Password `json:"password"`
}

// LogValue keeps the password out of log/slog records, whose JSON handler
// would otherwise marshal the request as the wire does.
func (r StartRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host_name", r.HostName), slog.String("address", r.Address),
		slog.Int("port", r.Port), slog.String("cidr", r.CIDR), slog.String("auth", r.Auth),
		slog.String("plain_user", r.PlainUser), slog.String("password", "[redacted]"))
}

// PasswordRequest sets a node's visual-service password: live for new
// connections at once when the service runs, used at its next start when
// it does not. Auth and PlainUser are as in StartRequest.
type PasswordRequest struct {
	Auth      string   `json:"auth"`
	PlainUser string   `json:"plain_user,omitempty"`
	Password  Password `json:"password"`
}

// LogValue keeps the password out of log/slog records.
func (r PasswordRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("auth", r.Auth), slog.String("plain_user", r.PlainUser), slog.String("password", "[redacted]"))
}

// Status is a node's visual service as the agent sees it.
type Status struct {
	Node string `json:"node"`
	// Started is what the control plane asked for last: the service is
	// meant to run (and runs again when the agent restarts).
	Started bool `json:"started"`
	// Running reports an Xvnc process that is up, with its PID and X
	// display.
	Running bool `json:"running"`
	PID     int  `json:"pid,omitempty"`
	Display int  `json:"display,omitempty"`
	// Listen is the address and port Xvnc listens on.
	Listen    string `json:"listen,omitempty"`
	Auth      string `json:"auth,omitempty"`
	PlainUser string `json:"plain_user,omitempty"`
	CIDR      string `json:"cidr,omitempty"`
	// CIDREnforced is false when CIDR narrows the allowed clients: Xvnc
	// cannot, so the node's firewall must.
	CIDREnforced bool `json:"cidr_enforced"`
	// PasswordSet reports that the node has a password file; without one
	// nobody can log in.
	PasswordSet bool `json:"password_set"`
}

// Error codes of ErrorBody, with the HTTP status each is sent with.
const (
	CodeUnauthorized = "Unauthorized" // 401: no or wrong bearer token
	CodeBadRequest   = "BadRequest"   // 400: a malformed request; nothing changed
	CodeNotFound     = "NotFound"     // 404: no such route
	CodeExecFailed   = "ExecFailed"   // 500: a command failed; Command names it
	CodeUnavailable  = "Unavailable"  // 503: the agent is shutting down
	CodeInternal     = "Internal"     // 500: anything else
)

// ErrorBody is every failed answer's body. It never holds a password or
// the token.
type ErrorBody struct {
	Code string `json:"code"`
	// Command names the command that failed (CodeExecFailed only), e.g.
	// "Xvnc :21 -rfbport 12016". It never holds a password.
	Command string `json:"command,omitempty"`
	Message string `json:"message"`
}
