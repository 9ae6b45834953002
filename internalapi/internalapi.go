package internalapi

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Deps is what the internal API needs.
type Deps struct {
	// Token is the bearer token every request must carry.
	Token core.Secret
	// BCC answers guest password checks of BCC instances.
	BCC core.BCC
	Log *slog.Logger
}

// Handler returns the internal API. Routes:
//
//	POST /_latchkey/check-password   {"product","instanceId","target","password"} → {"match"}
//
// Every answer is JSON; errors are {"error": "<text>"} with 400 (bad
// input), 401 (missing or wrong token), 404 (unknown route or resource) or
// 500. No answer and no log line contains a password or the token.
func Handler(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /_latchkey/check-password", d.auth(d.checkPassword))
	mux.Handle("/_latchkey/", d.auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{"no such internal API route"})
	}))
	return mux
}

type errorBody struct {
	Error string `json:"error"`
}

// auth admits requests that carry the bearer token, compared in constant
// time.
func (d Deps) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		want := d.Token.Reveal()
		if !ok || want == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{"missing or wrong bearer token (DATA_DIR/admin.token)"})
			return
		}
		next(w, r)
	})
}

// checkRequest asks whether Password is the live password of a target.
// Target "guest" is the instance's administrator account.
type checkRequest struct {
	Product    string `json:"product"`
	InstanceID string `json:"instanceId"`
	Target     string `json:"target"`
	Password   string `json:"password"`
}

type checkResponse struct {
	Match bool `json:"match"`
}

func (d Deps) checkPassword(w http.ResponseWriter, r *http.Request) {
	var req checkRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		writeJSON(w, http.StatusBadRequest, errorBody{"request body too large or unreadable"})
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{"request body is not the expected JSON object"})
		return
	}
	pw := core.NewSecret(req.Password)
	req.Password = ""
	if req.Target == "" {
		req.Target = "guest"
	}
	if req.Product != "bcc" || req.Target != "guest" {
		writeJSON(w, http.StatusBadRequest, errorBody{`supported: product "bcc" with target "guest"`})
		return
	}
	if req.InstanceID == "" {
		writeJSON(w, http.StatusBadRequest, errorBody{"instanceId is required"})
		return
	}
	match, err := d.BCC.CheckAdminPassword(r.Context(), "", core.BCCInstanceID(req.InstanceID), pw)
	switch {
	case core.KindOf(err) == core.KindNotFound:
		writeJSON(w, http.StatusNotFound, errorBody{"no BCC instance " + req.InstanceID})
	case err != nil:
		d.Log.Error("password check failed", "instance", req.InstanceID, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{"password check failed"})
	default:
		writeJSON(w, http.StatusOK, checkResponse{Match: match})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":"internal error"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
