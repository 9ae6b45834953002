package bce

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/metrics/outcome"
)

// maxBodyBytes bounds a request body; BCC request bodies are small JSON
// documents.
const maxBodyBytes = 1 << 20

// Config is what the BCE front end needs.
type Config struct {
	BCC     core.BCC
	Keyring core.Keyring
	// Auditor records every mutating call; nil records nothing.
	Auditor core.Auditor
	Clock   core.Clock
	// Rand is the source of request ids; nil means crypto/rand.
	Rand io.Reader
	Log  *slog.Logger
	// DefaultRegion is the region of requests whose Host does not name one
	// (--bce-region); empty means bj.
	DefaultRegion core.RegionID
	// ConsoleURL turns a console ticket into the URL GetInstanceVNC
	// returns (the VNC gateway's address is the server's business).
	ConsoleURL func(token string) string
}

// Server serves BCE REST. It is an http.Handler for the /v2/ tree and for
// any other request signed with bce-auth-v1 (IsSigned), which it answers
// in its error envelope.
type Server struct {
	cfg Config
	mux *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// NewServer returns the BCE front end with its routes.
func NewServer(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "bj"
	}
	if cfg.ConsoleURL == nil {
		cfg.ConsoleURL = func(token string) string { return "/vnc/?s=" + token }
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.addRoutes(s.mux)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// call is one authenticated request as a handler sees it.
type call struct {
	caller core.Caller
	region core.RegionID
	// secret is the signing access key's secret: the key of adminPass.
	secret core.Secret
	r      *http.Request
	body   []byte
}

// handler is one operation: it returns the value to render as the 200
// body (nil renders {}) or an error for the error table.
type handler func(ctx context.Context, c *call) (any, error)

// operation describes one route's operation for the adapter.
type operation struct {
	name     string // core.BCC* operation name
	mutating bool   // audited
	handle   handler
}

// serve is the adapter every route goes through: request id, common
// headers, authentication, region, body, the handler, rendering and audit.
func (s *Server) serve(op operation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.cfg.Clock.Now()
		requestID, err := NewRequestID(s.cfg.Rand)
		if err != nil {
			s.cfg.Log.Error("request id source failed", "err", err)
			requestID = "00000000-0000-4000-8000-000000000000"
		}
		c, apiErr := s.authenticate(r, requestID)
		if apiErr != nil {
			writeError(w, requestID, now, apiErr)
			outcome.Set(r.Context(), "bcc", op.name, string(apiErr.Code))
			return
		}
		res, err := op.handle(r.Context(), c)
		if err != nil {
			apiErr = toAPIError(op.name, err)
			if apiErr.HTTPStatus >= 500 {
				s.cfg.Log.Error("BCC operation failed", "op", op.name, "request_id", requestID, "err", err)
			}
			writeError(w, requestID, now, apiErr)
		} else {
			writeResult(w, requestID, now, res)
		}
		if op.mutating {
			s.audit(r.Context(), c, op.name, r.PathValue("instanceId"), apiErr)
		}
		// The metrics middleware, if any, counts the request by operation
		// and code.
		code := "Success"
		if apiErr != nil {
			code = string(apiErr.Code)
		}
		outcome.Set(r.Context(), "bcc", op.name, code)
	})
}

// authenticate verifies the signature and builds the caller. A failure is
// returned rendered.
func (s *Server) authenticate(r *http.Request, requestID string) (*call, *APIError) {
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return nil, authAPIError(err)
	}
	principal, secret, err := s.cfg.Keyring.Lookup(r.Context(), core.AccessKeyID(a.AccessKeyID))
	if err != nil {
		switch core.KindOf(err) {
		case core.KindNotFound, core.KindForbidden: // unknown or inactive
			return nil, authErr(AuthUnknownAccessKey).APIError()
		}
		s.cfg.Log.Error("access key lookup failed", "request_id", requestID, "err", err)
		return nil, NewAPIError(CodeInternalError)
	}
	if err := CheckTime(r, a, s.cfg.Clock.Now()); err != nil {
		return nil, authAPIError(err)
	}
	if err := VerifySignature(r, a, secret.Reveal()); err != nil {
		return nil, authAPIError(err)
	}
	region := regionFromHost(r.Host, s.cfg.DefaultRegion)
	c := &call{
		caller: core.Caller{Principal: principal, Secure: r.TLS != nil, RequestID: core.RequestID(requestID)},
		region: region, secret: secret, r: r,
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.caller.SourceIP = ap.Addr().Unmap()
	}
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil || len(body) > maxBodyBytes {
			return nil, NewAPIError(CodeInvalidHTTPRequest)
		}
		c.body = body
	}
	return c, nil
}

func authAPIError(err error) *APIError {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.APIError()
	}
	return NewAPIError(CodeInvalidHTTPAuthHeader)
}

// regionFromHost returns the region a Baidu service host names
// (bcc.gz.baidubce.com → gz, any port ignored) or def for any other host
// (PRODUCT.md §2). The service refuses a region outside its catalog.
func regionFromHost(host string, def core.RegionID) core.RegionID {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	const prefix, suffix = "bcc.", ".baidubce.com"
	if !strings.HasPrefix(h, prefix) || !strings.HasSuffix(h, suffix) || len(h) <= len(prefix)+len(suffix) {
		return def
	}
	region := h[len(prefix) : len(h)-len(suffix)]
	for i := 0; i < len(region); i++ {
		if c := region[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return def
		}
	}
	return core.RegionID(region)
}

func (s *Server) audit(ctx context.Context, c *call, op, resource string, apiErr *APIError) {
	if s.cfg.Auditor == nil || c == nil {
		return
	}
	result := "Success"
	if apiErr != nil {
		result = string(apiErr.Code)
	}
	ev := core.AuditEvent{
		Time: s.cfg.Clock.Now(), RequestID: c.caller.RequestID, AccountID: c.caller.AccountID,
		User: c.caller.User, AccessKeyID: c.caller.AccessKeyID, SourceIP: c.caller.SourceIP,
		Product: "bcc", Action: op, Resource: resource, Result: result,
	}
	if err := s.cfg.Auditor.Record(context.WithoutCancel(ctx), ev); err != nil {
		s.cfg.Log.Error("audit record failed", "op", op, "request_id", c.caller.RequestID, "err", err)
	}
}

// decodeBody decodes the JSON request body into v. An empty body decodes
// as {}. Malformed JSON gives MalformedJSON; well-formed JSON of the wrong
// shape (a string where a number belongs) gives InappropriateJSON.
// Unknown fields are ignored, as Baidu's API rules require.
func decodeBody(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "" {
			return NewAPIError(CodeInappropriateJSON) // the body itself is not an object
		}
		if errors.As(err, &typeErr) {
			return Errorf(CodeInappropriateJSON, "The JSON you provided was well-formed and valid, but not appropriate for this operation: field %s has the wrong type.", typeErr.Field)
		}
		return NewAPIError(CodeMalformedJSON)
	}
	return nil
}
