package internalapi

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// Resources change status lazily: each holds its scheduled steps, applied
// when read (core.Instance.Advance and its kin). Settling makes every
// scheduled step due now and applies it, which is what waiting for the
// transition interval would have done; a resource being released is gone.

// pendingTransitions counts the resources with a scheduled step or a
// release still to come.
func (a *api) pendingTransitions(ctx context.Context) (int, error) {
	n := 0
	err := a.d.Store.View(ctx, func(tx core.Tx) error {
		now := tx.Now()
		insts, err := core.List[core.Instance](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, i := range insts {
			i.Advance(now)
			if len(i.Steps) > 0 || i.Releasing(now) {
				n++
			}
		}
		bccs, err := core.List[core.BCCInstance](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, i := range bccs {
			i.Advance(now)
			if len(i.Steps) > 0 {
				n++
			}
		}
		clusters, err := core.List[core.Cluster](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, c := range clusters {
			c.Advance(now)
			if len(c.Steps) > 0 || (!c.ReleaseAt.IsZero() && !c.Released(now)) {
				n++
			}
		}
		return nil
	})
	return n, err
}

// settleAll completes every pending transition and release, and returns
// how many resources it changed.
func (a *api) settleAll(ctx context.Context) (int, error) {
	n := 0
	err := a.d.Store.Update(ctx, func(tx core.Tx) error {
		n = 0
		now := tx.Now()
		insts, err := core.List[core.Instance](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, i := range insts {
			if len(i.Steps) == 0 && (i.ReleaseAt.IsZero() || i.Released(now)) {
				continue
			}
			if !i.ReleaseAt.IsZero() {
				if err := core.Delete(ctx, tx, i); err != nil {
					return err
				}
				n++
				continue
			}
			for s := range i.Steps {
				i.Steps[s].At = now
			}
			i.Advance(now)
			if err := core.Put(ctx, tx, i); err != nil {
				return err
			}
			n++
		}
		bccs, err := core.List[core.BCCInstance](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, i := range bccs {
			if len(i.Steps) == 0 {
				continue
			}
			for s := range i.Steps {
				i.Steps[s].At = now
			}
			i.Advance(now)
			if err := core.Put(ctx, tx, i); err != nil {
				return err
			}
			n++
		}
		clusters, err := core.List[core.Cluster](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, c := range clusters {
			if len(c.Steps) == 0 && (c.ReleaseAt.IsZero() || c.Released(now)) {
				continue
			}
			if !c.ReleaseAt.IsZero() {
				c.ReleaseAt = now
			}
			for s := range c.Steps {
				c.Steps[s].At = now
			}
			c.Advance(now)
			if err := core.Put(ctx, tx, c); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
