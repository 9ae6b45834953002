package internalapi

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/service"
)

// Account state (PRODUCT.md §4: NotEnabled, InDebt).

type accountsBody struct {
	Accounts []service.AccountState `json:"accounts"`
}

func (a *api) listAccounts(w http.ResponseWriter, r *http.Request) {
	list, err := a.d.Registry.Accounts().List(r.Context())
	if err != nil {
		a.fail(w, r, "ListAccounts", err)
		return
	}
	if list == nil {
		list = []service.AccountState{}
	}
	a.ok(w, r, "ListAccounts", http.StatusOK, accountsBody{list})
}

// accountID resolves the {id} of an accounts route: "root" names the data
// directory's root account.
func (a *api) accountID(r *http.Request) core.AccountID {
	id := r.PathValue("id")
	if id == "root" {
		return a.d.Root.AccountID
	}
	return core.AccountID(id)
}

func (a *api) getAccount(w http.ResponseWriter, r *http.Request) {
	st, err := a.d.Registry.Accounts().Get(r.Context(), a.accountID(r))
	if core.KindOf(err) == core.KindNotFound {
		err = newError("NotFound", "", "no account "+string(a.accountID(r)))
	}
	if err != nil {
		a.fail(w, r, "GetAccount", err)
		return
	}
	a.ok(w, r, "GetAccount", http.StatusOK, st)
}

// changeAccount applies {"services":{"ehpc":false},"in_debt":true}. The
// account service audits the change itself; this records who asked.
func (a *api) changeAccount(w http.ResponseWriter, r *http.Request) {
	const action = "ChangeAccountState"
	var ch service.AccountChange
	if err := decode(r, &ch); err != nil {
		a.fail(w, r, action, err)
		return
	}
	id := a.accountID(r)
	st, err := a.d.Registry.Accounts().Change(r.Context(), id, ch)
	if core.KindOf(err) == core.KindNotFound {
		err = newError("NotFound", "", "no account "+string(id))
	}
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	a.ok(w, r, action, http.StatusOK, st)
}

// Fault rules.

type faultsBody struct {
	Rules []*faults.Rule `json:"rules"`
}

func (a *api) listFaults(w http.ResponseWriter, r *http.Request) {
	if a.d.Faults == nil {
		a.fail(w, r, "ListFaults", unavailable("fault injection"))
		return
	}
	rules, err := a.d.Faults.List(r.Context())
	if err != nil {
		a.fail(w, r, "ListFaults", err)
		return
	}
	if rules == nil {
		rules = []*faults.Rule{}
	}
	a.ok(w, r, "ListFaults", http.StatusOK, faultsBody{rules})
}

func (a *api) addFault(w http.ResponseWriter, r *http.Request) {
	const action = "AddFaultRule"
	if a.d.Faults == nil {
		a.fail(w, r, action, unavailable("fault injection"))
		return
	}
	var rule faults.Rule
	if err := decode(r, &rule); err != nil {
		a.fail(w, r, action, err)
		return
	}
	added, err := a.d.Faults.Add(r.Context(), rule)
	if err != nil {
		a.audit(r.Context(), r, action, "fault/"+rule.Product+"/"+rule.Resource, toAPIError(err).code, "")
		a.fail(w, r, action, err)
		return
	}
	a.audit(r.Context(), r, action, added.ID, "Success", describeRule(added))
	a.ok(w, r, action, http.StatusCreated, added)
}

// describeRule is a rule in one line, for the audit log.
func describeRule(r *faults.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s", r.Effect, r.Product)
	if r.Resource != "" {
		fmt.Fprintf(&b, " %s", r.Resource)
	}
	if len(r.Operations) > 0 {
		ops := make([]string, len(r.Operations))
		for i, op := range r.Operations {
			ops[i] = string(op)
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(ops, ", "))
	}
	if r.Count > 0 {
		fmt.Fprintf(&b, ", next %d", r.Count)
	}
	if r.Probability > 0 {
		fmt.Fprintf(&b, ", probability %g", r.Probability)
	}
	if r.Latency > 0 {
		fmt.Fprintf(&b, ", latency %s", r.Latency)
	}
	return b.String()
}

type clearedBody struct {
	Removed int `json:"removed"`
}

func (a *api) clearFaults(w http.ResponseWriter, r *http.Request) {
	const action = "ClearFaultRules"
	if a.d.Faults == nil {
		a.fail(w, r, action, unavailable("fault injection"))
		return
	}
	q := r.URL.Query()
	n, err := a.d.Faults.Clear(r.Context(), q.Get("product"), q.Get("resource"))
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	a.audit(r.Context(), r, action, "fault/"+q.Get("product")+"/"+q.Get("resource"), "Success", fmt.Sprintf("%d removed", n))
	a.ok(w, r, action, http.StatusOK, clearedBody{n})
}

func (a *api) removeFault(w http.ResponseWriter, r *http.Request) {
	const action = "RemoveFaultRule"
	if a.d.Faults == nil {
		a.fail(w, r, action, unavailable("fault injection"))
		return
	}
	id := r.PathValue("id")
	if err := a.d.Faults.Remove(r.Context(), id); err != nil {
		a.fail(w, r, action, err)
		return
	}
	a.audit(r.Context(), r, action, id, "Success", "")
	a.ok(w, r, action, http.StatusOK, clearedBody{1})
}

// Transition timing.

type transitionsBody struct {
	Interval   faults.Duration `json:"interval"`
	Adjustable bool            `json:"adjustable"`
	Pending    int             `json:"pending"`
}

func (a *api) interval(ctx context.Context) (time.Duration, error) {
	if a.d.Timing != nil {
		return a.d.Timing.Transition(ctx)
	}
	return a.d.Interval, nil
}

func (a *api) getTransitions(w http.ResponseWriter, r *http.Request) {
	n, err := a.d.Registry.Pending(r.Context())
	if err != nil {
		a.fail(w, r, "GetTransitions", err)
		return
	}
	d, err := a.interval(r.Context())
	if err != nil {
		a.fail(w, r, "GetTransitions", err)
		return
	}
	a.ok(w, r, "GetTransitions", http.StatusOK, transitionsBody{Interval: faults.Duration(d), Adjustable: a.d.Timing != nil, Pending: n})
}

type setTransitionsBody struct {
	Interval *faults.Duration `json:"interval"`
}

// maxInterval bounds the transition interval one can set.
const maxInterval = 10 * time.Minute

func (a *api) setTransitions(w http.ResponseWriter, r *http.Request) {
	const action = "SetTransitionInterval"
	if a.d.Timing == nil {
		a.fail(w, r, action, newError("NotAvailable", "", "this server's transition interval is fixed at start (--transition); settle pending transitions with POST /_latchkey/transitions/settle"))
		return
	}
	var body setTransitionsBody
	if err := decode(r, &body); err != nil {
		a.fail(w, r, action, err)
		return
	}
	if body.Interval == nil || *body.Interval < 0 || time.Duration(*body.Interval) > maxInterval {
		a.fail(w, r, action, newError("InvalidParameter", "interval", "interval must be a duration between 0s and 10m, e.g. \"300ms\""))
		return
	}
	if err := a.d.Timing.SetTransition(r.Context(), time.Duration(*body.Interval)); err != nil {
		a.fail(w, r, action, err)
		return
	}
	a.audit(r.Context(), r, action, "transitions", "Success", "interval "+body.Interval.String())
	a.ok(w, r, action, http.StatusOK, transitionsBody{Interval: *body.Interval, Adjustable: true})
}

type settledBody struct {
	Settled int `json:"settled"`
}

func (a *api) settle(w http.ResponseWriter, r *http.Request) {
	const action = "SettleTransitions"
	n, err := a.d.Registry.Settle(r.Context())
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	a.audit(r.Context(), r, action, "transitions", "Success", fmt.Sprintf("%d resources settled", n))
	a.ok(w, r, action, http.StatusOK, settledBody{n})
}

// Audit log.

// auditEvent is an audit event as the internal API shows it.
type auditEvent struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"request_id,omitempty"`
	AccountID   string    `json:"account_id,omitempty"`
	User        string    `json:"user,omitempty"`
	AccessKeyID string    `json:"access_key_id,omitempty"`
	SourceIP    string    `json:"source_ip,omitempty"`
	Product     string    `json:"product"`
	Action      string    `json:"action"`
	Resource    string    `json:"resource,omitempty"`
	Result      string    `json:"result"`
	Detail      string    `json:"detail,omitempty"`
}

type auditBody struct {
	Events []auditEvent `json:"events"`
}

// defaultAuditLimit and maxAuditLimit bound one answer of the audit log.
const (
	defaultAuditLimit = 1000
	maxAuditLimit     = 10000
)

// queryAudit answers GET /_latchkey/audit. Filters: resource, account
// ("root" for the root account), user, access_key_id, principal (an
// account id, an access key id or a user name, whichever it looks like),
// product, action, result, since and until (RFC 3339 times, or a duration
// meaning that long ago, like "15m"), limit (the newest events when the
// log holds more).
func (a *api) queryAudit(w http.ResponseWriter, r *http.Request) {
	const action = "QueryAudit"
	q := r.URL.Query()
	now := a.d.Clock.Now()
	f := core.AuditFilter{
		Resource:    q.Get("resource"),
		AccountID:   core.AccountID(q.Get("account")),
		User:        core.UserName(q.Get("user")),
		AccessKeyID: core.AccessKeyID(q.Get("access_key_id")),
	}
	if f.AccountID == "root" {
		f.AccountID = a.d.Root.AccountID
	}
	if p := q.Get("principal"); p != "" {
		switch {
		case len(p) == 16 && strings.Trim(p, "0123456789") == "":
			f.AccountID = core.AccountID(p)
		case strings.HasPrefix(p, "LTAI") || a.isAccessKey(r, p):
			f.AccessKeyID = core.AccessKeyID(p)
		default:
			f.User = core.UserName(p)
		}
	}
	var err error
	if f.Since, err = parseWhen(q.Get("since"), now); err != nil {
		a.fail(w, r, action, newError("InvalidParameter", "since", err.Error()))
		return
	}
	if f.Until, err = parseWhen(q.Get("until"), now); err != nil {
		a.fail(w, r, action, newError("InvalidParameter", "until", err.Error()))
		return
	}
	limit := defaultAuditLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxAuditLimit {
			a.fail(w, r, action, newError("InvalidParameter", "limit", fmt.Sprintf("limit must be between 1 and %d", maxAuditLimit)))
			return
		}
	}
	// Events are stored in batches: wait for those already recorded.
	if a.d.Audit != nil {
		if err := a.d.Audit.Flush(r.Context()); err != nil {
			a.fail(w, r, action, err)
			return
		}
	}
	var events []core.AuditEvent
	err = a.d.Store.View(r.Context(), func(tx core.Tx) (err error) {
		events, err = tx.QueryAudit(r.Context(), f)
		return err
	})
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	out := []auditEvent{}
	for _, ev := range events {
		if !matchField(q.Get("product"), ev.Product) || !matchField(q.Get("action"), ev.Action) || !matchField(q.Get("result"), ev.Result) {
			continue
		}
		out = append(out, auditEvent{
			Time: ev.Time.UTC(), RequestID: string(ev.RequestID), AccountID: string(ev.AccountID), User: string(ev.User),
			AccessKeyID: string(ev.AccessKeyID), SourceIP: addrString(ev.SourceIP), Product: ev.Product,
			Action: ev.Action, Resource: ev.Resource, Result: ev.Result, Detail: ev.Detail,
		})
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	a.ok(w, r, action, http.StatusOK, auditBody{out})
}

func matchField(want, got string) bool { return want == "" || strings.EqualFold(want, got) }

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// isAccessKey reports whether id names a stored access key.
func (a *api) isAccessKey(r *http.Request, id string) bool {
	found := false
	a.d.Store.View(r.Context(), func(tx core.Tx) error {
		_, err := tx.GetDoc(r.Context(), core.AccessKeyKind, id)
		found = err == nil
		return nil
	})
	return found
}

// parseWhen reads a time bound: RFC 3339, or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("want an RFC 3339 time (2025-01-02T15:04:05Z) or a duration ago (15m)")
}
