package core

import (
	"context"
	"net/netip"
	"sync/atomic"
	"time"
)

// AuditEvent records one mutating call. It never holds a secret.
type AuditEvent struct {
	Time        time.Time
	RequestID   RequestID
	AccountID   AccountID
	User        UserName
	AccessKeyID AccessKeyID
	SourceIP    netip.Addr
	Product     string // "ecs", "ehpc", "ram", "bcc", "latchkey"
	Action      string // the API action, e.g. "ModifyInstanceVncPasswd"
	Resource    string // the resource the call addressed (an id or ARN)
	Result      string // "Success" or the provider error code
	Detail      string // optional caller-safe detail
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	Resource    string
	AccountID   AccountID
	User        UserName
	AccessKeyID AccessKeyID
	Since       time.Time // inclusive
	Until       time.Time // exclusive
	Limit       int
}

// Auditor records audit events. Front ends call it once per mutating call,
// after the outcome is known. Record may queue the event; Flush returns
// once every event recorded before it is stored and visible to
// Tx.QueryAudit.
type Auditor interface {
	Record(ctx context.Context, ev AuditEvent) error
	Flush(ctx context.Context) error
}

// AuditIntent carries a request's audit event to the transaction that
// makes the request's change, so that no change is committed without its
// event, even if latchkey dies right after the commit. A front end that
// knows the event before it calls a service attaches an intent to the
// context (WithAuditIntent); the service appends it, as a success, inside
// the Update whose success makes the operation succeed (RecordChange).
// When the operation answers success and Appended reports true, the event
// is stored; otherwise the front end records the event itself, with the
// outcome, through its Auditor.
type AuditIntent struct {
	// Event is the event to record; its Time and Result are set when it
	// is appended.
	Event    AuditEvent
	appended atomic.Bool
}

type auditIntentKey struct{}

// WithAuditIntent returns ctx carrying in.
func WithAuditIntent(ctx context.Context, in *AuditIntent) context.Context {
	return context.WithValue(ctx, auditIntentKey{}, in)
}

// Appended reports whether a service appended the event in a
// transaction (which, when the operation succeeded, committed).
func (in *AuditIntent) Appended() bool { return in.appended.Load() }

// RecordChange appends the audit event of ctx's intent in tx, stamped
// with tx's time, as a success. Without an intent it does nothing. Call
// it only in the Update whose success makes the operation succeed: a
// failure after it would leave a success on record.
func RecordChange(ctx context.Context, tx Tx) error {
	in, _ := ctx.Value(auditIntentKey{}).(*AuditIntent)
	if in == nil {
		return nil
	}
	ev := in.Event
	ev.Time, ev.Result = tx.Now(), "Success"
	if err := tx.AppendAudit(ctx, ev); err != nil {
		return err
	}
	in.appended.Store(true)
	return nil
}
