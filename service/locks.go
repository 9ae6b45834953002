package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// lockResource takes the store's lock of one resource (core.Locker) and
// returns its release. ECS and BCC hold it around each change of an
// instance: the console push (or guest change) and the Update that
// records it, so that changes to one instance through any replicas reach
// console and store in the same order, while changes to other instances
// do not wait. The lock holds no transaction open: a slow console holds
// up only the changes of its own instance. It fails with KindUnavailable
// when the store cannot be reached or ctx ends first.
func lockResource(ctx context.Context, st core.Store, kind core.ResourceKind, id string) (unlock func(), err error) {
	return st.Lock(ctx, string(kind)+"/"+id)
}

// followMachine is the part of ECS's and BCC's FollowMachine that they
// share: under the resource's store lock it asks machineRunning (only
// then, so that a state seen before one of latchkey's own calls cannot
// undo it) and lets follow bring the resource in line in one Update. A
// resource that is gone is left alone; other failures are logged, since
// no caller waits.
func followMachine(ctx context.Context, cfg Config, kind core.ResourceKind, id string, machineRunning func() (bool, error), follow func(tx core.Tx, running bool) error) {
	unlock, err := lockResource(ctx, cfg.Store, kind, id)
	if err != nil {
		return
	}
	defer unlock()
	running, err := machineRunning()
	if err != nil {
		return
	}
	err = cfg.Store.Update(ctx, func(tx core.Tx) error { return follow(tx, running) })
	if err != nil && core.KindOf(err) != core.KindNotFound {
		cfg.Log.Warn("instance could not follow its machine", "instance", id, "err", err)
	}
}
