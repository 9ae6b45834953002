package aliyun

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/latchkey/latchkey/core"
)

// memStore is a minimal in-memory core.Store for this package's tests:
// updates are serialized and copy-on-write, so a failed update leaves
// nothing behind.
type memStore struct {
	clock core.Clock

	mu    sync.RWMutex
	docs  map[docKey]core.Doc
	order []docKey
	audit []core.AuditEvent
}

type docKey struct {
	kind core.ResourceKind
	key  string
}

var _ core.Store = (*memStore)(nil)

func newMemStore(clock core.Clock) *memStore {
	return &memStore{clock: clock, docs: make(map[docKey]core.Doc)}
}

func (s *memStore) View(ctx context.Context, fn func(core.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&memTx{now: s.clock.Now(), docs: s.docs, order: s.order, audit: s.audit, readOnly: true})
}

func (s *memStore) Update(ctx context.Context, fn func(core.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{now: s.clock.Now(), docs: maps.Clone(s.docs), order: slices.Clone(s.order), audit: slices.Clone(s.audit)}
	if err := fn(tx); err != nil {
		return err
	}
	s.docs, s.order, s.audit = tx.docs, tx.order, tx.audit
	return nil
}

func (s *memStore) Close() error { return nil }

type memTx struct {
	now      time.Time
	docs     map[docKey]core.Doc
	order    []docKey
	audit    []core.AuditEvent
	readOnly bool
}

func (t *memTx) Now() time.Time { return t.now }

func (t *memTx) GetDoc(_ context.Context, kind core.ResourceKind, key string) (core.Doc, error) {
	d, ok := t.docs[docKey{kind, key}]
	if !ok {
		return core.Doc{}, &core.Error{Kind: core.KindNotFound, Op: "memstore.Get"}
	}
	return d, nil
}

func (t *memTx) PutDoc(_ context.Context, d core.Doc) error {
	if t.readOnly {
		return &core.Error{Kind: core.KindInternal, Message: "write in a read-only transaction"}
	}
	k := docKey{d.Kind, d.Key}
	if _, ok := t.docs[k]; !ok {
		t.order = append(t.order, k)
	}
	d.Body = slices.Clone(d.Body)
	t.docs[k] = d
	return nil
}

func (t *memTx) DeleteDoc(_ context.Context, kind core.ResourceKind, key string) error {
	if t.readOnly {
		return &core.Error{Kind: core.KindInternal, Message: "write in a read-only transaction"}
	}
	k := docKey{kind, key}
	if _, ok := t.docs[k]; ok {
		delete(t.docs, k)
		t.order = slices.DeleteFunc(t.order, func(o docKey) bool { return o == k })
	}
	return nil
}

func (t *memTx) ListDocs(_ context.Context, q core.Query) ([]core.Doc, error) {
	var out []core.Doc
	skipping := q.After != ""
	for _, k := range t.order {
		d := t.docs[k]
		if q.Kind != "" && d.Kind != q.Kind || q.Account != "" && d.Account != q.Account || q.Region != "" && d.Region != q.Region {
			continue
		}
		if skipping {
			skipping = d.Key != q.After
			continue
		}
		out = append(out, d)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (t *memTx) AppendAudit(_ context.Context, ev core.AuditEvent) error {
	t.audit = append(t.audit, ev)
	return nil
}

func (t *memTx) QueryAudit(_ context.Context, f core.AuditFilter) ([]core.AuditEvent, error) {
	var out []core.AuditEvent
	for _, ev := range t.audit {
		if f.Resource != "" && ev.Resource != f.Resource || f.AccountID != "" && ev.AccountID != f.AccountID {
			continue
		}
		out = append(out, ev)
	}
	return out, nil
}
