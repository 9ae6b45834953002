package agent

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Handler returns the agent's HTTP API (see api.go). Every route but
// /healthz checks the bearer token first, so that a caller without it
// learns nothing, not even which routes exist.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /v1/nodes/{node}", a.api(func(r *http.Request) (any, error) {
		return a.Status(r.PathValue("node"))
	}))
	mux.Handle("PUT /v1/nodes/{node}/service", a.api(func(r *http.Request) (any, error) {
		var req StartRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return a.Start(r.Context(), r.PathValue("node"), req)
	}))
	mux.Handle("DELETE /v1/nodes/{node}/service", a.api(func(r *http.Request) (any, error) {
		return a.Stop(r.Context(), r.PathValue("node"))
	}))
	mux.Handle("PUT /v1/nodes/{node}/password", a.api(func(r *http.Request) (any, error) {
		var req PasswordRequest
		if err := decode(r, &req); err != nil {
			return nil, err
		}
		return a.SetPassword(r.Context(), r.PathValue("node"), req)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		render(w, http.StatusNotFound, ErrorBody{Code: CodeNotFound, Message: "no such route"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey-agent"`)
			render(w, http.StatusUnauthorized, ErrorBody{Code: CodeUnauthorized, Message: "a valid bearer token is required"})
			a.cfg.Log.Warn("request refused: no valid token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// authorized compares the bearer token with the agent's in constant time
// (their SHA-256 digests, so that not even the length leaks).
func (a *Agent) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], a.token[:]) == 1
}

// api adapts an operation to HTTP: it renders the result or the error and
// logs the call (method, path, status, duration; never a body).
func (a *Agent) api(h func(*http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		v, err := h(r)
		status := http.StatusOK
		if err != nil {
			var body ErrorBody
			status, body = a.errorBody(err)
			v = body
		}
		render(w, status, v)
		level := a.cfg.Log.Info
		if status >= 500 {
			level = a.cfg.Log.Error
		}
		args := []any{"method", r.Method, "path", r.URL.Path, "status", status, "took", time.Since(began).Round(time.Millisecond)}
		if err != nil {
			args = append(args, "err", err)
		}
		level("request", args...)
	})
}

// errorBody maps an operation's error to its status and body.
func (a *Agent) errorBody(err error) (int, ErrorBody) {
	var re *requestError
	var ee *execError
	switch {
	case errors.As(err, &re):
		return http.StatusBadRequest, ErrorBody{Code: CodeBadRequest, Message: re.msg}
	case errors.As(err, &ee):
		return http.StatusInternalServerError, ErrorBody{Code: CodeExecFailed, Command: ee.Command, Message: ee.Detail}
	case errors.Is(err, errClosed):
		return http.StatusServiceUnavailable, ErrorBody{Code: CodeUnavailable, Message: errClosed.Error()}
	}
	return http.StatusInternalServerError, ErrorBody{Code: CodeInternal, Message: "internal error; see the agent's log"}
}

// decode reads a JSON body into v, refusing unknown fields. Its errors
// never quote the body, which holds a password.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("malformed JSON body")
	}
	return nil
}

func render(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
