package core

import (
	"context"
	"encoding/json"
	"time"
)

// ResourceKind names a kind of stored resource ("ecs.instance", …). It is
// the first half of a resource's key in the store.
type ResourceKind string

// Resource is a stored domain value. Each kind is one Go type whose zero
// value's Kind is constant; the store keeps resources as JSON documents
// keyed by (Kind, Key) and indexed by account and region, so adding a kind
// needs no schema change. Business rules never live in the store.
type Resource interface {
	Kind() ResourceKind
	Key() string        // unique within the kind
	Owner() AccountID   // empty for resources outside any account
	Location() RegionID // empty for global resources
}

// Doc is a resource as the store holds it.
type Doc struct {
	Kind    ResourceKind
	Key     string
	Account AccountID
	Region  RegionID
	Body    []byte // JSON
}

// Query selects documents. Empty fields match everything (an empty Kind
// selects every kind, and then After is refused). Results come in
// insertion order; After continues a listing after the document with that
// key, which must still exist (otherwise KindInvalid); Limit 0 means no
// limit, a negative Limit is KindInvalid.
type Query struct {
	Kind    ResourceKind
	Account AccountID
	Region  RegionID
	After   string
	Limit   int
}

// Store is latchkey's persistent state. An Update that returns nil is
// durable: after a crash and restart its changes are present.
//
// Errors: KindInvalid for an empty kind or key and bad query bounds;
// KindUnavailable after Close, on a locked database or a done context;
// KindNotFound from GetDoc. fn must not call Update or View on the same
// store (it would deadlock). Times come back in UTC; an audit event with a
// zero Time is stamped with the transaction's Now.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it when fn
	// returns nil. Updates are serialized.
	Update(ctx context.Context, fn func(Tx) error) error
	Locker
	Close() error
}

// Locker orders work that is not a transaction (a console push, a
// visual service's listeners) across every process that shares the
// store. Its locks hold no transaction open: work done under one may be
// slow without holding up anyone else's Updates.
type Locker interface {
	// Lock waits until the caller holds the lock called name, and
	// returns the function that releases it (call it once). At most one
	// holder in all the processes sharing the store holds a name at a
	// time; holders of different names do not wait for each other. A
	// process that dies, or loses its connection to the store, loses its
	// locks. KindUnavailable when ctx ends first, after Close, or when
	// the store cannot be reached.
	Lock(ctx context.Context, name string) (unlock func(), err error)
	// TryLease takes the lease called name when no live process holds
	// it, and returns nil (and no error) when another one does, or when
	// another holder in this process does. The lease is held until
	// Release or Close, or until the process loses its connection to the
	// store: then Lost is closed, and another process may take it.
	TryLease(ctx context.Context, name string) (Lease, error)
}

// Lease is a lease of Locker.TryLease.
type Lease interface {
	// Lost is closed when the lease is no longer held (Release, Close,
	// or the process's connection to the store ended).
	Lost() <-chan struct{}
	// Release gives the lease up; later calls do nothing.
	Release()
}

// Tx is one transaction. It carries the time at which it began, so every
// rule inside it sees one "now".
type Tx interface {
	Now() time.Time

	// GetDoc returns the document or an *Error of KindNotFound.
	GetDoc(ctx context.Context, kind ResourceKind, key string) (Doc, error)
	// PutDoc inserts or replaces the document (insertion order is kept on
	// replace).
	PutDoc(ctx context.Context, d Doc) error
	// DeleteDoc removes the document; deleting a missing one is not an error.
	DeleteDoc(ctx context.Context, kind ResourceKind, key string) error
	// ListDocs returns the documents the query selects.
	ListDocs(ctx context.Context, q Query) ([]Doc, error)

	// AppendAudit records an audit event.
	AppendAudit(ctx context.Context, ev AuditEvent) error
	// QueryAudit returns the events the filter selects, oldest first.
	QueryAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)

	// RecordNonce records a signature nonce of key until expires and
	// reports true, or reports false when the nonce is recorded with an
	// expiry after now (then nothing changes). One statement: nonces are
	// rows of their own, not documents, since every signed request
	// records one. Concurrent Updates recording the same nonce are
	// ordered; one of them reports true.
	RecordNonce(ctx context.Context, key AccessKeyID, nonce string, now, expires time.Time) (bool, error)
	// SweepNonces deletes up to limit nonces that expired at now, the
	// oldest first, and returns how many it deleted.
	SweepNonces(ctx context.Context, now time.Time, limit int) (int, error)
}

// resourcePtr constrains a pointer to a Resource struct type.
type resourcePtr[T any] interface {
	*T
	Resource
}

// Get loads the resource of type T with the given key. It returns an
// *Error of KindNotFound when there is none.
func Get[T any, P resourcePtr[T]](ctx context.Context, tx Tx, key string) (*T, error) {
	var v T
	d, err := tx.GetDoc(ctx, P(&v).Kind(), key)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(d.Body, &v); err != nil {
		return nil, &Error{Kind: KindInternal, Op: "store.Get", Err: err}
	}
	return &v, nil
}

// Put stores the resource.
func Put(ctx context.Context, tx Tx, r Resource) error {
	b, err := json.Marshal(r)
	if err != nil {
		return &Error{Kind: KindInternal, Op: "store.Put", Err: err}
	}
	return tx.PutDoc(ctx, Doc{Kind: r.Kind(), Key: r.Key(), Account: r.Owner(), Region: r.Location(), Body: b})
}

// Delete removes the resource.
func Delete(ctx context.Context, tx Tx, r Resource) error {
	return tx.DeleteDoc(ctx, r.Kind(), r.Key())
}

// List loads every resource of type T the query selects; q.Kind is set
// from T.
func List[T any, P resourcePtr[T]](ctx context.Context, tx Tx, q Query) ([]*T, error) {
	var zero T
	q.Kind = P(&zero).Kind()
	docs, err := tx.ListDocs(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(docs))
	for _, d := range docs {
		v := new(T)
		if err := json.Unmarshal(d.Body, v); err != nil {
			return nil, &Error{Kind: KindInternal, Op: "store.List", Err: err}
		}
		out = append(out, v)
	}
	return out, nil
}
