package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
)

// Applied is what applying a fleet file did to one resource.
type Applied struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	ID      string   `json:"id,omitempty"`
	Account string   `json:"account"`
	Action  string   `json:"action"` // created, updated or unchanged
	Changes []string `json:"changes,omitempty"`
}

// ApplyResult is what applying a fleet file did.
type ApplyResult struct {
	Changed   bool      `json:"changed"`
	Resources []Applied `json:"resources"`
}

// ResourceError is a fleet file's resource that a product refused: What
// names it ("ecs demo-web-1 vnc_password") and Err is the product's
// (caller-safe) error.
type ResourceError struct {
	What string
	Err  error
}

func (e *ResourceError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *ResourceError) Unwrap() error { return e.Err }

// Apply is one fleet file being applied: the products' Apply methods
// make their changes through it.
type Apply struct {
	ctx       context.Context
	reg       *Registry
	requestID core.RequestID
	res       ApplyResult
	// original is the state of each account whose blocks were lifted for
	// the apply (see unblock), restored at its end.
	original map[core.AccountID]*AccountState
}

// ApplyFleet makes f true, account by account, resource by resource:
// what is missing is created and what differs is changed, through the
// products' own operations as each account's root (requestID names them
// in the audit log), so that every rule of the API holds: consoles take
// passwords before the store does, visual services start. It never
// deletes. Account "root" is the root account. On an error the result
// tells what was done before it.
func (r *Registry) ApplyFleet(ctx context.Context, root core.AccountID, requestID core.RequestID, f *fleet.Fleet) (ApplyResult, error) {
	ap := &Apply{ctx: ctx, reg: r, requestID: requestID, res: ApplyResult{Resources: []Applied{}}, original: map[core.AccountID]*AccountState{}}
	if _, err := r.Settle(ctx); err != nil {
		return ap.res, err
	}
	for i := range f.Accounts {
		if err := ap.account(root, &f.Accounts[i]); err != nil {
			return ap.res, err
		}
	}
	return ap.res, nil
}

// Context is the apply's context.
func (ap *Apply) Context() context.Context { return ap.ctx }

// Caller is the account's root, as the apply's changes are made.
func (ap *Apply) Caller(account core.AccountID) core.Caller {
	return core.Caller{Principal: core.Principal{AccountID: account}, RequestID: ap.requestID, Secure: true}
}

// Record adds what was done to one resource to the result.
func (ap *Apply) Record(x Applied) {
	if x.Action != "unchanged" {
		ap.res.Changed = true
	}
	ap.res.Resources = append(ap.res.Resources, x)
}

// Step changes one resource of the file through a product operation: it
// lifts the account's blocks first (see unblock), names the resource as
// what when the operation refuses, and settles the transitions the change
// started, so the next step sees the final status.
func (ap *Apply) Step(account core.AccountID, what string, do func() error) error {
	if err := ap.unblock(account); err != nil {
		return err
	}
	if err := do(); err != nil {
		return refused(what, err)
	}
	_, err := ap.reg.Settle(ap.ctx)
	return err
}

// refused wraps a product's refusal with the resource it concerns; an
// internal error stays as it is, for the log.
func refused(what string, err error) error {
	if core.KindOf(err) == core.KindInternal {
		return err
	}
	return &ResourceError{What: what, Err: err}
}

// immutable is the error of a resource that exists with another value of
// a field that cannot change.
func immutable(kind, name, field string) error {
	return &core.Error{Kind: core.KindConflict, Field: field,
		Message: fmt.Sprintf("%s %s exists with another %s, which cannot change; reset, or give it another name", kind, name, field)}
}

// vanished is the error of a resource the apply created and cannot find.
func vanished(what string, err error) error {
	return &core.Error{Kind: core.KindInternal, Op: "service.ApplyFleet", Message: "a created " + what + " vanished", Err: err}
}

// unblock lifts an account's disabled services and debt before the apply
// changes one of its resources (which the product would refuse),
// remembering the state to restore at the end of the account.
func (ap *Apply) unblock(id core.AccountID) error {
	if _, done := ap.original[id]; done {
		return nil
	}
	cur, err := ap.reg.accounts.Get(ap.ctx, id)
	if err != nil {
		return err
	}
	ap.original[id] = &cur
	ch := AccountChange{}
	for s, on := range cur.Services {
		if !on {
			if ch.Services == nil {
				ch.Services = map[core.Service]bool{}
			}
			ch.Services[s] = true
		}
	}
	if cur.InDebt {
		f := false
		ch.InDebt = &f
	}
	if ch.Services == nil && ch.InDebt == nil {
		return nil
	}
	_, err = ap.reg.accounts.Change(ap.ctx, id, ch)
	return err
}

func (ap *Apply) account(root core.AccountID, fa *fleet.Account) error {
	id := core.AccountID(fa.ID)
	if fa.ID == "root" {
		id = root
	}
	x := Applied{Kind: string(core.AccountKind), Name: fa.ID, ID: string(id), Account: string(id), Action: "unchanged"}
	created, err := ap.reg.accounts.Ensure(ap.ctx, id)
	if err != nil {
		return err
	}
	if created {
		x.Action = "created"
	}
	for _, k := range fa.AccessKeys {
		if err := ap.AccessKey(id, "", k); err != nil {
			return err
		}
	}
	for _, p := range ap.reg.products {
		if err := p.Apply(ap, id, fa); err != nil {
			return err
		}
	}
	// The account's state comes last: an account in debt or without a
	// service could not have had its resources made.
	changes, err := ap.accountState(id, fa)
	if err != nil {
		return err
	}
	if len(changes) > 0 && x.Action == "unchanged" {
		x.Action, x.Changes = "updated", changes
	}
	ap.Record(x)
	return nil
}

// accountState applies services and in_debt, and undoes what unblock
// lifted. It returns what changed compared to before the apply.
func (ap *Apply) accountState(id core.AccountID, fa *fleet.Account) ([]string, error) {
	accts := ap.reg.accounts
	cur, err := accts.Get(ap.ctx, id)
	if err != nil {
		return nil, err
	}
	want := ap.original[id]
	if want == nil {
		want = &cur
	}
	// The target: the state before the apply, changed as the file says.
	target := AccountState{Services: map[core.Service]bool{}, InDebt: want.InDebt}
	for s, on := range want.Services {
		target.Services[s] = on
	}
	for svc, on := range fa.Services {
		target.Services[core.Service(svc)] = on
	}
	if fa.InDebt != nil {
		target.InDebt = *fa.InDebt
	}
	ch := AccountChange{}
	var changes []string
	for s, on := range target.Services {
		if cur.Services[s] != on {
			if ch.Services == nil {
				ch.Services = map[core.Service]bool{}
			}
			ch.Services[s] = on
		}
		if want.Services[s] != on {
			changes = append(changes, "services."+string(s))
		}
	}
	if cur.InDebt != target.InDebt {
		ch.InDebt = &target.InDebt
	}
	if want.InDebt != target.InDebt {
		changes = append(changes, "in_debt")
	}
	if ch.Services != nil || ch.InDebt != nil {
		if _, err := accts.Change(ap.ctx, id, ch); err != nil {
			return nil, err
		}
	}
	slices.Sort(changes)
	return changes, nil
}

// AccessKey makes k a key of the account (user empty: its root) with the
// secret the file gives.
func (ap *Apply) AccessKey(account core.AccountID, user core.UserName, k fleet.Key) error {
	action, err := ap.reg.identity.ImportAccessKey(ap.ctx, account, user, core.AccessKeyID(k.ID), core.NewSecret(k.Secret))
	if err != nil {
		return err
	}
	x := Applied{Kind: string(core.AccessKeyKind), Name: k.ID, ID: k.ID, Account: string(account), Action: action}
	if action == "updated" {
		x.Changes = []string{"secret"}
	}
	ap.Record(x)
	return nil
}

// named selects the resources of that name (core.LabelName): a fleet
// file's resources are found by name through the index, so applying a
// file costs what the file holds, not what the store holds.
func named(name string) []core.LabelMatch {
	return []core.LabelMatch{{Name: core.LabelName, Values: []string{name}}}
}

// findNamed returns the first resource of kind T that q lists and is
// reports true for, advanced to now; nil when there is none.
func findNamed[T any, P interface {
	*T
	core.Resource
	Advance(time.Time) bool
}](ctx context.Context, st core.Store, q core.Query, is func(*T) bool) (*T, error) {
	var out *T
	err := st.View(ctx, func(tx core.Tx) error {
		list, err := core.List[T, P](ctx, tx, q)
		if err != nil {
			return err
		}
		for _, r := range list {
			if is(r) {
				P(r).Advance(tx.Now())
				out = r
				return nil
			}
		}
		return nil
	})
	return out, err
}

// finish settles an Applied's action from its changes: a created
// resource lists none, a changed one is updated.
func finish(x *Applied) {
	switch {
	case x.Action == "created":
		x.Changes = nil
	case len(x.Changes) > 0:
		x.Action = "updated"
	}
}

// noDriver is the error of a fleet resource naming a driver this server
// lacks.
func noDriver(at, kind, name string) error {
	return fleet.Invalid(at+".driver", "no "+kind+" driver "+quote(name))
}

// quote quotes a name from a request for an error message, cut short.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.ReplaceAll(s, `"`, `'`) + `"`
}
