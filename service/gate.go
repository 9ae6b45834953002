package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// opClass sorts a product's operations for account state: an account in
// debt may still read what it has (DescribeInstances answers as usual for
// an ECS account in arrears), but not create or change.
type opClass uint8

const (
	opRead opClass = iota
	opCreate
	opChange
)

// gate is the preamble every operation of a product runs, in order: RAM
// authorization of the action on the resource (a caller denied learns
// nothing about the account), the account's state (the service enabled,
// no debt), then the region. The caller was authenticated by the front
// end. Each product configures one gate; its errors are the product's.
type gate struct {
	cfg     *Config
	service core.Service
	// resource is the RAM resource an operation on id ("*" for none) in
	// region is authorized on.
	resource func(region core.RegionID, account core.AccountID, id string) string
	// region checks the region of a call; nil leaves it to the
	// operation.
	region func(op string, region core.RegionID) error
	// disabled is the error of any operation of an account without the
	// service; inDebt that of an operation of class cl of an account in
	// debt, nil where debt does not stop it.
	disabled func(op string) error
	inDebt   func(op string, cl opClass) error
	// accounts keeps the accounts' states the gate read in Views (nil
	// for an account the store does not know); never changed once kept.
	accounts *kindCache[core.AccountID, *core.Account]
}

// accountCache returns a gate's accounts over st.
func accountCache(st core.Store) *kindCache[core.AccountID, *core.Account] {
	return newKindCache[core.AccountID, *core.Account](st, core.AccountKind)
}

// check runs the preamble for operation op of class cl.
func (g *gate) check(ctx context.Context, c core.Caller, op string, cl opClass, region core.RegionID, id string) error {
	if err := g.authorize(ctx, c, op, region, id); err != nil {
		return err
	}
	a, err := g.viewAccount(ctx, c.AccountID)
	if err != nil {
		return err
	}
	return g.judge(a, op, cl, region)
}

// viewAccount returns the account's state, kept or read in a View (and
// then kept). An account the store does not know is nil.
func (g *gate) viewAccount(ctx context.Context, id core.AccountID) (*core.Account, error) {
	return g.accounts.load(ctx, id, func(tx core.Tx) (*core.Account, error) { return readAccount(ctx, tx, id) })
}

// warm keeps the account's state for the admit of an Update to come, so
// that the Update need not read it; only where the gate keeps states. A
// failure leaves it to admit.
func (g *gate) warm(ctx context.Context, id core.AccountID) {
	if g.accounts.keeps() {
		_, _ = g.viewAccount(ctx, id) // on a failure, admit reads it
	}
}

// prefetch announces admit's read of the account's state in tx
// (core.Prefetch): call it first in the Update, so that on a store whose
// reads are round trips the read goes with the Update's first statement.
// A store that keeps the states (KindVersions) reads in process, where a
// prefetch saves nothing, so admit's own lookup is the only one.
func (g *gate) prefetch(ctx context.Context, tx core.Tx, id core.AccountID) {
	if !g.accounts.keeps() {
		core.Prefetch[core.Account](ctx, tx, string(id))
	}
}

func readAccount(ctx context.Context, tx core.Tx, id core.AccountID) (*core.Account, error) {
	a, err := core.Get[core.Account](ctx, tx, string(id))
	if core.KindOf(err) == core.KindNotFound {
		return nil, nil
	}
	return a, err
}

// authorize is the preamble's first step, RAM authorization of op on
// the resource id in region. An operation that runs the rest in its own
// transaction (admit) calls it before that transaction.
func (g *gate) authorize(ctx context.Context, c core.Caller, op string, region core.RegionID, id string) error {
	return g.cfg.Authorizer.Authorize(ctx, c, string(g.service)+":"+op, g.resource(region, c.AccountID, id))
}

// admit is the rest of the preamble inside an Update's tx: the account's
// state (kept, when no account was written since it was kept, else read
// in tx), then the region.
func (g *gate) admit(ctx context.Context, tx core.Tx, id core.AccountID, op string, cl opClass, region core.RegionID) error {
	a, ok := g.accounts.get(id)
	if !ok {
		var err error
		if a, err = readAccount(ctx, tx, id); err != nil {
			return err
		}
	}
	return g.judge(a, op, cl, region)
}

// judge checks the account's state a, then the region. An account the
// store does not know (nil) has the defaults: everything enabled, no
// debt. Services are checked before debt (seed 004 lists NotEnabled
// before InDebt).
func (g *gate) judge(a *core.Account, op string, cl opClass, region core.RegionID) error {
	if a != nil {
		if !a.Enabled(g.service) {
			return g.disabled(op)
		}
		if a.InDebt && g.inDebt != nil {
			if err := g.inDebt(op, cl); err != nil {
				return err
			}
		}
	}
	if g.region != nil {
		return g.region(op, region)
	}
	return nil
}

// notEnabled is the core error of an account without the service.
func notEnabled(op string) error {
	return &core.Error{Kind: core.KindForbidden, Reason: core.ReasonServiceNotEnabled, Op: op}
}

// inDebtError is the core error of an account in debt.
func inDebtError(op string) error {
	return &core.Error{Kind: core.KindForbidden, Reason: core.ReasonInDebt, Op: op}
}
