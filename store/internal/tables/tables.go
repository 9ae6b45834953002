// Package tables holds what the SQL stores share about their docs and
// audit tables: which rows a core.Query or a core.AuditFilter selects, in
// which order, and how an audit event maps to its columns. The stores
// keep their own dialect (through a Placeholder), connections and error
// mapping.
package tables

import (
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"strconv"
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

// Dialect is what the SQL stores' statements differ in.
type Dialect struct {
	Ph Placeholder
	// Glob returns the condition that col matches the parameter marker
	// p, and GlobPattern the parameter value for a core.LabelMatch
	// pattern, in which '*' matches any run of characters and every
	// other character only itself.
	Glob        func(col, p string) string
	GlobPattern func(pattern string) string
}

// CheckDocs reports, as a *core.Error of KindInvalid for op, what makes q
// unusable before any lookup: negative bounds, too many keys, an empty
// label match, or an After, Keys or Labels without a Kind (keys are
// unique only within a kind).
func CheckDocs(op string, q core.Query) error {
	bad := func(field, msg string) error {
		return &core.Error{Kind: core.KindInvalid, Op: op, Field: field, Message: msg}
	}
	switch {
	case q.Limit < 0:
		return bad("Limit", "negative limit")
	case q.Offset < 0:
		return bad("Offset", "negative offset")
	case q.AfterSeq < 0:
		return bad("AfterSeq", "negative position")
	case q.After != "" && q.Kind == "":
		return bad("After", "After needs a Kind")
	case (len(q.Keys) > 0 || len(q.Labels) > 0) && q.Kind == "":
		return bad("Kind", "Keys and Labels need a Kind")
	case q.Unlabeled && len(q.Labels) > 0:
		return bad("Unlabeled", "an unlabeled document matches no label")
	case len(q.Keys) > core.MaxQueryKeys:
		return bad("Keys", "too many keys")
	}
	for _, m := range q.Labels {
		if m.Name == "" || len(m.Values) == 0 || (m.Glob && len(m.Values) != 1) {
			return bad("Labels", "a label match needs a name and values (one pattern with Glob)")
		}
	}
	return nil
}

// UnknownAfter is the error, of KindInvalid for op, of a Query whose
// After names no document of its Kind.
func UnknownAfter(op string) error {
	return &core.Error{Kind: core.KindInvalid, Op: op, Field: "After", Message: "After names no document of this kind"}
}

// DocColumns are the columns SelectDocs selects, in its order.
const DocColumns = "d.kind, d.key, d.account, d.region, d.seq, d.body"

// SelectDocs returns the statement that selects DocColumns of the
// documents q selects at now, in insertion order (seq), and its
// arguments; after is the seq of the document q.After names (0 when
// unset). With Keys the statement reads those keys' rows (the primary
// key); otherwise with Labels it reads the first label's index range
// (doc_labels_value) in seq order and checks the other labels by seq;
// otherwise it reads the docs index of its kind, account and region. An
// Offset is found by a subquery on the same index alone (it reads no
// document), and the page starts there. q must have passed CheckDocs.
func SelectDocs(dl Dialect, q core.Query, after int64, now time.Time) (string, []any) {
	s := selectStmt{ph: dl.Ph}
	t := s.docsTerms(dl, q, after, now, true)
	if q.Offset > 0 {
		in := s.docsTerms(dl, q, after, now, false)
		s.args = append(s.args, q.Offset)
		t.where = append(t.where, t.seq+" >= (SELECT "+in.seq+" FROM "+in.from+where(in.where)+
			" ORDER BY "+in.seq+" LIMIT 1 OFFSET "+dl.Ph(len(s.args))+")")
	}
	sql := "SELECT " + DocColumns + " FROM " + t.from + where(t.where) + " ORDER BY " + t.seq
	if q.Limit > 0 {
		s.args = append(s.args, q.Limit)
		sql += " LIMIT " + dl.Ph(len(s.args))
	}
	return sql, s.args
}

// CountDocs returns the statement that counts what SelectDocs would
// select without Offset and Limit, reading the same index and no
// document.
func CountDocs(dl Dialect, q core.Query, after int64, now time.Time) (string, []any) {
	s := selectStmt{ph: dl.Ph}
	t := s.docsTerms(dl, q, after, now, false)
	return "SELECT COUNT(*) FROM " + t.from + where(t.where), s.args
}

// where returns the WHERE clause of the conditions, if any.
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// terms are the FROM clause, the conditions, and the column that orders
// the rows of a docs query.
type terms struct {
	from, seq string
	where     []string
}

// docsTerms returns q's terms, its arguments added to s. When the first
// label drives the query, its index range is read in seq order (CROSS
// JOIN keeps SQLite from reading the documents first), joined to the
// documents only when join is set: label rows exist only for existing
// documents, so counting and offsets need no document. With keys the
// account and region are compared as expressions (|| ”), so that SQLite
// reads the keys' rows rather than scanning an account index for its
// order.
func (s *selectStmt) docsTerms(dl Dialect, q core.Query, after int64, now time.Time, join bool) terms {
	var t terms
	cond := func(expr string, v any) {
		s.args = append(s.args, v)
		t.where = append(t.where, expr+" "+s.ph(len(s.args)))
	}
	labels := q.Labels
	after = max(after, q.AfterSeq)
	if len(q.Keys) == 0 && len(labels) > 0 {
		t.from, t.seq = "doc_labels l0", "l0.seq"
		if join {
			t.from += " CROSS JOIN docs d"
			t.where = append(t.where, "d.seq = l0.seq")
		}
		t.where = append(t.where, s.scope("l0", q)...)
		t.where = append(t.where, s.labelTerms(dl, "l0", labels[0], now)...)
		labels = labels[1:]
	} else {
		t.from, t.seq = "docs d", "d.seq"
		scope := [2]string{"d.account =", "d.region ="}
		if len(q.Keys) > 0 {
			t.seq = "d.seq + 0"
			scope = [2]string{"d.account || '' =", "d.region || '' ="}
		}
		if q.Kind != "" {
			cond("d.kind =", string(q.Kind))
		}
		if q.Account != "" {
			cond(scope[0], string(q.Account))
		}
		if q.Region != "" {
			cond(scope[1], string(q.Region))
		}
		if len(q.Keys) > 0 {
			t.where = append(t.where, s.in("d.key", q.Keys))
		}
		if q.Unlabeled {
			t.where = append(t.where, "d.labels IS NULL")
		}
	}
	if after > 0 {
		cond(t.seq+" >", after)
	}
	for i, m := range labels {
		alias := "l" + strconv.Itoa(i+1)
		sub := append([]string{alias + ".seq = " + t.seq}, s.labelTerms(dl, alias, m, now)...)
		t.where = append(t.where, "EXISTS (SELECT 1 FROM doc_labels "+alias+" WHERE "+strings.Join(sub, " AND ")+")")
	}
	return t
}

// labelTerms returns the conditions that the label row alias matches m
// at now, their arguments added to s.
func (s *selectStmt) labelTerms(dl Dialect, alias string, m core.LabelMatch, now time.Time) []string {
	ns := clampNanos(now)
	return append(s.matchTerms(dl, alias, m), alias+".from_ns <= "+s.arg(ns), alias+".until_ns > "+s.arg(ns))
}

// matchTerms returns the conditions that alias's name and value match m,
// their arguments added to s.
func (s *selectStmt) matchTerms(dl Dialect, alias string, m core.LabelMatch) []string {
	out := []string{alias + ".name = " + s.arg(m.Name)}
	switch {
	case m.Glob:
		out = append(out, dl.Glob(alias+".value", s.arg(dl.GlobPattern(m.Values[0]))))
	case len(m.Values) == 1:
		out = append(out, alias+".value = "+s.arg(m.Values[0]))
	default:
		out = append(out, s.in(alias+".value", m.Values))
	}
	return out
}

// scope returns the conditions that alias's kind, account and region are
// q's, their arguments added to s.
func (s *selectStmt) scope(alias string, q core.Query) []string {
	out := []string{alias + ".kind = " + s.arg(string(q.Kind))}
	if q.Account != "" {
		out = append(out, alias+".account = "+s.arg(string(q.Account)))
	}
	if q.Region != "" {
		out = append(out, alias+".region = "+s.arg(string(q.Region)))
	}
	return out
}

// arg adds the argument v and returns its marker.
func (s *selectStmt) arg(v any) string {
	s.args = append(s.args, v)
	return s.ph(len(s.args))
}

// BucketBits is the base-2 logarithm of the width, in seqs, of a bucket
// of SQLite's label_buckets.
const BucketBits = 9

// Bucketed reports whether label buckets can count q, and find its
// offset: one label, no keys, no position (after is the seq of q.After).
func Bucketed(q core.Query, after int64) bool {
	return len(q.Labels) == 1 && len(q.Keys) == 0 && after == 0 && q.AfterSeq == 0 && !q.Unlabeled
}

// BucketCounts returns the statement that selects, bucket by bucket in
// order, how many open-ended label rows match q's label (see Bucketed).
func BucketCounts(dl Dialect, q core.Query) (string, []any) {
	s := selectStmt{ph: dl.Ph}
	conds := append(s.scope("b", q), s.matchTerms(dl, "b", q.Labels[0])...)
	return "SELECT b.bucket, SUM(b.n) FROM label_buckets b" + where(conds) + " GROUP BY b.bucket ORDER BY b.bucket", s.args
}

// BoundedSeqs returns the statement that selects, in order, the seqs of
// the label rows with an interval that match q's label at now (see
// Bucketed): the rows BucketCounts leaves out. Its last condition is
// doc_labels_bounded's, word for word, which SQLite needs to read that
// index, and the statement names it (INDEXED BY, SQLite's): only SQLite
// keeps label buckets.
func BoundedSeqs(dl Dialect, q core.Query, now time.Time) (string, []any) {
	s := selectStmt{ph: dl.Ph}
	conds := append(s.scope("l0", q), s.labelTerms(dl, "l0", q.Labels[0], now)...)
	conds = append(conds, "(l0.from_ns <> -9223372036854775808 OR l0.until_ns <> 9223372036854775807)")
	return "SELECT l0.seq FROM doc_labels l0 INDEXED BY doc_labels_bounded" + where(conds) + " ORDER BY l0.seq", s.args
}

// in returns the condition that col is one of values, their arguments
// added to s.
func (s *selectStmt) in(col string, values []string) string {
	marks := make([]string, len(values))
	for i, v := range values {
		s.args = append(s.args, v)
		marks[i] = s.ph(len(s.args))
	}
	return col + " IN (" + strings.Join(marks, ", ") + ")"
}

// LabelRows are a document's labels as the columns of doc_labels: name,
// value, and the Unix nanoseconds of from (inclusive) and until
// (exclusive), open ends saturated.
type LabelRows struct {
	Names, Values []string
	From, Until   []int64
}

// Labels returns the rows of labels, and their fingerprint for the docs
// table's labels column: equal fingerprints mean equal rows, so a write
// that keeps them need not rewrite doc_labels. A document without labels
// has the fingerprint "", which is not NULL (see core.Query.Unlabeled).
//
// The fingerprint is 128 bits of SHA-256 over an exact encoding of the
// rows, 22 characters whatever the labels, so that the column does not
// make a document's row outgrow its b-tree page: on SQLite a row of more
// than about 1,000 bytes spills into an overflow page, which every read
// of the document then fetches and every write frees and reallocates.
// A column written by an older latchkey (the encoding itself) never
// equals a fingerprint, so such a document's first write rewrites its
// label rows once.
func Labels(labels []core.Label) (LabelRows, string) {
	if len(labels) == 0 {
		return LabelRows{}, ""
	}
	n := len(labels)
	r := LabelRows{Names: make([]string, 0, n), Values: make([]string, 0, n), From: make([]int64, 0, n), Until: make([]int64, 0, n)}
	b := make([]byte, 0, 48*n)
	for _, l := range labels {
		from, until := int64(minNanos), int64(maxNanos)
		if !l.From.IsZero() {
			from = clampNanos(l.From)
		}
		if !l.Until.IsZero() {
			until = clampNanos(l.Until)
		}
		if from >= until {
			continue
		}
		r.Names, r.Values = append(r.Names, l.Name), append(r.Values, l.Value)
		r.From, r.Until = append(r.From, from), append(r.Until, until)
		b = strconv.AppendQuote(b, l.Name)
		b = append(b, '=')
		b = strconv.AppendQuote(b, l.Value)
		b = append(b, '@')
		b = strconv.AppendInt(b, from, 36)
		b = append(b, '-')
		b = strconv.AppendInt(b, until, 36)
		b = append(b, ';')
	}
	if len(b) == 0 {
		return r, ""
	}
	sum := sha256.Sum256(b)
	return r, base64.RawURLEncoding.EncodeToString(sum[:16])
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
