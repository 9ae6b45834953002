package faults

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/latchkey/latchkey/core"
)

// Effect is what a rule does to a call it hits.
type Effect string

const (
	// Unreachable: the console (or, for E-HPC, the node's agent) cannot be
	// reached; nothing changes on it.
	Unreachable Effect = "unreachable"
	// AgentTimeout: the node or guest agent does not answer in time.
	AgentTimeout Effect = "agent-timeout"
	// ExecFailure: the backend ran a command that failed; the error names
	// the command (Rule.Command, or the operation's usual one).
	ExecFailure Effect = "exec-failure"
	// PartialFailure (E-HPC only): in each operation on a cluster, the
	// first login node takes the change and every other login node's agent
	// times out. A cluster needs two login nodes or more to show it.
	PartialFailure Effect = "partial-failure"
	// UpstreamFailure: a cloud service under the backend failed (E-HPC's
	// AliyunError); nothing changes.
	UpstreamFailure Effect = "upstream-failure"
	// ServiceUnavailable (E-HPC only): the node service is temporarily
	// unavailable (E-HPC's ServiceUnavailable); nothing changes.
	ServiceUnavailable Effect = "service-unavailable"
	// InternalFailure (E-HPC only): the node boundary fails in a way it
	// does not explain (E-HPC's UnknownError); nothing changes.
	InternalFailure Effect = "internal-failure"
	// Latency delays the call by Rule.Latency, then lets it through.
	Latency Effect = "latency"
)

// Effects lists every effect, in documentation order.
func Effects() []Effect {
	return []Effect{Unreachable, AgentTimeout, ExecFailure, PartialFailure, UpstreamFailure, ServiceUnavailable, InternalFailure, Latency}
}

// ehpcOnly reports whether e exists for E-HPC alone: a partial failure
// needs several login nodes, and ServiceUnavailable and UnknownError are
// codes of E-HPC's error table that ECS and BCC have no counterpart for.
func ehpcOnly(e Effect) bool {
	return e == PartialFailure || e == ServiceUnavailable || e == InternalFailure
}

// Operation names a driver call a rule can hit.
type Operation string

const (
	// OpSetPassword is ConsoleDriver.SetConsolePassword (ECS, BCC) and
	// VisualDriver.SetVisualPassword (E-HPC).
	OpSetPassword Operation = "set-password"
	// OpOpenConsole is ConsoleDriver.OpenConsole: a console connection
	// through the VNC gateway (ECS, BCC).
	OpOpenConsole Operation = "open-console"
	// OpSetGuestPassword is GuestPasswordSetter.SetGuestPassword: BCC's
	// changePass on a running instance.
	OpSetGuestPassword Operation = "set-guest-password"
	// OpStartVisual and OpStopVisual are VisualDriver.StartVisual and
	// StopVisual (E-HPC).
	OpStartVisual Operation = "start-visual"
	OpStopVisual  Operation = "stop-visual"
)

// The products whose drivers rules can hit.
const (
	ProductECS  = "ecs"
	ProductBCC  = "bcc"
	ProductEHPC = "ehpc"
)

// Operations returns the operations of a product's drivers; nil for an
// unknown product.
func Operations(product string) []Operation {
	switch product {
	case ProductECS:
		return []Operation{OpSetPassword, OpOpenConsole}
	case ProductBCC:
		return []Operation{OpSetPassword, OpSetGuestPassword, OpOpenConsole}
	case ProductEHPC:
		return []Operation{OpSetPassword, OpStartVisual, OpStopVisual}
	}
	return nil
}

// defaultCommand is the command an exec-failure names when the rule gives
// none: what a real node or guest would have run.
func defaultCommand(op Operation) string {
	switch op {
	case OpSetPassword:
		return "vncpasswd -f"
	case OpStartVisual:
		return "vncserver"
	case OpStopVisual:
		return "vncserver -kill"
	case OpSetGuestPassword:
		return "chpasswd"
	}
	return "vncviewer"
}

// Limits on a rule's values.
const (
	MaxLatency    = 5 * time.Minute
	maxCommandLen = 200
	maxCount      = 1_000_000
	maxResource   = 128
)

// RuleKind is the store kind of Rule.
const RuleKind core.ResourceKind = "latchkey.fault"

// Rule is one fault rule. A call is hit when its product matches, the
// rule's Resource is empty or names the call's resource (an instance id, a
// cluster id or a login node's id), Operations is empty or holds the
// call's operation, and then:
//   - Count > 0: while Remaining > 0; each hit spends one, and a spent rule
//     is deleted;
//   - Probability > 0: with that probability, independently per call;
//   - both: with that probability, at most Count times;
//   - neither: every call, until the rule is removed.
//
// For E-HPC, one operation on a cluster calls the driver once per login
// node; a rule on the cluster (or on every cluster) is decided once per
// operation, so "count 1" fails one whole operation, not one node. A rule
// on a node id is decided per call to that node.
type Rule struct {
	ID          string      `json:"id"`
	Product     string      `json:"product"`
	Resource    string      `json:"resource,omitempty"`
	Operations  []Operation `json:"operations,omitempty"`
	Effect      Effect      `json:"effect"`
	Count       int         `json:"count,omitempty"`
	Probability float64     `json:"probability,omitempty"`
	// Latency delays each hit call before its effect: the whole effect of
	// a latency rule, an added wait before a failure for the others.
	Latency Duration `json:"latency,omitempty"`
	// Command is the command an exec-failure names.
	Command string `json:"command,omitempty"`

	// Remaining is how many hits a Count rule has left.
	Remaining int `json:"remaining,omitempty"`
	// Hits counts the calls the rule has hit.
	Hits      int       `json:"hits"`
	CreatedAt time.Time `json:"created_at"`
}

func (*Rule) Kind() core.ResourceKind { return RuleKind }
func (r *Rule) Key() string           { return r.ID }
func (*Rule) Owner() core.AccountID   { return "" }
func (*Rule) Location() core.RegionID { return "" }

// Validate checks a rule as a caller gave it and returns an *core.Error of
// KindInvalid whose Field names the first bad field.
func (r *Rule) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &core.Error{Kind: core.KindInvalid, Reason: core.ReasonInvalidParameter, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	ops := Operations(r.Product)
	if ops == nil {
		return bad("product", "product must be one of ecs, ehpc, bcc")
	}
	if !slices.Contains(Effects(), r.Effect) {
		return bad("effect", "effect must be one of %s", joinEffects(Effects()))
	}
	if ehpcOnly(r.Effect) && r.Product != ProductEHPC {
		if r.Effect == PartialFailure {
			return bad("effect", "partial-failure applies to E-HPC clusters only: an instance has one console")
		}
		return bad("effect", "%s applies to E-HPC only: ECS and BCC have no such error", r.Effect)
	}
	if len(r.Resource) > maxResource || strings.IndexFunc(r.Resource, func(c rune) bool {
		return c > unicode.MaxASCII || !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_' || c == '.')
	}) >= 0 {
		return bad("resource", "resource must be an instance, cluster or node id")
	}
	for _, op := range r.Operations {
		if !slices.Contains(ops, op) {
			return bad("operations", "operation %q does not exist for %s (want one of %s)", op, r.Product, joinOps(ops))
		}
	}
	if r.Count < 0 || r.Count > maxCount {
		return bad("count", "count must be between 0 and %d", maxCount)
	}
	if r.Probability < 0 || r.Probability > 1 || r.Probability != r.Probability {
		return bad("probability", "probability must be between 0 and 1")
	}
	if r.Latency < 0 || time.Duration(r.Latency) > MaxLatency {
		return bad("latency", "latency must be between 0 and %s", MaxLatency)
	}
	if r.Effect == Latency && r.Latency == 0 {
		return bad("latency", "a latency rule needs a latency, e.g. \"500ms\"")
	}
	if r.Command != "" && r.Effect != ExecFailure {
		return bad("command", "only an exec-failure names a command")
	}
	if len(r.Command) > maxCommandLen || strings.IndexFunc(r.Command, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		return bad("command", "command must be at most %d printable characters", maxCommandLen)
	}
	return nil
}

func joinEffects(es []Effect) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

func joinOps(ops []Operation) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = string(op)
	}
	return strings.Join(s, ", ")
}

// matches reports whether the rule applies to a call of op on one of ids
// (the resource ids the call concerns) of product.
func (r *Rule) matches(product string, op Operation, ids ...string) bool {
	if r.Product != product {
		return false
	}
	if len(r.Operations) > 0 && !slices.Contains(r.Operations, op) {
		return false
	}
	return r.Resource == "" || slices.Contains(ids, r.Resource)
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("250ms", "2s").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"500ms\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("a duration is a string such as \"500ms\": %w", err)
	}
	*d = Duration(v)
	return nil
}

// String returns the duration in Go's notation.
func (d Duration) String() string { return time.Duration(d).String() }
