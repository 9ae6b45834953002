package service

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
)

// Product is one cloud product as latchkey sees it beside its API: the
// resource kinds it owns and what start-up, the internal API and the demo
// fleet need of them. ECS, E-HPC, BCC and RAM are products; a new cloud
// adds one value that implements Product and is registered with the
// others (server/assemble.go). Nothing outside a product switches on its
// kinds.
type Product interface {
	// Name is the product's short name, as fault rules, password checks
	// and account state name it: "ecs", "ehpc", "bcc", "ram".
	Name() string
	// Kinds are the store kinds the product owns, in the order a bare id
	// is looked up.
	Kinds() []core.ResourceKind
	// Describe reads one of the product's documents for inspection: its
	// name, its status at now, and the resource advanced to now.
	Describe(d core.Doc, now time.Time) (Description, error)
	// Settle completes every scheduled status change (and release) of
	// the product's resources in tx, as if the transition interval had
	// passed, and returns how many resources it changed; Pending counts
	// those with a change still to come, changing nothing.
	Settle(ctx context.Context, tx core.Tx) (int, error)
	Pending(ctx context.Context, tx core.Tx) (int, error)
	// Reconcile puts the stored passwords back on what runs outside the
	// store (consoles, visual services) at start: the store is the
	// truth. It returns an error only when the store cannot be read.
	Reconcile(ctx context.Context) error
	// Stop ends what the product runs outside the store, before a reset
	// deletes its documents. Failures are logged, not returned.
	Stop(ctx context.Context)
	// Apply makes one account's part of a fleet file true through the
	// product's own operations, so that every rule of the API holds.
	Apply(ap *Apply, account core.AccountID, fa *fleet.Account) error
	// CheckPassword reports whether q.Password is the password q.Target
	// names on the resource d. Products without passwords answer
	// KindInvalid.
	CheckPassword(ctx context.Context, d core.Doc, q PasswordCheck) (PasswordMatch, error)
}

// Description is a resource as inspection shows it.
type Description struct {
	Name   string
	Status string
	// Resource is the document advanced to now (JSON), secrets still in
	// it: the caller redacts.
	Resource []byte
}

// Registry holds the products of one server and does what spans them:
// settling transitions, reconciling consoles at start, applying fleet
// files, password checks and resets. The internal API calls it; it never
// writes a document itself.
type Registry struct {
	cfg      Config
	identity *Identity
	accounts *Accounts
	products []Product
}

// NewRegistry returns the registry of products, which are consulted in
// the order given.
func NewRegistry(cfg Config, identity *Identity, accounts *Accounts, products ...Product) *Registry {
	cfg.fill()
	return &Registry{cfg: cfg, identity: identity, accounts: accounts, products: products}
}

// Products returns the registered products in order.
func (r *Registry) Products() []Product { return r.products }

// Accounts returns the account-state service.
func (r *Registry) Accounts() *Accounts { return r.accounts }

// Owner returns the product that owns kind.
func (r *Registry) Owner(kind core.ResourceKind) (Product, bool) {
	for _, p := range r.products {
		for _, k := range p.Kinds() {
			if k == kind {
				return p, true
			}
		}
	}
	return nil, false
}

// Product returns the product of that name.
func (r *Registry) Product(name string) (Product, bool) {
	for _, p := range r.products {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// Kinds returns every product's kinds in lookup order, then accounts and
// access keys.
func (r *Registry) Kinds() []core.ResourceKind {
	var out []core.ResourceKind
	for _, p := range r.products {
		out = append(out, p.Kinds()...)
	}
	return append(out, core.AccountKind, core.AccessKeyKind)
}

// Describe describes any document: a product's through the product,
// anything else (accounts, keys, fault rules) by its Name field.
func (r *Registry) Describe(d core.Doc, now time.Time) (Description, error) {
	if p, ok := r.Owner(d.Kind); ok {
		return p.Describe(d, now)
	}
	var named struct{ Name string }
	if err := json.Unmarshal(d.Body, &named); err != nil {
		return Description{}, &core.Error{Kind: core.KindInternal, Op: "service.Describe", Err: err}
	}
	return Description{Name: named.Name, Resource: d.Body}, nil
}

// Settle completes every pending transition and release of every
// product in one transaction and returns how many resources changed.
func (r *Registry) Settle(ctx context.Context) (int, error) {
	n := 0
	err := r.cfg.Store.Update(ctx, func(tx core.Tx) error {
		n = 0
		for _, p := range r.products {
			m, err := p.Settle(ctx, tx)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	return n, err
}

// Pending counts the resources with a transition or release still to
// come.
func (r *Registry) Pending(ctx context.Context) (int, error) {
	n := 0
	err := r.cfg.Store.View(ctx, func(tx core.Tx) error {
		n = 0
		for _, p := range r.products {
			m, err := p.Pending(ctx, tx)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	return n, err
}

// Reconcile reconciles every product, in order.
func (r *Registry) Reconcile(ctx context.Context) error {
	for _, p := range r.products {
		if err := p.Reconcile(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
	}
	return nil
}

// Reset stops what every product runs outside the store, then deletes
// every document but the keep account and its access key and the
// bookkeeping that outlives the resources (keptOnReset), in one
// transaction; keep's account state returns to the defaults. The audit
// log is not a document and stays. It returns how many documents went.
func (r *Registry) Reset(ctx context.Context, keep core.Principal) (int, error) {
	for _, p := range r.products {
		p.Stop(ctx)
	}
	removed := 0
	err := r.cfg.Store.Update(ctx, func(tx core.Tx) error {
		removed = 0
		docs, err := tx.ListDocs(ctx, core.Query{})
		if err != nil {
			return err
		}
		for _, d := range docs {
			switch {
			case d.Kind == core.AccountKind && d.Key == string(keep.AccountID):
				if err := resetAccount(ctx, tx, keep.AccountID); err != nil {
					return err
				}
				continue
			case d.Kind == core.AccessKeyKind && d.Key == string(keep.AccessKeyID), keptOnReset(d):
				continue
			}
			if err := tx.DeleteDoc(ctx, d.Kind, d.Key); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	return removed, err
}

// PasswordCheck asks whether Password is one of a resource's passwords.
// Target names which (each product documents its targets; empty is the
// product's default); User and Node narrow E-HPC checks.
type PasswordCheck struct {
	Target   string
	User     string
	Node     string
	Password core.Secret
}

// PasswordMatch is a password check's answer. Target is the target
// checked; Nodes, for E-HPC visual services, holds each login node's.
type PasswordMatch struct {
	Match  bool
	Target string
	Nodes  []NodeMatch
}

// NodeMatch is one login node's part of a visual-service check: Checked
// is "service" (logged in to the running service) or "store" (compared
// with the recorded password, where no service could be reached).
type NodeMatch struct {
	Node    string
	Match   bool
	Checked string
}

// CheckPassword runs a password check on d through the product that owns
// it.
func (r *Registry) CheckPassword(ctx context.Context, d core.Doc, q PasswordCheck) (PasswordMatch, error) {
	p, ok := r.Owner(d.Kind)
	if !ok {
		return PasswordMatch{}, &core.Error{Kind: core.KindInvalid, Reason: core.ReasonInvalidParameter, Field: "resource",
			Message: "only ECS instances, BCC instances and E-HPC clusters have passwords to check"}
	}
	return p.CheckPassword(ctx, d, q)
}

// noPasswords is the CheckPassword of a product whose resources have no
// password to check.
func noPasswords(kind core.ResourceKind) (PasswordMatch, error) {
	return PasswordMatch{}, &core.Error{Kind: core.KindInvalid, Reason: core.ReasonInvalidParameter, Field: "resource",
		Message: fmt.Sprintf("a %s has no password to check", kind)}
}

// badTarget is the error of a check naming a target the kind lacks.
func badTarget(target string, kind core.ResourceKind) error {
	return &core.Error{Kind: core.KindInvalid, Reason: core.ReasonInvalidParameter, Field: "target",
		Message: fmt.Sprintf("target %q does not apply to a %s", target, kind)}
}

// pendingQuery selects the resources with a change still to come
// (core.LabelPending): settling and counting read only those.
var pendingQuery = core.Query{Labels: []core.LabelMatch{{Name: core.LabelPending, Values: []string{"1"}}}}

// settleKind settles every resource of kind T with a change to come (see
// Product.Settle) and stores each settled one with save (core.Put when
// nil). A resource whose changes are all due already reads the same
// settled or not, and is left as it is.
func settleKind[T any, P interface {
	*T
	core.Scheduled
}](ctx context.Context, tx core.Tx, save func(context.Context, core.Tx, P) error) (int, error) {
	list, err := core.List[T, P](ctx, tx, pendingQuery)
	if err != nil {
		return 0, err
	}
	now, n := tx.Now(), 0
	for _, v := range list {
		p := P(v)
		if !p.Settle(now) {
			continue
		}
		n++
		if save != nil {
			err = save(ctx, tx, p)
		} else {
			err = core.Put(ctx, tx, p)
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// pendingKind counts the resources of kind T with a change to come,
// reading none of them.
func pendingKind[T any, P interface {
	*T
	core.Scheduled
}](ctx context.Context, tx core.Tx) (int, error) {
	return core.Count[T, P](ctx, tx, pendingQuery)
}

// describeKind decodes a document of kind T, lets status advance it to
// now and name its status, and encodes it again.
func describeKind[T any, P interface {
	*T
	core.Resource
}](d core.Doc, name func(P) string, status func(P) string) (Description, error) {
	v := P(new(T))
	if err := json.Unmarshal(d.Body, v); err != nil {
		return Description{}, &core.Error{Kind: core.KindInternal, Op: "service.Describe", Err: err}
	}
	out := Description{Status: status(v), Name: name(v)}
	b, err := json.Marshal(v)
	if err != nil {
		return Description{}, &core.Error{Kind: core.KindInternal, Op: "service.Describe", Err: err}
	}
	out.Resource = b
	return out, nil
}

// decodeDoc decodes a document of kind T.
func decodeDoc[T any, P interface {
	*T
	core.Resource
}](d core.Doc) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(d.Body, v); err != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: "service.decode", Err: err}
	}
	return v, nil
}

// unreachable is a console or visual service a password check could not
// log in to.
func unreachable(msg string) error {
	return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Message: msg}
}

// partFinder is a product whose resources have parts with ids of their
// own (an E-HPC cluster's nodes): FindPart returns the document that
// holds the part id.
type partFinder interface {
	FindPart(ctx context.Context, tx core.Tx, id string) (core.Doc, bool, error)
}

// Find returns the document a bare id names: the first of kinds (in
// order, extra ones last) that holds the key, else the resource holding a
// part of that id. It returns KindNotFound when there is none.
func (r *Registry) Find(ctx context.Context, tx core.Tx, id string, extra ...core.ResourceKind) (core.Doc, error) {
	for _, k := range append(r.Kinds(), extra...) {
		d, err := tx.GetDoc(ctx, k, id)
		if core.KindOf(err) != core.KindNotFound {
			return d, err
		}
	}
	for _, p := range r.products {
		if pf, ok := p.(partFinder); ok {
			d, found, err := pf.FindPart(ctx, tx, id)
			if err != nil || found {
				return d, err
			}
		}
	}
	return core.Doc{}, &core.Error{Kind: core.KindNotFound, Message: "no resource " + quote(id)}
}

// Bookkeeping reports whether documents of kind k are the services' own
// bookkeeping (the E-HPC index, the transition interval) rather than
// resources: inspection does not list them.
func Bookkeeping(k core.ResourceKind) bool {
	return k == ehpcIndexKind || k == loginAddressKind || k == timingKind
}

// keptOnReset reports whether a reset keeps d: the transition interval
// (a setting, see Timing) and the E-HPC index marker (every cluster
// created afterwards is indexed, so the next start need not index
// again). The visual version goes, which is the change the replica
// serving the sim listeners sees (see visualVersion).
func keptOnReset(d core.Doc) bool {
	return d.Kind == timingKind || d.Kind == ehpcIndexKind && d.Key == (*indexMarker)(nil).Key()
}

// labeler is a product whose documents carry labels (core.Labeled):
// Labels decodes one of its documents and returns them.
type labeler interface {
	Labels(d core.Doc) ([]core.Label, error)
}

// labelsOf returns the labels of a document of kind T.
func labelsOf[T any, P interface {
	*T
	core.Labeled
}](d core.Doc) ([]core.Label, error) {
	v, err := decodeDoc[T, P](d)
	if err != nil {
		return nil, err
	}
	return P(v).Labels(), nil
}

// relabelBatch bounds the documents one transaction of Relabel puts.
const relabelBatch = 500

// Relabel puts again, with their labels, the documents a latchkey older
// than labels stored (core.Query.Unlabeled), so that label queries find
// them, and returns how many it put. It reads an index of those
// documents alone: once they are labeled, it costs one empty lookup. The
// server calls it at start, before it is ready, as the last step of an
// upgrade.
func (r *Registry) Relabel(ctx context.Context) (int, error) {
	// A View first: an Update that lists every kind would take, on
	// PostgreSQL, the lock of all kinds at every start.
	var old []core.Doc
	err := r.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		old, err = tx.ListDocs(ctx, core.Query{Unlabeled: true, Limit: 1})
		return err
	})
	if err != nil || len(old) == 0 {
		return 0, err
	}
	total := 0
	for {
		n := 0
		err := r.cfg.Store.Update(ctx, func(tx core.Tx) error {
			n = 0
			docs, err := tx.ListDocs(ctx, core.Query{Unlabeled: true, Limit: relabelBatch})
			if err != nil {
				return err
			}
			for _, d := range docs {
				d.Labels = nil
				if p, ok := r.Owner(d.Kind); ok {
					if l, ok := p.(labeler); ok {
						if d.Labels, err = l.Labels(d); err != nil {
							return err
						}
					}
				}
				if err := tx.PutDoc(ctx, d); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		total += n
		if err != nil || n < relabelBatch {
			return total, err
		}
	}
}
