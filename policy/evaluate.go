package policy

import (
	"net/netip"
	"strings"
	"time"
)

// Names of the global condition keys that [Request] carries as typed fields
// (RAM policy elements, doc-detail/93738; shared/reference/alibaba-rpc.md §5).
const (
	KeySourceIP        = "acs:SourceIp"
	KeySecureTransport = "acs:SecureTransport"
	KeyCurrentTime     = "acs:CurrentTime"
)

// Request is what a policy is evaluated against: one API call, as the
// authorizer sees it.
type Request struct {
	// Action is the RAM action, "<service>:<Operation>", such as
	// "ecs:ModifyInstanceVncPasswd" or "bcc:ChangePass". It must not be
	// empty.
	Action string
	// Resource is the ARN the action applies to, such as
	// "acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1...". For
	// operations without resource-level authorization (every E-HPC
	// 2018-04-12 operation) pass the ARN pattern the service documents, or
	// "*"; a policy Resource of "*" matches either.
	Resource string
	// SourceIP is the client address, the value of acs:SourceIp. The zero
	// Addr means the address is unknown: the key is then absent.
	SourceIP netip.Addr
	// SecureTransport tells whether the call arrived over TLS, the value of
	// acs:SecureTransport. The key is always present.
	SecureTransport bool
	// CurrentTime is when the call was received, the value of
	// acs:CurrentTime. The zero Time means unknown: the key is then absent.
	CurrentTime time.Time
	// Extra holds any other condition keys and their values, such as
	// "acs:AccessId" or "acs:ResourceTag/team". A key with no values is
	// absent. Entries for the three keys above are ignored: the typed fields
	// are authoritative.
	Extra map[string][]string
}

// Decision is the outcome of [Evaluate].
type Decision uint8

const (
	// ImplicitDeny: no statement allowed the request. It is the zero value,
	// so a Decision nobody set denies.
	ImplicitDeny Decision = iota
	// Allow: some Allow statement matched and no Deny statement did.
	Allow
	// ExplicitDeny: a Deny statement matched.
	ExplicitDeny
)

// String returns "Allow", "ImplicitDeny" or "ExplicitDeny"; the two denials
// are spelled as RAM's AccessDeniedDetail.NoPermissionType spells them.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate decides a request against every policy attached to the
// principal: ExplicitDeny when any statement of any document with Effect
// Deny matches, otherwise Allow when a statement with Effect Allow matches,
// otherwise ImplicitDeny (RAM policy elements, doc-detail/93738: "If policies that
// apply to a request include an Allow statement and a Deny statement, the
// Deny statement takes precedence"). Nil documents are skipped. A request
// with an empty Action is denied implicitly.
//
// Evaluate does not know about account roots: callers grant them everything
// before calling, as RAM does.
func Evaluate(docs []*Document, req Request) Decision {
	if req.Action == "" {
		return ImplicitDeny
	}
	allowed := false
	for _, d := range docs {
		if d == nil {
			continue
		}
		for i := range d.statements {
			st := &d.statements[i]
			if st.effect == allow && allowed {
				// Another Allow cannot change the outcome; only a Deny can.
				continue
			}
			if !st.applies(&req) {
				continue
			}
			if st.effect == deny {
				return ExplicitDeny
			}
			allowed = true
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

// applies reports whether the statement matches the request: its action
// list, its resource list and every one of its conditions.
func (st *statement) applies(req *Request) bool {
	if anyMatch(st.actions, req.Action, true) == st.notAction {
		return false
	}
	if anyMatch(st.resources, req.Resource, false) == st.notResource {
		return false
	}
	for i := range st.conditions {
		if !st.conditions[i].holds(req) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []pattern, s string, fold bool) bool {
	for _, p := range patterns {
		if p.match(s, fold) {
			return true
		}
	}
	return false
}

// ctxValue is one value of a condition key in the request context: either
// text supplied through Request.Extra, or a typed global key.
type ctxValue struct {
	text    string
	addr    netip.Addr // acs:SourceIp
	when    time.Time  // acs:CurrentTime
	hasWhen bool
}

// string renders the value for the String operators. Typed values are
// rendered lazily, since most conditions on them are not String conditions.
func (v ctxValue) string() string {
	switch {
	case v.addr.IsValid():
		return v.addr.String()
	case v.hasWhen:
		return v.when.UTC().Format(time.RFC3339)
	}
	return v.text
}

// ctxValues is the set of values a request holds for one key: a single typed
// value, or the strings from Request.Extra.
type ctxValues struct {
	typed    ctxValue
	hasTyped bool
	texts    []string
}

func (c ctxValues) len() int {
	if c.hasTyped {
		return 1
	}
	return len(c.texts)
}

func (c ctxValues) at(i int) ctxValue {
	if c.hasTyped {
		return c.typed
	}
	return ctxValue{text: c.texts[i]}
}

// lookup finds a condition key's values in the request. Keys are matched
// case-insensitively: an Extra entry spelled exactly as the policy spells the
// key wins; otherwise the values of every spelling that differs only in case
// are combined.
func lookup(req *Request, key string) ctxValues {
	switch {
	case strings.EqualFold(key, KeySourceIP):
		if !req.SourceIP.IsValid() {
			return ctxValues{}
		}
		return ctxValues{typed: ctxValue{addr: req.SourceIP}, hasTyped: true}
	case strings.EqualFold(key, KeySecureTransport):
		text := "false"
		if req.SecureTransport {
			text = "true"
		}
		return ctxValues{typed: ctxValue{text: text}, hasTyped: true}
	case strings.EqualFold(key, KeyCurrentTime):
		if req.CurrentTime.IsZero() {
			return ctxValues{}
		}
		return ctxValues{typed: ctxValue{when: req.CurrentTime, hasWhen: true}, hasTyped: true}
	}
	if vs, ok := req.Extra[key]; ok {
		return ctxValues{texts: vs}
	}
	var merged []string
	for k, vs := range req.Extra {
		if strings.EqualFold(k, key) {
			merged = append(merged, vs...)
		}
	}
	return ctxValues{texts: merged}
}
