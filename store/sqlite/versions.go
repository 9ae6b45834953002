package sqlite

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/latchkey/latchkey/core"
)

// kindVersions counts, per kind, the writes of its documents and the
// ends of the Updates that wrote them. Exact because the Store owns its
// database (own): no other writer can change a document behind it.
type kindVersions struct {
	m sync.Map // core.ResourceKind → *atomic.Uint64
}

func (v *kindVersions) counter(kind core.ResourceKind) *atomic.Uint64 {
	if c, ok := v.m.Load(kind); ok {
		return c.(*atomic.Uint64)
	}
	c, _ := v.m.LoadOrStore(kind, new(atomic.Uint64))
	return c.(*atomic.Uint64)
}

// bump moves the versions of kinds on. Update calls it once its batch's
// transaction has ended, committed or not, and before it returns.
func (v *kindVersions) bump(kinds []core.ResourceKind) {
	for _, k := range kinds {
		v.counter(k).Add(1)
	}
}

// KindVersion implements core.KindVersions.
func (s *Store) KindVersion(kind core.ResourceKind) uint64 {
	return s.versions.counter(kind).Load()
}

// wrote notes that the Update writes a document of kind, and moves the
// kind's version on for the Updates after it in the batch.
func (t *tx) wrote(kind core.ResourceKind) {
	t.s.versions.counter(kind).Add(1)
	if !slices.Contains(t.written, kind) {
		t.written = append(t.written, kind)
	}
}
