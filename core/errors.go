package core

import (
	"errors"
	"fmt"
)

// Kind is the closed set of error categories every layer agrees on.
type Kind int

const (
	KindInternal    Kind = iota // a bug or an unexpected failure
	KindInvalid                 // the request is malformed; nothing changed
	KindNotFound                // the named resource does not exist
	KindConflict                // the resource's state forbids the operation
	KindForbidden               // the caller may not do this
	KindUnavailable             // a backend (console, agent) could not be reached
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	case KindUnavailable:
		return "unavailable"
	}
	return "internal"
}

// Reason names a provider-visible situation more precisely than a Kind.
// Each protocol's error table maps (Kind, Reason) to its own code, message
// and HTTP status; the empty Reason means "the generic code of the Kind".
type Reason string

// The reasons the source documents name. Add one only when a provider
// renders it differently from its Kind's generic code.
const (
	ReasonNone Reason = ""

	// Validation.
	ReasonMissingParameter   Reason = "MissingParameter" // Field names it
	ReasonInvalidParameter   Reason = "InvalidParameter" // Field names it
	ReasonPasswordLength     Reason = "PasswordLength"   // Field names it
	ReasonPasswordCharset    Reason = "PasswordCharset"  // Field names it
	ReasonPasswordPolicy     Reason = "PasswordPolicy"   // Message names the rule
	ReasonDryRun             Reason = "DryRun"           // validation passed, DryRun set
	ReasonIdempotentMismatch Reason = "IdempotentMismatch"

	// Lookup.
	ReasonRegionNotFound    Reason = "RegionNotFound"
	ReasonZoneNotFound      Reason = "ZoneNotFound"
	ReasonInstanceNotFound  Reason = "InstanceNotFound"
	ReasonResourceReleased  Reason = "ResourceReleased" // being released
	ReasonClusterNotFound   Reason = "ClusterNotFound"
	ReasonUserNotFound      Reason = "UserNotFound"
	ReasonPolicyNotFound    Reason = "PolicyNotFound"
	ReasonAccessKeyNotFound Reason = "AccessKeyNotFound"

	// State.
	ReasonIncorrectStatus Reason = "IncorrectStatus"
	ReasonConflictingOp   Reason = "ConflictingOperation"
	ReasonAlreadyExists   Reason = "AlreadyExists"

	// Identity and account.
	ReasonRAMDenied         Reason = "RAMDenied"
	ReasonBadCredential     Reason = "BadCredential"
	ReasonServiceNotEnabled Reason = "ServiceNotEnabled"
	ReasonInDebt            Reason = "InDebt"
	// ReasonResourceInArrears is an operation on an existing resource of
	// an account in debt, where the product tells it apart from a
	// creation (ECS InstanceExpiredOrInArrears).
	ReasonResourceInArrears Reason = "ResourceInArrears"

	// Backends (console drivers and node agents).
	ReasonConsoleUnreachable Reason = "ConsoleUnreachable"
	ReasonAgentTimeout       Reason = "AgentTimeout"
	ReasonExecFailed         Reason = "ExecFailed"     // Message names the command
	ReasonPartialFailure     Reason = "PartialFailure" // Message names the nodes
)

// Error is latchkey's error value. Message is safe to show to the caller:
// it never contains a secret. Err keeps the cause for logs.
type Error struct {
	Kind    Kind
	Reason  Reason
	Field   string // the offending request parameter, for validation errors
	Message string
	Op      string // the operation, e.g. "ecs.ModifyInstanceVncPasswd"
	Err     error

	// Denial carries the details of a RAM denial (ReasonRAMDenied).
	Denial *Denial
}

func (e *Error) Error() string {
	s := e.Kind.String()
	if e.Reason != "" {
		s += " (" + string(e.Reason) + ")"
	}
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Field != "" {
		s += " " + e.Field
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Denial describes why authorization refused a call.
type Denial struct {
	Action        string // e.g. "ecs:ModifyInstanceVncPasswd"
	Resource      string // the ARN that was checked
	PrincipalType string // "SubUser" for RAM users
	PrincipalID   string // the RAM user's name
	AccountID     AccountID
	Explicit      bool // an explicit Deny matched (otherwise implicit deny)
}

// Errorf builds an Error of the given kind and reason with a caller-safe
// message.
func Errorf(kind Kind, reason Reason, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a malformed parameter.
func Invalid(reason Reason, field string) *Error {
	return &Error{Kind: KindInvalid, Reason: reason, Field: field}
}

// AsError returns err as an *Error, wrapping unknown errors as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Err: err}
}

// KindOf returns the kind of err (KindInternal for foreign errors).
func KindOf(err error) Kind { return AsError(err).Kind }

// ReasonOf returns the reason of err.
func ReasonOf(err error) Reason { return AsError(err).Reason }
