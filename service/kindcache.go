package service

import (
	"context"
	"sync"

	"github.com/latchkey/latchkey/core"
)

// kindCache keeps values derived from documents of one kind, on a store
// that is the only writer of its data (core.KindVersions); on any other
// store it keeps nothing and every get misses. A value is put with the
// kind's version taken (version) before the View that read it began,
// and a get returns it only while the version is the same, inside an
// Update too: so a change is seen by every get that starts after it is
// answered, and by the fns after it in its Update's batch. Values are
// put from Views only, never from an Update's reads (they may not
// commit).
type kindCache[K comparable, V any] struct {
	store    core.Store
	versions core.KindVersions
	kind     core.ResourceKind

	mu sync.Mutex
	m  map[K]versioned[V]
}

type versioned[V any] struct {
	version uint64
	v       V
}

// maxCached bounds a kindCache: past it, the cache starts over.
const maxCached = 4096

func newKindCache[K comparable, V any](st core.Store, kind core.ResourceKind) *kindCache[K, V] {
	vs, _ := st.(core.KindVersions)
	return &kindCache[K, V]{store: st, versions: vs, kind: kind}
}

// keeps reports whether the cache keeps anything (its store has
// core.KindVersions).
func (c *kindCache[K, V]) keeps() bool { return c.versions != nil }

// load returns the value kept for k, else the one read returns in a
// View of the store, which it keeps when read succeeds.
func (c *kindCache[K, V]) load(ctx context.Context, k K, read func(core.Tx) (V, error)) (V, error) {
	if v, ok := c.get(k); ok {
		return v, nil
	}
	version := c.version() // before the View
	var v V
	err := c.store.View(ctx, func(tx core.Tx) (err error) {
		v, err = read(tx)
		return err
	})
	if err == nil {
		c.put(k, version, v)
	}
	return v, err
}

// version returns the kind's version, to take before a View whose result
// is put.
func (c *kindCache[K, V]) version() uint64 {
	if c.versions == nil {
		return 0
	}
	return c.versions.KindVersion(c.kind)
}

// get returns the value kept for k while no document of the kind was
// written since it was read.
func (c *kindCache[K, V]) get(k K) (V, bool) {
	if c.versions == nil {
		var zero V
		return zero, false
	}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	return e.v, ok && e.version == c.version()
}

// put keeps v for k, read in a View that began after version was taken.
func (c *kindCache[K, V]) put(k K, version uint64, v V) {
	if c.versions == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[K]versioned[V])
	}
	c.m[k] = versioned[V]{version: version, v: v}
}
