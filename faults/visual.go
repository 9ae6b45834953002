package faults

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/core"
)

// groupWindow bounds how long the login-node calls of one E-HPC operation
// may be spread: a call later than this after the operation's first one
// starts a new operation.
const groupWindow = 30 * time.Second

// groupKey names an E-HPC operation in progress on a cluster.
type groupKey struct {
	cluster core.ClusterID
	op      Operation
}

// group is the verdict of cluster-wide rules for one operation, shared by
// its login-node calls. An operation calls each login node once (in any
// order, possibly at once), so a node seen a second time, or a call after
// the window, begins the next operation.
type group struct {
	v     verdict
	seen  map[int]bool
	start time.Time
}

// VisualDriver is a core.VisualDriver whose calls pass the Injector's
// rules first.
type VisualDriver struct {
	in    *Injector
	inner core.VisualDriver
}

var _ core.VisualDriver = (*VisualDriver)(nil)

// VisualDriver wraps d: the E-HPC node boundary.
func (in *Injector) VisualDriver(d core.VisualDriver) *VisualDriver {
	return &VisualDriver{in: in, inner: d}
}

// Unwrap returns the wrapped driver.
func (d *VisualDriver) Unwrap() core.VisualDriver { return d.inner }

// SetVisualPassword implements core.VisualDriver.
func (d *VisualDriver) SetVisualPassword(ctx context.Context, node core.VisualNode, pw core.Secret) error {
	if err := d.in.applyNode(ctx, node, OpSetPassword); err != nil {
		return err
	}
	return d.inner.SetVisualPassword(ctx, node, pw)
}

// StartVisual implements core.VisualDriver.
func (d *VisualDriver) StartVisual(ctx context.Context, node core.VisualNode, pw core.Secret) error {
	if err := d.in.applyNode(ctx, node, OpStartVisual); err != nil {
		return err
	}
	return d.inner.StartVisual(ctx, node, pw)
}

// StopVisual implements core.VisualDriver.
func (d *VisualDriver) StopVisual(ctx context.Context, node core.VisualNode) error {
	if err := d.in.applyNode(ctx, node, OpStopVisual); err != nil {
		return err
	}
	return d.inner.StopVisual(ctx, node)
}

// applyNode decides and carries out the rules for one login-node call:
// rules on the cluster (or on every cluster) through the operation's
// shared verdict, rules on this node by themselves. A partial failure
// lets the first login node (Index 0) through and fails the others.
func (in *Injector) applyNode(ctx context.Context, node core.VisualNode, op Operation) error {
	if bypassed(ctx) {
		return nil
	}
	cluster, id := string(node.ClusterID), string(node.NodeID)
	shared, err := in.operationVerdict(ctx, node, op)
	if err != nil {
		in.cfg.Log.Warn("fault rules unavailable", "err", err)
		return nil
	}
	own, err := in.decide(ctx, func(r *Rule) bool {
		return r.Resource != "" && r.Resource == id && r.matches(ProductEHPC, op, id)
	})
	if err != nil {
		in.cfg.Log.Warn("fault rules unavailable", "err", err)
		return nil
	}
	v := verdict{delay: shared.delay + own.delay, fail: shared.fail}
	failHere := v.fail != nil && (v.fail.Effect != PartialFailure || node.Index != 0)
	if own.fail != nil && (!failHere || own.fail.Effect != PartialFailure) {
		// A rule on this very node wins over the cluster's verdict; a
		// partial failure on a single node is that node failing.
		v.fail, failHere = own.fail, true
	}
	return in.inject(ctx, v, ProductEHPC, cluster+"/"+id, op, failHere)
}

// operationVerdict returns the verdict of the cluster-wide rules for the
// operation this call belongs to, deciding it on the operation's first
// call.
func (in *Injector) operationVerdict(ctx context.Context, node core.VisualNode, op Operation) (verdict, error) {
	key := groupKey{node.ClusterID, op}
	now := in.cfg.Clock.Now()
	in.groupsMu.Lock()
	defer in.groupsMu.Unlock()
	for k, g := range in.groups {
		if now.Sub(g.start) > groupWindow {
			delete(in.groups, k)
		}
	}
	if g := in.groups[key]; g != nil && !g.seen[node.Index] {
		g.seen[node.Index] = true
		return g.v, nil
	}
	cluster := string(node.ClusterID)
	v, err := in.decide(ctx, func(r *Rule) bool {
		return (r.Resource == "" || r.Resource == cluster) && r.matches(ProductEHPC, op, cluster)
	})
	if err != nil {
		return verdict{}, err
	}
	in.groups[key] = &group{v: v, seen: map[int]bool{node.Index: true}, start: now}
	return v, nil
}
