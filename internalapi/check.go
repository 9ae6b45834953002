package internalapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
)

// probeTimeout bounds one login attempt on a console or visual service.
const probeTimeout = 5 * time.Second

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
		a.fail(w, r, action, &apiError{status: http.StatusBadRequest, code: "MissingParameter", field: "resource", msg: "resource is required: an ECS or BCC instance id or an E-HPC cluster id"})
		return
	}
	if pw.IsZero() {
		a.fail(w, r, action, &apiError{status: http.StatusBadRequest, code: "MissingParameter", field: "password", msg: "password is required"})
		return
	}
	if ok, wait := a.limiter.allow(req.Resource, a.d.Clock.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
		a.fail(w, r, action, &apiError{status: http.StatusTooManyRequests, code: "TooManyRequests", msg: "too many password checks on this resource; retry later"})
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

// check finds the resource and runs the target's check. It returns the
// target it checked.
func (a *api) check(ctx context.Context, req checkRequest, pw core.Secret) (checkResponse, string, error) {
	if a.d.Store == nil {
		if req.Product == "bcc" && a.d.BCC != nil {
			// The first version of this endpoint: BCC guests only.
			ok, err := a.d.BCC.CheckAdminPassword(ctx, "", core.BCCInstanceID(req.Resource), pw)
			if core.KindOf(err) == core.KindNotFound {
				err = &apiError{status: http.StatusNotFound, code: "NotFound", msg: "no BCC instance " + quoteRef(req.Resource)}
			}
			return checkResponse{Match: ok}, "guest", err
		}
		return checkResponse{}, "", unavailable("password checks")
	}
	var d core.Doc
	err := a.d.Store.View(ctx, func(tx core.Tx) (err error) {
		d, err = a.findCheckable(ctx, tx, req)
		return err
	})
	if err != nil {
		return checkResponse{}, "", err
	}
	bad := func(target string) error {
		return &apiError{status: http.StatusBadRequest, code: "InvalidParameter", field: "target",
			msg: fmt.Sprintf("target %q does not apply to a %s", target, d.Kind)}
	}
	switch d.Kind {
	case core.InstanceKind:
		inst, err := decodeDoc[core.Instance](d)
		if err != nil {
			return checkResponse{}, "", err
		}
		switch req.Target {
		case "", "console":
			ok, err := a.checkConsole(ctx, inst.Driver, inst.ConsoleTarget(), inst.VNCPassword, core.VNCSealContext(inst.ID), pw)
			return checkResponse{Match: ok}, "console", err
		case "pending":
			return checkResponse{Match: a.sealedEqual(inst.PendingVNCPassword, core.VNCSealContext(inst.ID), pw)}, "pending", nil
		}
		return checkResponse{}, req.Target, bad(req.Target)
	case core.BCCInstanceKind:
		inst, err := decodeDoc[core.BCCInstance](d)
		if err != nil {
			return checkResponse{}, "", err
		}
		switch req.Target {
		case "", "guest":
			return checkResponse{Match: a.hashEqual(inst.AdminPassword, pw)}, "guest", nil
		case "console":
			ok, err := a.checkConsole(ctx, inst.Driver, inst.ConsoleTarget(), nil, "", pw)
			return checkResponse{Match: ok}, "console", err
		}
		return checkResponse{}, req.Target, bad(req.Target)
	case core.ClusterKind:
		cl, err := decodeDoc[core.Cluster](d)
		if err != nil {
			return checkResponse{}, "", err
		}
		target := req.Target
		if target == "" {
			target = "visual"
			if req.User != "" {
				target = "user"
			}
		}
		switch target {
		case "visual":
			res, err := a.checkVisual(ctx, cl, req.Node, pw)
			return res, target, err
		case "user":
			name := req.User
			if name == "" {
				name = core.RootUser
			}
			u := cl.User(name)
			if u == nil {
				return checkResponse{}, target, &apiError{status: http.StatusNotFound, code: "NotFound", field: "user", msg: "the cluster has no user " + quoteRef(name)}
			}
			return checkResponse{Match: a.hashEqual(u.Password, pw)}, target, nil
		}
		return checkResponse{}, target, bad(target)
	}
	return checkResponse{}, "", &apiError{status: http.StatusBadRequest, code: "InvalidParameter", field: "resource", msg: "only ECS instances, BCC instances and E-HPC clusters have passwords to check"}
}

// findCheckable resolves the resource of a check; Product, when given,
// chooses among kinds.
func (a *api) findCheckable(ctx context.Context, tx core.Tx, req checkRequest) (core.Doc, error) {
	kind := map[string]core.ResourceKind{"ecs": core.InstanceKind, "bcc": core.BCCInstanceKind, "ehpc": core.ClusterKind}[req.Product]
	if req.Product != "" && kind == "" {
		return core.Doc{}, &apiError{status: http.StatusBadRequest, code: "InvalidParameter", field: "product", msg: "product must be ecs, bcc or ehpc"}
	}
	if kind != "" {
		d, err := tx.GetDoc(ctx, kind, req.Resource)
		if core.KindOf(err) == core.KindNotFound {
			return core.Doc{}, &apiError{status: http.StatusNotFound, code: "NotFound", msg: "no " + req.Product + " resource " + quoteRef(req.Resource)}
		}
		return d, err
	}
	return find(ctx, tx, req.Resource)
}

func decodeDoc[T any, P interface {
	*T
	core.Resource
}](d core.Doc) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(d.Body, v); err != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: "internalapi.check", Err: err}
	}
	return v, nil
}

// vncContext is the sealing context of an ECS instance's console
// passwords; it must stay equal to the ECS service's (service/ecs.go).

// sealedEqual opens a sealed password and compares it with pw in
// constant time. An unset or unreadable one matches nothing.
func (a *api) sealedEqual(sealed core.Sealed, sealCtx string, pw core.Secret) bool {
	if len(sealed) == 0 || a.d.Sealer == nil {
		return false
	}
	plain, err := a.d.Sealer.Open(sealed, sealCtx)
	if err != nil {
		a.d.Log.Warn("a sealed password did not open", "context", sealCtx, "err", err)
		return false
	}
	return subtle.ConstantTimeCompare([]byte(plain.Reveal()), []byte(pw.Reveal())) == 1
}

func (a *api) hashEqual(hash core.PasswordHash, pw core.Secret) bool {
	if hash == "" || a.d.Hasher == nil {
		return false
	}
	return a.d.Hasher.Verify(hash, pw)
}

// checkConsole logs in to the target's console through its driver (fault
// rules do not apply: the check looks at the console, not at the path to
// it). When the driver's stream is not a network connection, the stored
// password (sealed under sealCtx) is compared instead.
func (a *api) checkConsole(ctx context.Context, driver string, t core.ConsoleTarget, stored core.Sealed, sealCtx string, pw core.Secret) (bool, error) {
	d := a.d.ConsoleDrivers[driver]
	if d == nil {
		if stored != nil {
			return a.sealedEqual(stored, sealCtx, pw), nil
		}
		return false, unavailable("the console driver " + quoteRef(driver))
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := d.OpenConsole(ctx, t)
	if err != nil {
		a.d.Log.Warn("password check: console unreachable", "target", t.ID, "err", err)
		return false, &apiError{status: http.StatusServiceUnavailable, code: "ConsoleUnreachable", msg: "the console cannot be reached"}
	}
	defer conn.Close()
	nc, ok := conn.(net.Conn)
	if !ok {
		if stored != nil {
			return a.sealedEqual(stored, sealCtx, pw), nil
		}
		return false, unavailable("a console login through driver " + quoteRef(driver))
	}
	return loginResult(rfb.Login(ctx, nc, pw.Reveal()))
}

// loginResult turns an RFB login's outcome into a match.
func loginResult(c *rfb.ClientConn, err error) (bool, error) {
	if err == nil {
		c.Close()
		return true, nil
	}
	if errors.Is(err, rfb.ErrAuthFailed) {
		return false, nil
	}
	return false, &apiError{status: http.StatusServiceUnavailable, code: "ConsoleUnreachable", msg: "the console did not complete a login"}
}

// checkVisual checks pw on the cluster's login nodes (or the one named):
// by logging in to each running visual service, and where none runs or it
// does not admit this host (CidrIp), against the node's recorded
// password. It matches when every checked node matches.
func (a *api) checkVisual(ctx context.Context, cl *core.Cluster, only string, pw core.Secret) (checkResponse, error) {
	logins := cl.LoginNodes()
	res := checkResponse{Match: true}
	for _, i := range logins {
		n := cl.Nodes[i]
		if only != "" && string(n.ID) != only {
			continue
		}
		m := nodeMatch{Node: string(n.ID), Checked: "store"}
		ok, probed := a.probeVisual(ctx, cl, n, pw)
		if probed {
			m.Match, m.Checked = ok, "service"
		} else {
			m.Match = a.sealedEqual(n.VisualPassword, core.VisualPasswordContext(cl.ID, n.ID), pw)
		}
		res.Nodes = append(res.Nodes, m)
		res.Match = res.Match && m.Match
	}
	if len(res.Nodes) == 0 {
		if only != "" {
			return checkResponse{}, &apiError{status: http.StatusNotFound, code: "NotFound", field: "node", msg: "the cluster has no login node " + quoteRef(only)}
		}
		return checkResponse{}, &apiError{status: http.StatusConflict, code: "Conflict", msg: "the cluster has no login node"}
	}
	return res, nil
}

// probeVisual logs in to a login node's running visual service. probed is
// false when there is none to reach (stopped, cluster not running, the
// service refusing this host).
func (a *api) probeVisual(ctx context.Context, cl *core.Cluster, n core.Node, pw core.Secret) (match, probed bool) {
	if !cl.Visual.Started || cl.Status != core.ClusterRunning || !n.PublicIP.IsValid() || cl.Visual.Port == 0 {
		return false, false
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(n.PublicIP, uint16(cl.Visual.Port)).String())
	if err != nil {
		return false, false
	}
	defer conn.Close()
	var c *rfb.ClientConn
	if a.d.EHPCPolicy.VisualAuth() == core.VisualAuthPlain {
		user := cl.Visual.User
		if user == "" {
			user = core.RootUser
		}
		c, err = rfb.LoginPlain(ctx, conn, user, pw.Reveal())
	} else {
		c, err = rfb.Login(ctx, conn, pw.Reveal())
	}
	switch {
	case err == nil:
		c.Close()
		return true, true
	case errors.Is(err, rfb.ErrAuthFailed):
		return false, true
	}
	return false, false
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
