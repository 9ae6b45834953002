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
}

// check runs the preamble for operation op of class cl.
func (g *gate) check(ctx context.Context, c core.Caller, op string, cl opClass, region core.RegionID, id string) error {
	if err := g.authorize(ctx, c, op, region, id); err != nil {
		return err
	}
	return g.cfg.Store.View(ctx, func(tx core.Tx) error { return g.admit(ctx, tx, c.AccountID, op, cl, region) })
}

// authorize is the preamble's first step, RAM authorization of op on
// the resource id in region. An operation that runs the rest in its own
// transaction (admit) calls it before that transaction.
func (g *gate) authorize(ctx context.Context, c core.Caller, op string, region core.RegionID, id string) error {
	return g.cfg.Authorizer.Authorize(ctx, c, string(g.service)+":"+op, g.resource(region, c.AccountID, id))
}

// admit is the rest of the preamble, read in tx: the account's state,
// then the region. An account the store does not know has the defaults:
// everything enabled, no debt. Services are checked before debt (seed
// 004 lists NotEnabled before InDebt).
func (g *gate) admit(ctx context.Context, tx core.Tx, id core.AccountID, op string, cl opClass, region core.RegionID) error {
	a, err := core.Get[core.Account](ctx, tx, string(id))
	if err != nil && core.KindOf(err) != core.KindNotFound {
		return err
	}
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
