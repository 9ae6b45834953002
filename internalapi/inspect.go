package internalapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/service"
)

// redacted replaces every secret in an inspection answer. An unset secret
// stays empty, so an answer still shows whether, say, an instance has a
// pending console password.
const redacted = "[redacted]"

// hiddenKind reports whether documents of kind k are never listed or
// shown: console tickets, whose keys are secrets (a ticket's key is the
// ticket), and the services' bookkeeping (service.Bookkeeping).
func hiddenKind(k core.ResourceKind) bool {
	return k == core.VNCTokenKind || service.Bookkeeping(k)
}

// secretKey reports whether a JSON field of that name holds a secret:
// passwords (live, pending, per node, hashes), sealed secrets, tokens.
func secretKey(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "passwd", "secret", "token", "sealed", "hash"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redact walks a decoded JSON value and replaces secrets: the value of
// every field secretKey names, and any string that looks like a password
// hash. It returns the cleaned value.
func redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretKey(k) {
				x[k] = redactValue(val)
				continue
			}
			x[k] = redact(val)
		}
		return x
	case []any:
		for i := range x {
			x[i] = redact(x[i])
		}
		return x
	case string:
		if strings.HasPrefix(x, "$argon2") || strings.HasPrefix(x, "$2") && len(x) > 50 {
			return redacted
		}
	}
	return v
}

// redactValue is what a secret field shows: nothing when it is unset,
// the marker otherwise (for objects, each field so marked).
func redactValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return ""
		}
	case map[string]any:
		for k, val := range x {
			x[k] = redactValue(val)
		}
		return x
	case []any:
		if len(x) == 0 {
			return x
		}
	case bool, float64:
		return x
	}
	return redacted
}

// resourceView is one resource as inspection shows it.
type resourceView struct {
	Kind     core.ResourceKind `json:"kind"`
	ID       string            `json:"id"`
	Name     string            `json:"name,omitempty"`
	Account  core.AccountID    `json:"account,omitempty"`
	Region   core.RegionID     `json:"region,omitempty"`
	Status   string            `json:"status,omitempty"`
	Resource any               `json:"resource,omitempty"`
}

// view describes a document through the registry, advanced to now, and
// redacts it. withBody false leaves the body out (listings).
func (a *api) view(d core.Doc, now time.Time, withBody bool) (resourceView, error) {
	v := resourceView{Kind: d.Kind, ID: d.Key, Account: d.Account, Region: d.Region}
	desc, err := a.d.Registry.Describe(d, now)
	if err != nil {
		return v, err
	}
	v.Name, v.Status = desc.Name, desc.Status
	if withBody {
		var doc any
		if err := json.Unmarshal(desc.Resource, &doc); err != nil {
			return v, &core.Error{Kind: core.KindInternal, Op: "internalapi.inspect", Err: err}
		}
		v.Resource = redact(doc)
	}
	return v, nil
}

type listBody struct {
	Resources []resourceView `json:"resources"`
}

// listResources answers GET /_latchkey/resources: every resource's kind,
// id, name, account, region and status. Filters: kind, account ("root"
// for the root account), region, name.
func (a *api) listResources(w http.ResponseWriter, r *http.Request) {
	const action = "ListResources"
	q := r.URL.Query()
	query := core.Query{Kind: core.ResourceKind(q.Get("kind")), Account: core.AccountID(q.Get("account")), Region: core.RegionID(q.Get("region"))}
	if query.Account == "root" {
		query.Account = a.d.Root.AccountID
	}
	out := []resourceView{}
	err := a.d.Store.View(r.Context(), func(tx core.Tx) error {
		docs, err := tx.ListDocs(r.Context(), query)
		if err != nil {
			return err
		}
		for _, d := range docs {
			if hiddenKind(d.Kind) {
				continue
			}
			v, err := a.view(d, tx.Now(), false)
			if err != nil {
				return err
			}
			if name := q.Get("name"); name != "" && v.Name != name {
				continue
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	a.ok(w, r, action, http.StatusOK, listBody{out})
}

// inspect answers GET /_latchkey/resources/{ref...}. ref is an id (an
// instance, cluster, account, access key id, …) or "kind/key" (for keys
// that are not unique across kinds, e.g. ecs.instance/i-…, or RAM users
// ram.user/ACCOUNT/NAME). An id that names resources of several kinds
// answers with the first in the order ECS, BCC, E-HPC, account, key.
func (a *api) inspect(w http.ResponseWriter, r *http.Request) {
	const action = "Inspect"
	ref := r.PathValue("ref")
	var out resourceView
	err := a.d.Store.View(r.Context(), func(tx core.Tx) error {
		d, err := a.find(r.Context(), tx, ref)
		if err != nil {
			return err
		}
		out, err = a.view(d, tx.Now(), true)
		return err
	})
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	a.ok(w, r, action, http.StatusOK, out)
}

// find resolves a reference to a document: "kind/key", or a bare id
// looked up through the registry (products' kinds, accounts, keys, then
// fault rules).
func (a *api) find(ctx context.Context, tx core.Tx, ref string) (core.Doc, error) {
	notFound := newError("NotFound", "", "no resource "+quoteRef(ref))
	if ref == "" {
		return core.Doc{}, notFound
	}
	if kind, key, ok := strings.Cut(ref, "/"); ok && strings.Contains(kind, ".") {
		if hiddenKind(core.ResourceKind(kind)) {
			return core.Doc{}, notFound
		}
		d, err := tx.GetDoc(ctx, core.ResourceKind(kind), key)
		if core.KindOf(err) == core.KindNotFound {
			return core.Doc{}, notFound
		}
		return d, err
	}
	d, err := a.d.Registry.Find(ctx, tx, ref, faults.RuleKind)
	if core.KindOf(err) == core.KindNotFound {
		return core.Doc{}, notFound
	}
	return d, err
}

// quoteRef shows a reference in a message, cut short: it is the caller's
// own input.
func quoteRef(ref string) string {
	if len(ref) > 80 {
		ref = ref[:80] + "…"
	}
	b, _ := json.Marshal(ref)
	return string(b)
}
