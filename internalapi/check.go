package internalapi

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/service"
)

// checkRequest asks whether Password is a resource's password. Target
// selects which one:
//   - "console" (ECS, BCC): the live password of the instance's console,
//     checked by logging in to the console itself;
//   - "pending" (ECS): the password set on an instance that is not I/O
//     optimized, which becomes live at its next restart;
//   - "guest" (BCC): the guest administrator's password;
//   - "visual" (E-HPC): the visual service's password on every login
//     node (or on Node alone), checked by logging in where the service
//     runs and against the recorded password where it does not;
//   - "user" (E-HPC): the password of the cluster user User.
//
// The default target is console for ECS, guest for BCC, and user for a
// cluster when User is given, visual otherwise. InstanceID and Product are
// accepted for callers of the first version of this endpoint.
type checkRequest struct {
	Resource   string `json:"resource"`
	InstanceID string `json:"instanceId"`
	Product    string `json:"product"`
	Target     string `json:"target"`
	User       string `json:"user"`
	Node       string `json:"node"`
	Password   string `json:"password"`
}

type nodeMatch struct {
	Node    string `json:"node"`
	Match   bool   `json:"match"`
	Checked string `json:"checked"` // "service" (logged in) or "store" (recorded password)
}

type checkResponse struct {
	Match bool        `json:"match"`
	Nodes []nodeMatch `json:"nodes,omitempty"`
}

// checkPassword answers POST /_latchkey/check-password with {"match":
// true|false}. Checks are rate-limited per resource; each is audited
// (never with the password).
func (a *api) checkPassword(w http.ResponseWriter, r *http.Request) {
	const action = "CheckPassword"
	var req checkRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, action, err)
		return
	}
	pw := core.NewSecret(req.Password)
	req.Password = ""
	if req.Resource == "" {
		req.Resource = req.InstanceID
	}
	if req.Resource == "" {
		a.fail(w, r, action, newError("MissingParameter", "resource", "resource is required: an ECS or BCC instance id or an E-HPC cluster id"))
		return
	}
	if pw.IsZero() {
		a.fail(w, r, action, newError("MissingParameter", "password", "password is required"))
		return
	}
	if ok, wait := a.limiter.allow(req.Resource, a.d.Clock.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		a.fail(w, r, action, newError("TooManyRequests", "", "too many password checks on this resource; retry later"))
		return
	}
	res, target, err := a.check(r.Context(), req, pw)
	if err != nil {
		a.audit(r.Context(), r, action, req.Resource, toAPIError(err).code, target)
		a.fail(w, r, action, err)
		return
	}
	result := "NoMatch"
	if res.Match {
		result = "Match"
	}
	a.audit(r.Context(), r, action, req.Resource, result, target)
	a.ok(w, r, action, http.StatusOK, res)
}

// check finds the resource and runs the check through the registry. It
// returns the target it checked.
func (a *api) check(ctx context.Context, req checkRequest, pw core.Secret) (checkResponse, string, error) {
	var d core.Doc
	err := a.d.Store.View(ctx, func(tx core.Tx) (err error) {
		d, err = a.findCheckable(ctx, tx, req)
		return err
	})
	if err != nil {
		return checkResponse{}, "", err
	}
	m, err := a.d.Registry.CheckPassword(ctx, d, service.PasswordCheck{Target: req.Target, User: req.User, Node: req.Node, Password: pw})
	if err != nil {
		return checkResponse{}, req.Target, err
	}
	res := checkResponse{Match: m.Match}
	for _, n := range m.Nodes {
		res.Nodes = append(res.Nodes, nodeMatch{Node: n.Node, Match: n.Match, Checked: n.Checked})
	}
	return res, m.Target, nil
}

// findCheckable resolves the resource of a check; Product, when given,
// chooses the product whose kinds are looked up.
func (a *api) findCheckable(ctx context.Context, tx core.Tx, req checkRequest) (core.Doc, error) {
	if req.Product == "" {
		return a.find(ctx, tx, req.Resource)
	}
	p, ok := a.d.Registry.Product(req.Product)
	if !ok || req.Product == "ram" {
		return core.Doc{}, newError("InvalidParameter", "product", "product must be ecs, bcc or ehpc")
	}
	for _, k := range p.Kinds() {
		d, err := tx.GetDoc(ctx, k, req.Resource)
		if core.KindOf(err) != core.KindNotFound {
			return d, err
		}
	}
	return core.Doc{}, newError("NotFound", "", "no "+req.Product+" resource "+quoteRef(req.Resource))
}

// limiter is a token bucket per key: burst tokens, one more every every.
type limiter struct {
	burst int
	every time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the limiter's memory; full buckets are dropped first.
const maxBuckets = 10000

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: burst, every: every, buckets: make(map[string]*bucket)}
}

// allow takes a token for key at now, or reports how long until one is
// free.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: float64(l.burst), last: now}
		l.buckets[key] = b
	}
	if now.After(b.last) {
		b.tokens = min(float64(l.burst), b.tokens+float64(now.Sub(b.last))/float64(l.every))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.every))
}

// prune drops the buckets that would be full by now; l.mu is held.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.last))/float64(l.every) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}
