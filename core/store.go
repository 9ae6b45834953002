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
	// Labels are what the store indexes the document by besides its
	// kind, account and region; PutDoc replaces them with the document.
	Labels []Label
	// Seq is the document's place in the insertion order, as ListDocs
	// returns it (0 elsewhere): positive, unique across kinds, and kept
	// when the document is replaced. It is a stable cursor (Query.AfterSeq).
	Seq int64
}

// Label is a name and value that holds for a document from From (zero:
// always before) until Until (zero: for ever after). A document may carry
// one name with several values and times, e.g. the statuses its schedule
// will pass through, each for its own interval, but at any moment at most
// one value of a name (a query matching several values lists it once).
type Label struct {
	Name, Value string
	From, Until time.Time
}

// Labeled is a Resource that the store indexes by labels: Put stores
// Labels() with it, and queries select by them.
type Labeled interface {
	Resource
	Labels() []Label
}

// LabelMatch selects the documents holding, at the transaction's Now, a
// label Name whose value is one of Values; with Glob, Values has one
// element, a pattern in which '*' matches any run of characters and every
// other character only itself.
type LabelMatch struct {
	Name   string
	Values []string
	Glob   bool
}

// Query selects documents. Empty fields match everything (an empty Kind
// selects every kind, and then After, Keys and Labels are refused).
// Results come in insertion order (Doc.Seq). Keys keeps only those keys
// (at most 1000); every LabelMatch must hold; After continues a listing
// after the document with that key, which must still exist (otherwise
// KindInvalid), AfterSeq after that place in the order, whether or not
// its document still exists; Offset skips that many results; Limit 0
// means no limit. Negative bounds are KindInvalid. A query with Labels
// reads only the documents that carry the first label (an index), so
// the most selective goes first; with Keys, only those keys.
type Query struct {
	Kind     ResourceKind
	Account  AccountID
	Region   RegionID
	Keys     []string
	Labels   []LabelMatch
	After    string
	AfterSeq int64
	Offset   int
	Limit    int
	// Unlabeled selects only documents stored before labels existed
	// (by a latchkey older than the labels), which must be put again
	// so that label queries find them.
	Unlabeled bool
}

// MaxQueryKeys bounds Query.Keys.
const MaxQueryKeys = 1000

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

// KindVersions is implemented by a Store that is the only writer of its
// data (SQLite's single process: Open refuses a second one), so it knows
// exactly when documents change. A cache of documents of one kind is
// exact when it fills only from Views, keeps with each value the version
// it took before the View began, and trusts a value only while the
// version is the same.
type KindVersions interface {
	// KindVersion returns the version of kind's documents. It changes
	// when an Update writes (puts or deletes) a document of kind, so
	// the Updates after it in an uncommitted batch see it changed, and
	// again after that Update's transaction has ended, before the
	// Update returns. It never changes back to a value it had.
	KindVersion(kind ResourceKind) uint64
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
	// PrefetchDoc announces a GetDoc of the document later in the same
	// Update: a store whose reads are round trips may send the read with
	// the fn's next statement instead. GetDoc answers the same with or
	// without it, also when the fn writes the document in between; a
	// failed read fails that GetDoc, or the statement it went with.
	PrefetchDoc(ctx context.Context, kind ResourceKind, key string)
	// PutDoc inserts or replaces the document (insertion order is kept on
	// replace).
	PutDoc(ctx context.Context, d Doc) error
	// DeleteDoc removes the document; deleting a missing one is not an error.
	DeleteDoc(ctx context.Context, kind ResourceKind, key string) error
	// ListDocs returns the documents the query selects, with their Seq.
	ListDocs(ctx context.Context, q Query) ([]Doc, error)
	// CountDocs counts the documents the query selects, ignoring its
	// Offset and Limit, without reading them.
	CountDocs(ctx context.Context, q Query) (int, error)

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

// Prefetch announces a Get of the resource of type T with the given key
// later in the same Update (Tx.PrefetchDoc).
func Prefetch[T any, P resourcePtr[T]](ctx context.Context, tx Tx, key string) {
	var v T
	tx.PrefetchDoc(ctx, P(&v).Kind(), key)
}

// Put stores the resource.
func Put(ctx context.Context, tx Tx, r Resource) error {
	b, err := json.Marshal(r)
	if err != nil {
		return &Error{Kind: KindInternal, Op: "store.Put", Err: err}
	}
	d := Doc{Kind: r.Kind(), Key: r.Key(), Account: r.Owner(), Region: r.Location(), Body: b}
	if l, ok := r.(Labeled); ok {
		d.Labels = l.Labels()
	}
	return tx.PutDoc(ctx, d)
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

// Listed is a resource with its place in the insertion order (Doc.Seq).
type Listed[T any] struct {
	Seq int64
	V   *T
}

// ListSeq is List, keeping each resource's Seq for a cursor.
func ListSeq[T any, P resourcePtr[T]](ctx context.Context, tx Tx, q Query) ([]Listed[T], error) {
	var zero T
	q.Kind = P(&zero).Kind()
	docs, err := tx.ListDocs(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Listed[T], 0, len(docs))
	for _, d := range docs {
		v := new(T)
		if err := json.Unmarshal(d.Body, v); err != nil {
			return nil, &Error{Kind: KindInternal, Op: "store.List", Err: err}
		}
		out = append(out, Listed[T]{Seq: d.Seq, V: v})
	}
	return out, nil
}

// Count counts the resources of type T the query selects; q.Kind is set
// from T.
func Count[T any, P resourcePtr[T]](ctx context.Context, tx Tx, q Query) (int, error) {
	var zero T
	q.Kind = P(&zero).Kind()
	return tx.CountDocs(ctx, q)
}
