package aliyun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/metrics/outcome"
)

// timestampWindow is how far a request's Timestamp (V1) or x-acs-date (V3)
// may be from the server's clock, either way (reference §4.3).
const timestampWindow = 15 * time.Minute

// nonceMemory is how long a nonce stays used: the whole acceptance window
// on both sides of the server's clock, so a request cannot be replayed
// while its timestamp is still accepted.
const nonceMemory = 2 * timestampWindow

// maxNonce bounds a SignatureNonce (x-acs-signature-nonce): the official
// SDKs send a UUID or 32 hex digits, and every nonce is stored for
// nonceMemory.
const maxNonce = 64

// maxBody bounds a request body; RPC bodies are small forms.
const maxBody = 1 << 20

// Deps is what the RPC front end needs. Keys is required; each product's
// service enables that product; the rest have defaults. Adding a product
// (E-HPC 2018-04-12, RAM 2015-05-01) adds its service here.
type Deps struct {
	// Keys resolves the access key of each request.
	Keys core.Keyring
	// ECS serves Version 2014-05-26. Nil leaves ECS out of the dispatch
	// map (its actions answer InvalidVersion).
	ECS core.ECS
	// EHPC serves Version 2018-04-12 and RAM Version 2015-05-01 (and,
	// with RAM, STS 2015-04-01); nil leaves them out of the dispatch map,
	// like ECS.
	EHPC core.EHPC
	RAM  core.RAM
	// Audit records every mutating call after its outcome is known. Nil
	// disables auditing.
	Audit core.Auditor
	// Clock is the time source of the timestamp window and the nonce
	// memory. Nil is the system clock.
	Clock core.Clock
	// Log receives one debug record per request (never a parameter value,
	// a secret or the Authorization header) and the causes of internal
	// errors. Nil discards.
	Log *slog.Logger
	// ConsoleURL turns a console token into the wss:// URL of latchkey's
	// VNC gateway; DescribeInstanceVncUrl percent-encodes the result. Nil
	// builds "wss://HOST/vnc/?s=TOKEN" from the request's Host ("ws://" when
	// the request came over plain HTTP).
	ConsoleURL func(token string) string
	// NewRequestID returns the RequestId of each request. Nil makes
	// random upper-case UUIDs.
	NewRequestID func() core.RequestID
	// Nonces records the signature nonces of accepted requests
	// (required): in the store, so that a replay is refused by every
	// replica and after a restart.
	Nonces core.Nonces
}

// NewHandler returns the Alibaba RPC front end, to be mounted at path "/"
// on both listeners. It answers every request itself (errors included) and
// never panics on client input.
func NewHandler(d Deps) http.Handler {
	if d.Clock == nil {
		d.Clock = core.SystemClock{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.NewRequestID == nil {
		d.NewRequestID = func() core.RequestID { return core.RequestID(strings.ToUpper(uuid.NewString())) }
	}
	s := &server{d: d, versions: make(map[string]*product)}
	for _, p := range s.products() {
		if p.enabled {
			s.versions[p.version] = p
		}
	}
	return s
}

// products lists the APIs this front end knows. Adding a product is one
// line here and a file that builds its product value (its dispatch map
// and error mapping), like ecs.go.
func (s *server) products() []*product {
	return []*product{s.ecsProduct(), s.ehpcProduct(), s.ramProduct(), s.stsProduct()}
}

// product is one API version: its dispatch map from Action to handler and
// the mapping of core errors to its error codes.
type product struct {
	name     string // audit product and RAM service code: "ecs"
	code     string // the product code in Recommend links: "Ecs"
	version  string // "2014-05-26"
	actions  map[string]action
	mapError func(*core.Error) *apiError // nil: ecsError
	enabled  bool                        // its service is present in Deps
}

// action is one implemented RPC action.
type action struct {
	// handle does the work. It returns the response value (a struct that
	// embeds responseMeta, or nil for a bare {"RequestId"}) or an error.
	handle func(ctx context.Context, r *Request) (any, error)
	// mutating actions are audited.
	mutating bool
	// nonceInChange actions record the request's nonce in the Update of
	// their change (core.NonceIntent): their service calls core.UseNonce
	// first in it, before anything with an effect.
	nonceInChange bool
	// resource names what the call addressed, for the audit record; resp
	// is the handler's value, nil when it failed. Nil means InstanceId.
	resource func(r *Request, resp any) string
}

// Request is one authenticated call as a handler sees it.
type Request struct {
	Action  string
	Version string
	// Params are the API parameters: query ∪ form body without the
	// gateway's common parameters (AccessKeyId, Signature…).
	Params map[string]string
	// Caller is who called, from where, and the RequestId.
	Caller core.Caller
	// Host is the Host header the client addressed.
	Host string
}

// responseMeta is embedded first in every response struct; the adapter
// sets the RequestId.
type responseMeta struct {
	RequestId string `json:"RequestId" xml:"RequestId"`
}

func (m *responseMeta) setRequestID(id string) { m.RequestId = id }

type requestIDSetter interface{ setRequestID(string) }

// The answer formats a V1 request may ask for with Format.
const (
	formatJSON = "JSON"
	formatXML  = "XML"
)

// signedRequest is what a signature scheme extracted from a request.
type signedRequest struct {
	scheme        string // "v1" or "v3"
	accessKeyID   core.AccessKeyID
	action        string
	version       string
	format        string // formatJSON or formatXML
	timestamp     string
	nonce         string
	securityToken bool // a security token was presented
	params        map[string]string
	stringToSign  string
	// echo reports whether stringToSign may appear in an error message:
	// false when it would show a password in clear (a V1 request that
	// carries one). SDKv1 then cannot tell a wrong secret from an SDK bug
	// by itself; the price of never echoing a password.
	echo   bool
	verify func(core.Secret) bool
}

// server is the http.Handler NewHandler returns.
type server struct {
	d        Deps
	versions map[string]*product
}

// call is the state of one request as it moves through ServeHTTP.
type call struct {
	requestID core.RequestID
	host      string
	scheme    string // "v1" or "v3" once parsed
	format    string
	product   *product
	action    string
	req       *Request
	// intent is the call's audit event, handed to the service to store
	// with the change (core.AuditIntent); nil when the call is not
	// audited that way.
	intent *core.AuditIntent
}

// ServeHTTP answers one RPC request. The checks run in the order of
// shared/reference/alibaba-rpc.md §4.2:
//
//  1. path "/" (InvalidAction.NotFound), GET or POST (UnsupportedHTTPMethod),
//     body size, a parameter repeated within the query or within the form
//     body (InvalidParameter); then the
//     signature scheme's own parsing: Signature/Authorization present
//     (IncompleteSignature), common parameters present and well formed
//     (MissingParameter, InvalidSignatureMethod, InvalidParameter.Format);
//  2. Version known (InvalidVersion), Action known (InvalidAction.NotFound);
//  3. the access key exists (InvalidAccessKeyId.NotFound) and is active
//     (InvalidAccessKeyId.Inactive);
//  4. the timestamp parses (InvalidTimeStamp.Format) and lies within ±15
//     minutes (InvalidTimeStamp.Expired);
//  5. the signature matches (SignatureDoesNotMatch);
//  6. the nonce is at most maxNonce characters (InvalidParameter: the
//     official SDKs send 32–36) and fresh (SignatureNonceUsed); only now is
//     it recorded, in the store (ServiceUnavailable if that fails). An
//     action marked nonceInChange records it in the Update of its change
//     instead, first, so a replay is refused before anything happens; when
//     the call makes no change the nonce is recorded after it, and a replay
//     is then answered SignatureNonceUsed whatever the call answered;
//  7. no security token (InvalidSecurityToken.Malformed: latchkey issues
//     none);
//  8. the handler reads its parameters' syntax (InvalidParameter for an
//     integer, boolean or JSON list that is not one), then its service
//     authorizes (Forbidden.RAM), checks presence and values
//     (MissingParameter and the product's own codes) and acts.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{requestID: s.d.NewRequestID(), host: r.Host, format: formatJSON}
	value, err := s.serve(r, c)
	var ae *apiError
	if err != nil {
		ae = errorFor(c.product, err)
	}
	status := s.write(w, c, value, ae)
	result := "Success"
	if ae != nil {
		result, _, _ = ae.row()
		if ae.cause != nil {
			s.d.Log.Error("rpc request failed", "request_id", c.requestID, "action", c.action, "err", ae.cause)
		}
	}
	s.audit(r.Context(), c, value, result)
	s.reportOutcome(r.Context(), c, result)
	if s.d.Log.Enabled(r.Context(), slog.LevelDebug) {
		s.d.Log.Debug("rpc", "request_id", c.requestID, "method", r.Method, "scheme", c.scheme, "action", c.action,
			"status", status, "result", result, "duration", time.Since(start))
	}
}

// reportOutcome tells the metrics middleware (if any) the product,
// action and result code; an action this front end does not implement is
// reported as none, since its name came from the client.
func (s *server) reportOutcome(ctx context.Context, c *call, result string) {
	var product, action string
	if c.product != nil {
		product = c.product.name
		if _, ok := c.product.actions[c.action]; ok {
			action = c.action
		}
	}
	outcome.Set(ctx, product, action, result)
}

// serve authenticates the request and runs its handler.
func (s *server) serve(r *http.Request, c *call) (value any, err error) {
	defer func() {
		if p := recover(); p != nil {
			value, err = nil, &apiError{code: errInternal, cause: fmt.Errorf("panic: %v", p)}
		}
	}()
	sr, act, aerr := s.authenticate(r, c)
	if aerr != nil {
		return nil, aerr
	}
	principal, secret, err := s.d.Keys.Lookup(r.Context(), sr.accessKeyID)
	switch core.KindOf(err) {
	case core.KindNotFound:
		return nil, newAPIError(errAccessKeyNotFound)
	case core.KindForbidden:
		return nil, newAPIError(errAccessKeyInactive)
	}
	if err != nil {
		return nil, &apiError{code: errInternal, cause: err}
	}
	now := s.d.Clock.Now()
	ts, perr := time.Parse(time.RFC3339, sr.timestamp)
	if perr != nil {
		return nil, newAPIError(errTimestampFormat)
	}
	if d := now.Sub(ts); d > timestampWindow || d < -timestampWindow {
		return nil, newAPIError(errTimestampExpired)
	}
	if !sr.verify(secret) {
		return nil, signatureError(errSignatureDoesNotMatch, sr)
	}
	if len(sr.nonce) > maxNonce {
		return nil, invalidParam(pSignatureNonce)
	}
	var nonce *core.NonceIntent
	if act.nonceInChange && !sr.securityToken {
		// The service records the nonce in the Update of the change.
		nonce = &core.NonceIntent{Nonces: s.d.Nonces, AccessKeyID: sr.accessKeyID, Nonce: sr.nonce, Now: now, Expires: now.Add(nonceMemory)}
	} else if aerr := s.useNonce(r.Context(), sr.accessKeyID, sr.nonce, now, false); aerr != nil {
		return nil, aerr
	}
	if sr.securityToken {
		return nil, newAPIError(errSecurityTokenMalformed)
	}
	c.req = &Request{
		Action:  sr.action,
		Version: sr.version,
		Params:  sr.params,
		Caller: core.Caller{
			Principal: principal,
			SourceIP:  sourceIP(r.RemoteAddr),
			Secure:    r.TLS != nil,
			RequestID: c.requestID,
		},
		Host: r.Host,
	}
	ctx := r.Context()
	if act.mutating && act.resource == nil && s.d.Audit != nil {
		// The event is known before the call: the service stores it with
		// the change. (A creation's resource is known only after it.)
		c.intent = &core.AuditIntent{Event: s.auditEvent(c, c.req.Params["InstanceId"], "")}
		ctx = core.WithAuditIntent(ctx, c.intent)
	}
	if nonce == nil {
		return act.handle(ctx, c.req)
	}
	value, err = act.handle(core.WithNonceIntent(ctx, nonce), c.req)
	if err == nil && nonce.Recorded() {
		return value, nil
	}
	if !nonce.Replayed() {
		// The call ended before its change's Update committed, or made
		// no change: the nonce is recorded now, before the answer.
		aerr := s.useNonce(r.Context(), sr.accessKeyID, sr.nonce, now, nonce.Recorded())
		if aerr == nil {
			return value, err
		}
		if aerr.code != errSignatureNonceUsed {
			return nil, aerr
		}
	}
	// A replay reached nothing: it is not audited, like one refused before the call.
	c.req, c.intent = nil, nil
	return nil, newAPIError(errSignatureNonceUsed)
}

// useNonce records the nonce of a request (Nonces.Use). A nonce already
// recorded is SignatureNonceUsed, unless tried: the call's own Update
// recorded it and may have committed.
func (s *server) useNonce(ctx context.Context, key core.AccessKeyID, nonce string, now time.Time, tried bool) *apiError {
	fresh, err := s.d.Nonces.Use(ctx, key, nonce, now, now.Add(nonceMemory))
	switch {
	case err != nil:
		return &apiError{code: errServiceUnavailable, cause: err}
	case !fresh && !tried:
		return newAPIError(errSignatureNonceUsed)
	}
	return nil
}

// authenticate runs checks 1 and 2: it parses the request with the
// scheme its Authorization header selects and finds the action.
func (s *server) authenticate(r *http.Request, c *call) (*signedRequest, action, *apiError) {
	if r.URL.Path != "/" {
		return nil, action{}, newAPIError(errInvalidAction)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, action{}, newAPIError(errUnsupportedHTTPMethod)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, action{}, invalidParam("body")
	}
	if len(body) > maxBody {
		return nil, action{}, newAPIError(errRequestTooLarge)
	}
	query, params, aerr := requestParams(r, body)
	if aerr != nil {
		return nil, action{}, aerr
	}
	var sr *signedRequest
	if strings.HasPrefix(r.Header.Get("Authorization"), v3AlgorithmPrefix) {
		sr, aerr = parseV3(r, query, params, body)
	} else {
		sr, aerr = parseV1(r.Method, params)
	}
	if sr != nil {
		c.format, c.scheme = sr.format, sr.scheme
	}
	if aerr != nil {
		return nil, action{}, aerr
	}
	c.action = sr.action
	p, ok := s.versions[sr.version]
	if !ok {
		return nil, action{}, newAPIError(errInvalidVersion)
	}
	c.product = p
	act, ok := p.actions[sr.action]
	if !ok {
		return nil, action{}, newAPIError(errInvalidAction)
	}
	return sr, act, nil
}

// requestParams decodes the URL query and, for a form body, the body. It
// returns the query alone (V3 signs only it) and the union (V1 signs it;
// handlers read it). The union is built as the official signers build the
// map they sign (SDKv1 sdk/auth/rpc_signature_composer.go,
// buildRpcStringToSign): the query's parameters, then the form's, so a
// name in both counts once with the form's value. SDKv1 sends RegionId in
// the query of every request, also when a CommonRequest puts it in
// FormParams. A name repeated within the query or within the form is
// refused rather than guessed at: no official client sends one. Neither
// does any send a parameter without a name ("=x"); the gateway's rules
// name no error for one, so it is the bare InvalidParameter.
func requestParams(r *http.Request, body []byte) (query, params map[string]string, _ *apiError) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, nil, newAPIError(errInvalidParameterBare)
	}
	query = make(map[string]string, len(q))
	for k, vs := range q {
		if k == "" {
			return nil, nil, newAPIError(errInvalidParameterBare)
		}
		if len(vs) > 1 {
			return nil, nil, invalidParam(k)
		}
		query[k] = vs[0]
	}
	params = query
	if len(body) > 0 && isForm(r.Header.Get("Content-Type")) {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, nil, newAPIError(errInvalidParameterBare)
		}
		params = make(map[string]string, len(query)+len(f))
		for k, v := range query {
			params[k] = v
		}
		for k, vs := range f {
			if k == "" {
				return nil, nil, newAPIError(errInvalidParameterBare)
			}
			if len(vs) > 1 {
				return nil, nil, invalidParam(k)
			}
			params[k] = vs[0]
		}
	}
	return query, params, nil
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// sourceIP parses the peer address of r.RemoteAddr; an address that does
// not parse gives the zero Addr (which matches no IpAddress condition).
func sourceIP(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// audit records a mutating call that reached its handler. Failures to
// record are logged: the call's outcome is already decided.
func (s *server) audit(ctx context.Context, c *call, value any, result string) {
	if s.d.Audit == nil || c.req == nil || c.product == nil {
		return
	}
	act := c.product.actions[c.action]
	if !act.mutating {
		return
	}
	if result == "Success" && c.intent != nil && c.intent.Appended() {
		return // stored with the change
	}
	resource := c.req.Params["InstanceId"]
	if act.resource != nil {
		resource = act.resource(c.req, value)
	}
	if err := s.d.Audit.Record(context.WithoutCancel(ctx), s.auditEvent(c, resource, result)); err != nil {
		s.d.Log.Error("audit record failed", "request_id", c.requestID, "action", c.action, "err", err)
	}
}

// auditEvent is the audit event of call c on resource with result.
func (s *server) auditEvent(c *call, resource, result string) core.AuditEvent {
	return core.AuditEvent{
		Time:        s.d.Clock.Now(),
		RequestID:   c.requestID,
		AccountID:   c.req.Caller.AccountID,
		User:        c.req.Caller.User,
		AccessKeyID: c.req.Caller.AccessKeyID,
		SourceIP:    c.req.Caller.SourceIP,
		Product:     c.product.name,
		Action:      c.action,
		Resource:    resource,
		Result:      result,
	}
}

// ImplementedAction is one entry of a dispatch map.
type ImplementedAction struct {
	Product string // the product code, e.g. "Ecs"
	Version string
	Action  string
}

// Actions lists every implemented (Version, Action) pair, sorted: the
// dispatch maps are the list of what latchkey implements, and COVERAGE.md
// is generated from this.
func Actions() []ImplementedAction {
	s := &server{}
	var out []ImplementedAction
	for _, p := range s.products() {
		for a := range p.actions {
			out = append(out, ImplementedAction{Product: p.code, Version: p.version, Action: a})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Version != out[j].Version {
			return out[i].Version < out[j].Version
		}
		return out[i].Action < out[j].Action
	})
	return out
}
