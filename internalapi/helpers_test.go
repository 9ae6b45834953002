package internalapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	sdkbce "github.com/baidubce/bce-sdk-go/bce"

	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/server"
)

// admin talks to a running server's internal API with its admin token,
// over HTTPS with latchkey's CA trusted, as the latchkey subcommands do.
type admin struct {
	t     *testing.T
	e     *testenv.Env
	token string
	c     *http.Client
}

func newAdmin(t *testing.T, e *testenv.Env) *admin {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.DataDir, server.AdminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	a := &admin{t: t, e: e, token: strings.TrimSpace(string(b)), c: e.HTTPClient()}
	// Every test that drives the internal API ends with its server's
	// debug log searched for the secrets the tests use.
	t.Cleanup(func() {
		logs := e.Logs()
		for i, s := range append(testSecrets(), a.token, e.Credentials.AccessKeySecret) {
			if strings.Contains(logs, s) {
				t.Errorf("the server's log holds secret #%d", i)
			}
		}
	})
	return a
}

// testSecrets are the passwords and secrets this package's tests set or
// try; none may reach a log.
func testSecrets() []string {
	return append(fleetSecrets(), "Old123", "New123", "Bys123", "All123", "Lat123", "Old2020!", "New2020!",
		"Vis123", "Par123", "Dbt123", "Root#Pass1", "Cli123", "Zzz999", "Wrong1", "a-wrong-secret-00000000", "Demo-Root-2024", "Alice-Pass-1")
}

// call sends body (a string or []byte as is, anything else as JSON) with
// the token and decodes the answer into out (when not nil). It returns
// the status and the raw answer.
func (a *admin) call(method, path string, body any, out any) (int, string) {
	a.t.Helper()
	return a.callAuth(method, path, "Bearer "+a.token, body, out)
}

func (a *admin) callAuth(method, path, auth string, body any, out any) (int, string) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.e.URL(path), rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: answer is not JSON: %v", method, path, err)
		}
	}
	return resp.StatusCode, string(raw)
}

// must is call that fails the test on a status other than want.
func (a *admin) must(want int, method, path string, body any, out any) string {
	a.t.Helper()
	status, raw := a.call(method, path, body, out)
	if status != want {
		a.t.Fatalf("%s %s = %d, want %d: %s", method, path, status, want, raw)
	}
	return raw
}

// apply applies a fleet file, which must succeed, and returns what the
// apply reports.
func (a *admin) apply(file string) applyResult {
	a.t.Helper()
	var res applyResult
	a.must(200, "POST", "/_latchkey/fleet", file, &res)
	return res
}

type applied struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	ID      string   `json:"id"`
	Account string   `json:"account"`
	Action  string   `json:"action"`
	Changes []string `json:"changes"`
}

type applyResult struct {
	Changed   bool      `json:"changed"`
	Resources []applied `json:"resources"`
}

// byName returns the applied resource of that kind and name.
func (r applyResult) byName(t *testing.T, kind, name string) applied {
	t.Helper()
	for _, x := range r.Resources {
		if x.Kind == kind && x.Name == name {
			return x
		}
	}
	t.Fatalf("the apply reported no %s %s: %+v", kind, name, r.Resources)
	return applied{}
}

type match struct {
	Match bool `json:"match"`
}

// check asks whether pw is the password of resource (target may be "").
func (a *admin) check(resource, target, pw string) bool {
	a.t.Helper()
	var m match
	a.must(200, "POST", "/_latchkey/check-password", map[string]string{"resource": resource, "target": target, "password": pw}, &m)
	return m.Match
}

// serverError returns the provider error of an SDKv1 call what, nil on
// success. Any other error fails the test.
func serverError(t *testing.T, what string, err error) *sdkerrors.ServerError {
	t.Helper()
	if err == nil {
		return nil
	}
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("%s: not a server error: %T", what, err)
	}
	return se
}

// ecsCode returns an SDKv1 call's provider error code and status ("" and
// 200 on success).
func ecsCode(t *testing.T, what string, err error) (string, int) {
	t.Helper()
	se := serverError(t, what, err)
	if se == nil {
		return "", 200
	}
	return se.ErrorCode(), se.HttpStatus()
}

// bccCode returns a bce-sdk-go call's error code and status.
func bccCode(t *testing.T, what string, err error) (string, int) {
	t.Helper()
	if err == nil {
		return "", 200
	}
	var se *sdkbce.BceServiceError
	if !errors.As(err, &se) {
		t.Fatalf("%s: not a service error: %T", what, err)
	}
	return se.Code, se.StatusCode
}
