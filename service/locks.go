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
