package sqlite

import (
	"bytes"

	"github.com/latchkey/latchkey/core"
)

// docCache answers an Update's GetDoc without a query when it can: it
// holds documents as committed, as the open batch's fns that succeeded
// read or wrote them, and as the current fn did. A fn's entries follow
// its fate: kept in the batch when it succeeds, dropped when it fails,
// committed with the batch.
// Exact because the Store owns its database (own) and every write of a
// document goes through PutDoc or DeleteDoc: no other writer can change
// one behind it. Views do not use it: a View reads its own snapshot,
// which may be older than what the writer knows. Touched only by the
// writer (groupcommit).
type docCache struct {
	committed map[docKey]cachedDoc
	batch, fn map[docKey]*cachedDoc // nil: deleted; unknownDoc: ask the database
}

// unknownDoc marks a document a failed write may have changed: the
// database alone knows what the fn now sees.
var unknownDoc = &cachedDoc{}

type docKey struct {
	kind core.ResourceKind
	key  string
}

// cachedDoc is what GetDoc returns of a document.
type cachedDoc struct {
	account core.AccountID
	region  core.RegionID
	body    []byte
}

// maxCachedDocs bounds the committed documents kept; past it, arbitrary
// ones are forgotten.
const maxCachedDocs = 4096

func newDocCache() docCache {
	return docCache{committed: map[docKey]cachedDoc{}, batch: map[docKey]*cachedDoc{}, fn: map[docKey]*cachedDoc{}}
}

// get returns the document as the current fn sees it; known is false
// when the cache cannot tell. The body is the caller's to keep.
func (c *docCache) get(kind core.ResourceKind, key string) (d core.Doc, found, known bool) {
	k := docKey{kind, key}
	p, ok := c.fn[k]
	if !ok {
		p, ok = c.batch[k]
	}
	if !ok {
		cd, hit := c.committed[k]
		if !hit {
			return core.Doc{}, false, false
		}
		p = &cd
	}
	if p == unknownDoc {
		return core.Doc{}, false, false
	}
	if p == nil {
		return core.Doc{}, false, true
	}
	return core.Doc{Kind: kind, Key: key, Account: p.account, Region: p.region, Body: bytes.Clone(p.body)}, true, true
}

// put records a document as the current fn read or wrote it, del its
// deletion, forget a write that failed.
func (c *docCache) put(d core.Doc) {
	c.fn[docKey{d.Kind, d.Key}] = &cachedDoc{d.Account, d.Region, bytes.Clone(d.Body)}
}

func (c *docCache) del(kind core.ResourceKind, key string) { c.fn[docKey{kind, key}] = nil }

func (c *docCache) forget(kind core.ResourceKind, key string) { c.fn[docKey{kind, key}] = unknownDoc }

// release keeps the fn's writes in the batch; rollbackTo drops them.
func (c *docCache) release() {
	for k, p := range c.fn {
		c.batch[k] = p
	}
	clear(c.fn)
}

func (c *docCache) rollbackTo() { clear(c.fn) }

// commit makes the batch's writes the committed documents; rollback
// drops them.
func (c *docCache) commit() {
	for k, p := range c.batch {
		if p == nil || p == unknownDoc {
			delete(c.committed, k)
		} else {
			c.remember(k, *p)
		}
	}
	c.rollback()
}

func (c *docCache) rollback() {
	clear(c.batch)
	clear(c.fn)
}

func (c *docCache) remember(k docKey, d cachedDoc) {
	if _, ok := c.committed[k]; !ok && len(c.committed) >= maxCachedDocs {
		for old := range c.committed {
			delete(c.committed, old)
			break
		}
	}
	c.committed[k] = d
}
