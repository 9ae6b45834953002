package internalapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// fakeBCC answers CheckAdminPassword for one instance and one password.
type fakeBCC struct {
	core.BCC
	id, pw string
}

func (f fakeBCC) CheckAdminPassword(_ context.Context, account core.AccountID, id core.BCCInstanceID, pw core.Secret) (bool, error) {
	if account != "" {
		return false, &core.Error{Kind: core.KindInternal, Message: "the internal API checks across accounts"}
	}
	if string(id) != f.id {
		return false, &core.Error{Kind: core.KindNotFound}
	}
	return pw.Reveal() == f.pw, nil
}

func TestCheckPassword(t *testing.T) {
	const token = "0123456789abcdef"
	h := Handler(Deps{Token: core.NewSecret(token), BCC: fakeBCC{id: "i-abcdefgh", pw: "Passw0rd!"}})
	do := func(auth, body string) (int, map[string]any, string) {
		r := httptest.NewRequest(http.MethodPost, "/_latchkey/check-password", strings.NewReader(body))
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out, w.Body.String()
	}
	for _, tc := range []struct {
		name, auth, body string
		status           int
		match            any
	}{
		{"right password", "Bearer " + token, `{"product":"bcc","instanceId":"i-abcdefgh","target":"guest","password":"Passw0rd!"}`, 200, true},
		{"target defaults to guest", "Bearer " + token, `{"product":"bcc","instanceId":"i-abcdefgh","password":"Passw0rd!"}`, 200, true},
		{"wrong password", "Bearer " + token, `{"product":"bcc","instanceId":"i-abcdefgh","password":"Passw0rd?"}`, 200, false},
		{"unknown instance", "Bearer " + token, `{"product":"bcc","instanceId":"i-zzzzzzzz","password":"Passw0rd!"}`, 404, nil},
		{"no instance", "Bearer " + token, `{"product":"bcc","password":"Passw0rd!"}`, 400, nil},
		{"other product", "Bearer " + token, `{"product":"ecs","instanceId":"i-abcdefgh","password":"Passw0rd!"}`, 400, nil},
		{"not JSON", "Bearer " + token, `password=Passw0rd!`, 400, nil},
		{"no token", "", `{"product":"bcc","instanceId":"i-abcdefgh","password":"Passw0rd!"}`, 401, nil},
		{"wrong token", "Bearer 0123456789abcdeX", `{"product":"bcc","instanceId":"i-abcdefgh","password":"Passw0rd!"}`, 401, nil},
		{"basic auth", "Basic " + token, `{"product":"bcc","instanceId":"i-abcdefgh","password":"Passw0rd!"}`, 401, nil},
	} {
		status, out, raw := do(tc.auth, tc.body)
		if status != tc.status || out["match"] != tc.match {
			t.Errorf("%s: %d match=%v, want %d match=%v", tc.name, status, out["match"], tc.status, tc.match)
		}
		if strings.Contains(raw, "Passw0rd") || strings.Contains(raw, token) {
			t.Errorf("%s: the answer repeats a secret", tc.name)
		}
	}
	// Unknown routes need the token too, then are 404.
	r := httptest.NewRequest(http.MethodGet, "/_latchkey/nothing", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 401 {
		t.Errorf("unknown route without token: %d", w.Code)
	}
	r.Header.Set("Authorization", "Bearer "+token)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 404 {
		t.Errorf("unknown route: %d", w.Code)
	}
}
