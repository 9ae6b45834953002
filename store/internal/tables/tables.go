// Package tables holds what the SQL stores share about their docs and
// audit tables: which rows a core.Query or a core.AuditFilter selects, in
// which order, and how an audit event maps to its columns. The stores
// keep their own dialect (through a Placeholder), connections and error
// mapping.
package tables

import (
	"net/netip"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Placeholder returns the marker of a statement's nth parameter, counting
// from 1: "?" in SQLite, "$n" in PostgreSQL.
type Placeholder func(n int) string

// selectStmt builds a SELECT whose conditions are ANDed.
type selectStmt struct {
	ph    Placeholder
	where []string
	args  []any
}

// and adds the condition expr, which ends in its operator, on the
// parameter v: and("kind =", k) is "kind = ?" with k.
func (s *selectStmt) and(expr string, v any) {
	s.args = append(s.args, v)
	s.where = append(s.where, expr+" "+s.ph(len(s.args)))
}

// sql returns head with the conditions, ordered by order and limited to
// limit rows when limit is positive, and its arguments.
func (s *selectStmt) sql(head, order string, limit int) (string, []any) {
	var b strings.Builder
	b.WriteString(head)
	if len(s.where) > 0 {
		b.WriteString(" WHERE " + strings.Join(s.where, " AND "))
	}
	b.WriteString(" ORDER BY " + order)
	if limit > 0 {
		s.args = append(s.args, limit)
		b.WriteString(" LIMIT " + s.ph(len(s.args)))
	}
	return b.String(), s.args
}

// CheckDocs reports, as a *core.Error of KindInvalid for op, what makes q
// unusable before any lookup: a negative Limit, or an After without a
// Kind (keys are unique only within a kind).
func CheckDocs(op string, q core.Query) error {
	if q.Limit < 0 {
		return &core.Error{Kind: core.KindInvalid, Op: op, Field: "Limit", Message: "negative limit"}
	}
	if q.After != "" && q.Kind == "" {
		return &core.Error{Kind: core.KindInvalid, Op: op, Field: "After", Message: "After needs a Kind"}
	}
	return nil
}

// UnknownAfter is the error, of KindInvalid for op, of a Query whose
// After names no document of its Kind.
func UnknownAfter(op string) error {
	return &core.Error{Kind: core.KindInvalid, Op: op, Field: "After", Message: "After names no document of this kind"}
}

// SelectDocs returns the statement that selects kind, key, account,
// region and body of the documents q selects, in insertion order (seq),
// and its arguments. An empty Kind, Account or Region selects every one;
// after is the seq of the document q.After names, and is used only when
// q.After is set. q must have passed CheckDocs.
func SelectDocs(ph Placeholder, q core.Query, after int64) (string, []any) {
	s := selectStmt{ph: ph}
	if q.Kind != "" {
		s.and("kind =", string(q.Kind))
	}
	if q.Account != "" {
		s.and("account =", string(q.Account))
	}
	if q.Region != "" {
		s.and("region =", string(q.Region))
	}
	if q.After != "" {
		s.and("seq >", after)
	}
	return s.sql("SELECT kind, key, account, region, body FROM docs", "seq", q.Limit)
}

// CheckAudit reports a negative Limit as a *core.Error of KindInvalid for
// op.
func CheckAudit(op string, f core.AuditFilter) error {
	if f.Limit < 0 {
		return &core.Error{Kind: core.KindInvalid, Op: op, Field: "Limit", Message: "negative limit"}
	}
	return nil
}

// SelectAudit returns the statement that selects the columns of AuditRow
// for the events f selects, oldest first and ties in append order, and
// its arguments. f must have passed CheckAudit.
func SelectAudit(ph Placeholder, f core.AuditFilter) (string, []any) {
	s := selectStmt{ph: ph}
	if f.Resource != "" {
		s.and("resource =", f.Resource)
	}
	if f.AccountID != "" {
		s.and("account =", string(f.AccountID))
	}
	if f.User != "" {
		s.and("user_name =", string(f.User))
	}
	if f.AccessKeyID != "" {
		s.and("access_key_id =", string(f.AccessKeyID))
	}
	if !f.Since.IsZero() {
		s.and("time >=", clampNanos(f.Since))
	}
	if !f.Until.IsZero() {
		s.and("time <", clampNanos(f.Until))
	}
	return s.sql(`SELECT `+auditColumns+` FROM audit`, "time, id", f.Limit)
}

// auditColumns are the audit table's columns that hold an event, in the
// order of AuditArgs and AuditRow.
const auditColumns = `time, request_id, account, user_name, access_key_id, source_ip,
		product, action, resource, result, detail`

// Audit times are stored as Unix nanoseconds, which cover 1678 to 2262.
const (
	minNanos = -1 << 63
	maxNanos = 1<<63 - 1
)

// AuditArgs returns the values of the audit columns time, request_id,
// account, user_name, access_key_id, source_ip, product, action,
// resource, result and detail for ev, in that order. An event without a
// Time gets now; a time outside what Unix nanoseconds hold (the years
// 1678–2261) is a *core.Error of KindInvalid for op.
func AuditArgs(op string, ev core.AuditEvent, now time.Time) ([]any, error) {
	if ev.Time.IsZero() {
		ev.Time = now
	}
	if ev.Time.Before(time.Unix(0, minNanos)) || ev.Time.After(time.Unix(0, maxNanos)) {
		return nil, &core.Error{Kind: core.KindInvalid, Op: op, Field: "Time", Message: "audit time out of range"}
	}
	ip := ""
	if ev.SourceIP.IsValid() {
		ip = ev.SourceIP.String()
	}
	return []any{ev.Time.UnixNano(), string(ev.RequestID), string(ev.AccountID), string(ev.User), string(ev.AccessKeyID), ip,
		ev.Product, ev.Action, ev.Resource, ev.Result, ev.Detail}, nil
}

// AuditRow receives one row of SelectAudit's statement.
type AuditRow struct {
	ev    core.AuditEvent
	nanos int64
	ip    string
}

// Dest returns the scan destinations of the row's columns.
func (r *AuditRow) Dest() []any {
	return []any{&r.nanos, &r.ev.RequestID, &r.ev.AccountID, &r.ev.User, &r.ev.AccessKeyID, &r.ip,
		&r.ev.Product, &r.ev.Action, &r.ev.Resource, &r.ev.Result, &r.ev.Detail}
}

// Event returns the scanned row's event, its Time in UTC. A malformed
// source_ip is a *core.Error of KindInternal for op.
func (r *AuditRow) Event(op string) (core.AuditEvent, error) {
	ev := r.ev
	ev.Time = time.Unix(0, r.nanos).UTC()
	if r.ip != "" {
		ip, err := netip.ParseAddr(r.ip)
		if err != nil {
			return core.AuditEvent{}, &core.Error{Kind: core.KindInternal, Op: op, Err: err}
		}
		ev.SourceIP = ip
	}
	return ev, nil
}

// clampNanos converts a filter bound to Unix nanoseconds, saturating
// outside the representable range.
func clampNanos(tm time.Time) int64 {
	switch {
	case tm.Before(time.Unix(0, minNanos)):
		return minNanos
	case tm.After(time.Unix(0, maxNanos)):
		return maxNanos
	}
	return tm.UnixNano()
}
