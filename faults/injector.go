package faults

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Random is a source of uniform numbers in [0, 1). *rand.Rand of
// math/rand/v2 is one; the Injector serializes its calls.
type Random interface{ Float64() float64 }

// Observer learns of every fault the Injector injects (metrics count them).
type Observer interface {
	FaultInjected(product, effect string)
}

// Config is what an Injector needs. Store is required.
type Config struct {
	Store core.Store
	// Clock stamps new rules and bounds E-HPC operation grouping; nil
	// means the wall clock.
	Clock core.Clock
	// Rand decides probabilistic rules; nil means a generator seeded from
	// crypto/rand.
	Rand Random
	// IDs is the entropy of rule ids; nil means crypto/rand.
	IDs io.Reader
	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Observer, if set, is told of each injected fault.
	Observer Observer
	// Log receives one record per injected fault (rule id, product,
	// resource, operation, effect; never a password); nil discards.
	Log *slog.Logger
}

// Injector holds the fault rules and wraps drivers so that the rules take
// effect. It is safe for concurrent use.
type Injector struct {
	cfg Config

	randMu sync.Mutex

	// With a store that is the only writer of its data
	// (core.KindVersions), quietAt remembers "the store holds no rule at
	// all", the common case, so that drivers do not read the store at
	// every call: it is 1 + the rules' version taken before a read that
	// found none, and 0 when there is no such read. Any write of a rule
	// moves the version on, so the memory ends with it. With a shared
	// store (replicas on PostgreSQL) the rules are read at every call, so
	// that a rule added through any replica applies everywhere once it is
	// acknowledged.
	versions core.KindVersions
	quietAt  atomic.Uint64

	// groupsMu guards groups: the decisions taken for E-HPC operations
	// in progress, so that every login node of one operation gets the
	// same verdict (see visual.go).
	groupsMu sync.Mutex
	groups   map[groupKey]*group
}

// New returns an Injector over cfg.Store.
func New(cfg Config) *Injector {
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	if cfg.Rand == nil {
		var seed [16]byte
		crand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24+)
		cfg.Rand = rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	}
	if cfg.IDs == nil {
		cfg.IDs = crand.Reader
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	in := &Injector{cfg: cfg, groups: make(map[groupKey]*group)}
	in.versions, _ = cfg.Store.(core.KindVersions)
	return in
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Add validates r, gives it an id, and stores it. The caller's ID,
// Remaining, Hits and CreatedAt are ignored.
func (in *Injector) Add(ctx context.Context, r Rule) (*Rule, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 6)
	if _, err := io.ReadFull(in.cfg.IDs, b); err != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: "faults.Add", Err: err}
	}
	r.ID = "fault-" + hex.EncodeToString(b)
	r.Remaining, r.Hits = r.Count, 0
	r.Operations = append([]Operation(nil), r.Operations...)
	err := in.cfg.Store.Update(ctx, func(tx core.Tx) error {
		r.CreatedAt = tx.Now()
		return core.Put(ctx, tx, &r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// List returns the active rules, oldest first.
func (in *Injector) List(ctx context.Context) ([]*Rule, error) {
	var out []*Rule
	err := in.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		out, err = core.List[Rule](ctx, tx, core.Query{})
		return err
	})
	return out, err
}

// Remove deletes one rule; an unknown id gives KindNotFound.
func (in *Injector) Remove(ctx context.Context, id string) error {
	return in.cfg.Store.Update(ctx, func(tx core.Tx) error {
		r, err := core.Get[Rule](ctx, tx, id)
		if err != nil {
			return &core.Error{Kind: core.KindNotFound, Message: "no fault rule " + id}
		}
		return core.Delete(ctx, tx, r)
	})
}

// Clear deletes the rules of product (every product when empty) on
// resource (any resource when empty) and returns how many it deleted.
func (in *Injector) Clear(ctx context.Context, product, resource string) (int, error) {
	n := 0
	err := in.cfg.Store.Update(ctx, func(tx core.Tx) error {
		n = 0
		all, err := core.List[Rule](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, r := range all {
			if (product == "" || r.Product == product) && (resource == "" || r.Resource == resource) {
				if err := core.Delete(ctx, tx, r); err != nil {
					return err
				}
				n++
			}
		}
		return nil
	})
	return n, err
}

// verdict is the outcome of the rules for one call (or, for E-HPC, one
// operation): a delay, then at most one failure.
type verdict struct {
	delay time.Duration
	fail  *Rule // nil: the call goes through
}

// quiet reports whether there is no fault rule at all: as decide last
// found, with no rule written since (quietAt), or, without KindVersions,
// as prepare found for the call ctx belongs to. It reads nothing (a
// caller may hold the store's writer).
func (in *Injector) quiet(ctx context.Context) bool {
	if in.versions != nil {
		return in.quietAt.Load() == in.versions.KindVersion(RuleKind)+1
	}
	q, _ := ctx.Value(quietKey{in}).(bool)
	return q
}

// quietKey is the context key under which prepare records whether the
// store held no rule at all.
type quietKey struct{ in *Injector }

// prepare reads, without KindVersions, whether the store holds any rule,
// and returns ctx with the answer, for quiet. A call that starts after a
// rule was acknowledged sees it; one that runs while a rule is added may
// go either way, as if it had come just before. With KindVersions, or
// when ctx has the answer already, it reads nothing; an error leaves ctx
// as it was (so the rules are read again where they apply).
func (in *Injector) prepare(ctx context.Context) context.Context {
	if in.versions != nil || ctx.Value(quietKey{in}) != nil {
		return ctx
	}
	var none bool
	err := in.cfg.Store.View(ctx, func(tx core.Tx) error {
		all, err := core.List[Rule](ctx, tx, core.Query{Limit: 1})
		none = len(all) == 0
		return err
	})
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, quietKey{in}, none)
}

// decide applies the rules selected by match to one call: latency rules
// that fire add their delay, and the first failure rule that fires (in
// creation order) becomes the verdict's failure. Every rule that fires is
// charged: its Hits grow and a Count rule's Remaining shrinks, and a spent
// rule is deleted. The common case, no rule at all, costs one read.
func (in *Injector) decide(ctx context.Context, match func(*Rule) bool) (verdict, error) {
	if in.quiet(ctx) {
		return verdict{}, nil
	}
	var version uint64 // before the View: see core.KindVersions
	if in.versions != nil {
		version = in.versions.KindVersion(RuleKind)
	}
	var any bool
	err := in.cfg.Store.View(ctx, func(tx core.Tx) error {
		all, err := core.List[Rule](ctx, tx, core.Query{})
		if err == nil && len(all) == 0 && in.versions != nil {
			in.quietAt.Store(version + 1)
		}
		for _, r := range all {
			if match(r) {
				any = true
				break
			}
		}
		return err
	})
	if err != nil || !any {
		return verdict{}, err
	}
	var v verdict
	err = in.cfg.Store.Update(ctx, func(tx core.Tx) error {
		v = verdict{}
		all, err := core.List[Rule](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, r := range all {
			if !match(r) || (r.Effect != Latency && v.fail != nil) || !in.fires(r) {
				continue
			}
			v.delay += time.Duration(r.Latency)
			if r.Effect != Latency {
				v.fail = r
			}
			r.Hits++
			if r.Count > 0 {
				r.Remaining--
			}
			if r.Count > 0 && r.Remaining <= 0 {
				err = core.Delete(ctx, tx, r)
			} else {
				err = core.Put(ctx, tx, r)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return v, err
}

// fires rolls the rule's dice.
func (in *Injector) fires(r *Rule) bool {
	if r.Count > 0 && r.Remaining <= 0 {
		return false
	}
	if r.Probability == 0 || r.Probability >= 1 {
		return true
	}
	in.randMu.Lock()
	x := in.cfg.Rand.Float64()
	in.randMu.Unlock()
	return x < r.Probability
}

// failure is the core error a failure rule makes a call of op on product
// return.
func failure(r *Rule, product string, op Operation) error {
	cause := fmt.Errorf("injected by fault rule %s", r.ID)
	switch r.Effect {
	case Unreachable:
		if product == ProductEHPC {
			return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Message: "the node's agent did not answer", Err: cause}
		}
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Message: "the console cannot be reached", Err: cause}
	case AgentTimeout, PartialFailure:
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Message: "the agent did not answer in time", Err: cause}
	case ExecFailure:
		cmd := r.Command
		if cmd == "" {
			cmd = defaultCommand(op)
		}
		return &core.Error{Kind: core.KindConflict, Reason: core.ReasonExecFailed, Message: cmd, Err: cause}
	case UpstreamFailure:
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonUpstreamFailed, Message: "a cloud service under the backend failed", Err: cause}
	case ServiceUnavailable:
		return &core.Error{Kind: core.KindUnavailable, Message: "the node service is temporarily unavailable", Err: cause}
	case InternalFailure:
		return &core.Error{Kind: core.KindInternal, Message: "the node boundary failed unexpectedly", Err: cause}
	}
	return nil
}

// inject carries out a verdict for one call: it waits the delay, then
// returns the failure's error (nil when the call may proceed). failHere
// false lets the call through despite a failure (the first node of a
// partial failure).
func (in *Injector) inject(ctx context.Context, v verdict, product, resource string, op Operation, failHere bool) error {
	if v.delay > 0 {
		if err := in.cfg.Sleep(ctx, v.delay); err != nil {
			return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Message: "the call was cancelled during injected latency", Err: err}
		}
		in.observe(product, Latency, resource, op, "")
	}
	if v.fail == nil || !failHere {
		return nil
	}
	in.observe(product, v.fail.Effect, resource, op, v.fail.ID)
	return failure(v.fail, product, op)
}

func (in *Injector) observe(product string, e Effect, resource string, op Operation, rule string) {
	if in.cfg.Observer != nil {
		in.cfg.Observer.FaultInjected(product, string(e))
	}
	in.cfg.Log.Info("fault injected", "rule", rule, "product", product, "resource", resource, "operation", op, "effect", e)
}

// bypassKey marks a context whose driver calls no rule may hit.
type bypassKey struct{}

// Bypass returns ctx marked so that driver calls made with it pass every
// rule untouched. The server uses it to put the stored passwords back on
// consoles and visual services at start (reconcile): a rule is meant to
// stop the operations a client asks for, not to leave a console without
// its password after a restart.
func Bypass(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassKey{}, true)
}

func bypassed(ctx context.Context) bool {
	b, _ := ctx.Value(bypassKey{}).(bool)
	return b
}

// apply decides and carries out the rules for one call on a console or
// guest.
func (in *Injector) apply(ctx context.Context, product string, op Operation, id string) error {
	if bypassed(ctx) {
		return nil
	}
	v, err := in.decide(ctx, func(r *Rule) bool { return r.matches(product, op, id) })
	if err != nil {
		// The rules could not be read: the call goes through, as it would
		// without fault injection, and the log says why.
		in.cfg.Log.Warn("fault rules unavailable", "err", err)
		return nil
	}
	return in.inject(ctx, v, product, id, op, true)
}
