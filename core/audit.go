package core

import (
	"context"
	"net/netip"
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
