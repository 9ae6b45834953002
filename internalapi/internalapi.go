package internalapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/metrics"
	"github.com/latchkey/latchkey/service"
)

// maxBody bounds a JSON request body; maxFleet bounds a fleet file.
const (
	maxBody  = 64 << 10
	maxFleet = 4 << 20
)

// Timing reads and changes the transition interval of the services at run
// time (service.Timing: in the store, so a change through one replica
// holds on every replica). Services that copy the interval at
// construction cannot offer it; then Deps.Timing is nil and the interval
// is read-only.
type Timing interface {
	Transition(ctx context.Context) (time.Duration, error)
	SetTransition(ctx context.Context, d time.Duration) error
}

// Deps is what the internal API needs. Token, Store and Registry are
// required; a route whose other dependency is missing answers 501 saying
// so.
type Deps struct {
	// Token is the bearer token every request must carry (admin.token).
	Token core.Secret

	// Store is read for health, inspection and the audit log; every
	// change goes through Registry (or Faults, Timing).
	Store core.Store
	// Registry holds the products: fleet files, resets, settling,
	// password checks and account state go through it.
	Registry *service.Registry
	Clock    core.Clock
	Log      *slog.Logger
	// Audit records the internal API's own calls (product "latchkey").
	Audit core.Auditor
	// Metrics, if set, counts the internal API's requests and refused
	// tokens.
	Metrics *metrics.Metrics
	// Version names this build; empty reads the module's build info.
	Version string

	// Root is the data directory's root account and the access key that
	// reset keeps (credentials.json).
	Root core.Principal

	Faults *faults.Injector
	Timing Timing
	// Interval is the transition interval to report when Timing is nil.
	Interval time.Duration
	// EHPCPolicy is the E-HPC password policy in force: the demo fleet's
	// visual password obeys it.
	EHPCPolicy core.EHPCPasswordPolicy

	// Profiling serves Go's runtime profiles at /_latchkey/debug/pprof/
	// (--pprof); off, those routes do not exist.
	Profiling bool

	// CheckBurst and CheckEvery rate-limit password checks per resource:
	// at most CheckBurst at once, then one per CheckEvery. Zero means 20
	// and 3 seconds.
	CheckBurst int
	CheckEvery time.Duration
}

// api is the handler Handler returns.
type api struct {
	d       Deps
	started time.Time
	limiter *limiter
}

// Handler returns the internal API, to be mounted at /_latchkey/ on the
// HTTPS listener. Every answer is JSON; an error is {"error": message,
// "code": code, "field": name} with status 400 (bad input), 401 (missing
// or wrong token), 404 (unknown route or resource), 409 (the state
// forbids it), 429 (too many password checks), 501 (not available in
// this assembly) or 500. No answer and no log line holds a password, a
// secret or the token.
func Handler(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = core.SystemClock{}
	}
	if d.Version == "" {
		d.Version = buildVersion()
	}
	if d.CheckBurst == 0 {
		d.CheckBurst = 20
	}
	if d.CheckEvery == 0 {
		d.CheckEvery = 3 * time.Second
	}
	a := &api{d: d, started: d.Clock.Now(), limiter: newLimiter(d.CheckBurst, d.CheckEvery)}
	mux := http.NewServeMux()
	a.routes(mux)
	var h http.Handler = a.auth(mux)
	if d.Metrics != nil {
		h = d.Metrics.Middleware("latchkey", h)
	}
	return h
}

// routes is the complete list of the internal API's routes.
func (a *api) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_latchkey/health", a.health)
	mux.HandleFunc("GET /_latchkey/version", a.version)
	mux.HandleFunc("POST /_latchkey/reset", a.reset)
	mux.HandleFunc("GET /_latchkey/fleet/demo", a.demoFleet)
	mux.HandleFunc("POST /_latchkey/fleet", a.applyFleet)
	mux.HandleFunc("GET /_latchkey/resources", a.listResources)
	mux.HandleFunc("GET /_latchkey/resources/{ref...}", a.inspect)
	mux.HandleFunc("POST /_latchkey/check-password", a.checkPassword)
	mux.HandleFunc("GET /_latchkey/accounts", a.listAccounts)
	mux.HandleFunc("GET /_latchkey/accounts/{id}", a.getAccount)
	mux.HandleFunc("PATCH /_latchkey/accounts/{id}", a.changeAccount)
	mux.HandleFunc("PUT /_latchkey/accounts/{id}", a.changeAccount)
	mux.HandleFunc("POST /_latchkey/accounts/{id}", a.changeAccount)
	mux.HandleFunc("GET /_latchkey/faults", a.listFaults)
	mux.HandleFunc("POST /_latchkey/faults", a.addFault)
	mux.HandleFunc("DELETE /_latchkey/faults", a.clearFaults)
	mux.HandleFunc("DELETE /_latchkey/faults/{id}", a.removeFault)
	mux.HandleFunc("GET /_latchkey/transitions", a.getTransitions)
	mux.HandleFunc("PUT /_latchkey/transitions", a.setTransitions)
	mux.HandleFunc("POST /_latchkey/transitions/settle", a.settle)
	mux.HandleFunc("GET /_latchkey/audit", a.queryAudit)
	if a.d.Profiling {
		// Go's profiles of the running server (go tool pprof), behind the
		// token like every route here.
		// net/http/pprof expects its paths under /debug/pprof/.
		strip := func(h http.HandlerFunc) http.Handler { return http.StripPrefix("/_latchkey", h) }
		mux.Handle("GET /_latchkey/debug/pprof/", strip(pprof.Index))
		mux.Handle("GET /_latchkey/debug/pprof/cmdline", strip(pprof.Cmdline))
		mux.Handle("GET /_latchkey/debug/pprof/profile", strip(pprof.Profile))
		mux.Handle("GET /_latchkey/debug/pprof/symbol", strip(pprof.Symbol))
		mux.Handle("GET /_latchkey/debug/pprof/trace", strip(pprof.Trace))
	}
	mux.HandleFunc("/_latchkey/", func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, "", newError("NotFound", "", "no such internal API route; see GET /_latchkey/version"))
	})
}

// auth admits requests that carry the bearer token. The comparison runs
// on SHA-256 digests in constant time, so neither the token's content nor
// its length leaks through timing.
func (a *api) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		want := a.d.Token.Reveal()
		gs, ws := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
		if !ok || want == "" || subtle.ConstantTimeCompare(gs[:], ws[:]) != 1 {
			if a.d.Metrics != nil {
				a.d.Metrics.AuthFailure("internal", "bad-token")
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey"`)
			a.fail(w, r, "", newError("Unauthorized", "", "missing or wrong bearer token (DATA_DIR/admin.token)"))
			return
		}
		id := core.RequestID(uuid.NewString())
		w.Header().Set("X-Latchkey-Request-Id", string(id))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// fail writes err as an error answer and tells the metrics middleware.
func (a *api) fail(w http.ResponseWriter, r *http.Request, action string, err error) {
	ae := toAPIError(err)
	if ae.status == http.StatusInternalServerError {
		a.d.Log.Error("internal API call failed", "path", r.URL.Path, "err", err)
	}
	metrics.SetOutcome(r.Context(), "latchkey", action, ae.code)
	writeJSON(w, ae.status, errorBody{Error: ae.msg, Code: ae.code, Field: ae.field})
}

// ok writes v with status and tells the metrics middleware.
func (a *api) ok(w http.ResponseWriter, r *http.Request, action string, status int, v any) {
	metrics.SetOutcome(r.Context(), "latchkey", action, "Success")
	writeJSON(w, status, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		b, status = []byte(`{"error":"internal error","code":"InternalError"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads a JSON body into v, refusing unknown fields. An empty body
// leaves v as it is.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return newError("InvalidBody", "", "request body too large or unreadable")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return newError("InvalidBody", "", "request body is not the expected JSON object: "+jsonProblem(err))
	}
	return nil
}

// jsonProblem describes a decoding error without quoting the input (which
// may hold a password).
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "malformed JSON"
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed JSON"
}

// unavailable is the answer of a route whose dependency this assembly
// lacks.
func unavailable(what string) error {
	return newError("NotAvailable", "", what+" is not available in this server")
}

// adminUser is the audit log's name for the holder of the admin token.
const adminUser core.UserName = "latchkey-admin"

// audit records one internal API call. A failure to record is logged.
func (a *api) audit(ctx context.Context, r *http.Request, action, resource, result, detail string) {
	if a.d.Audit == nil {
		return
	}
	ev := core.AuditEvent{
		Time: a.d.Clock.Now(), RequestID: requestID(r), User: adminUser, SourceIP: sourceIP(r),
		Product: "latchkey", Action: action, Resource: resource, Result: result, Detail: detail,
	}
	if err := a.d.Audit.Record(context.WithoutCancel(ctx), ev); err != nil {
		a.d.Log.Error("audit record failed", "action", action, "err", err)
	}
}

// requestID returns the request's id: one per request, kept in its
// context by the first caller.
func requestID(r *http.Request) core.RequestID {
	if id, ok := r.Context().Value(requestIDKey{}).(core.RequestID); ok {
		return id
	}
	return ""
}

type requestIDKey struct{}

// sourceIP parses the peer address of r.
func sourceIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// buildVersion is the main module's version from the build info.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

type healthBody struct {
	Status  string  `json:"status"`
	Version string  `json:"version"`
	Uptime  float64 `json:"uptime_seconds"`
	Store   string  `json:"store"`
}

// health answers 200 when the store answers a read, 503 otherwise.
func (a *api) health(w http.ResponseWriter, r *http.Request) {
	body := healthBody{Status: "ok", Version: a.d.Version, Uptime: a.d.Clock.Now().Sub(a.started).Seconds(), Store: "ok"}
	status := http.StatusOK
	if err := a.d.Store.View(r.Context(), func(tx core.Tx) error {
		_, err := tx.ListDocs(r.Context(), core.Query{Kind: core.AccountKind, Limit: 1})
		return err
	}); err != nil {
		a.d.Log.Warn("health: store read failed", "err", err)
		body.Status, body.Store, status = "degraded", "unreachable", http.StatusServiceUnavailable
	}
	a.ok(w, r, "Health", status, body)
}

// apiVersions are the API versions each product serves.
var apiVersions = map[string]string{"ecs": "2014-05-26", "ehpc": "2018-04-12", "ram": "2015-05-01", "bcc": "v2"}

type versionBody struct {
	Version string            `json:"version"`
	Go      string            `json:"go"`
	APIs    map[string]string `json:"apis"`
}

func (a *api) version(w http.ResponseWriter, r *http.Request) {
	apis := map[string]string{}
	for _, p := range a.d.Registry.Products() {
		if v, ok := apiVersions[p.Name()]; ok {
			apis[p.Name()] = v
		}
	}
	a.ok(w, r, "Version", http.StatusOK, versionBody{Version: a.d.Version, Go: runtime.Version(), APIs: apis})
}
