package internalapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
)

// recorder is a transport that keeps what a client sent that must stay
// secret: Authorization headers and BCC's encrypted adminPass.
type recorder struct {
	next http.RoundTripper

	mu      sync.Mutex
	secrets []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v := req.Header.Get("Authorization"); v != "" {
		r.secrets = append(r.secrets, v)
	}
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		var body struct {
			AdminPass string `json:"adminPass"`
		}
		if json.Unmarshal(b, &body) == nil && body.AdminPass != "" {
			r.secrets = append(r.secrets, body.AdminPass)
		}
	}
	return r.next.RoundTrip(req)
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.secrets...)
}

// TestSecretHygiene runs the flows of the other tests (fleet files, SDK
// password changes that succeed, fail validation and hit fault rules,
// console logins, password checks, refused signatures and tokens, reset)
// with the server logging at debug level, then looks for every secret in
// the log, the audit log, /metrics and every inspection answer.
func TestSecretHygiene(t *testing.T) {
	e := testenv.Start(t)
	a := newAdmin(t, e)
	secrets := append(fleetSecrets(), e.Credentials.AccessKeySecret, a.token,
		"New123", "Bad12!", "Wrong9", "New2020!", "Sh0rt!", "Visit1", "not-the-secret-key-000")

	res := a.apply(fleetFile)
	web := res.byName(t, "ecs.instance", "web-1").ID
	db := res.byName(t, "bcc.instance", "db-1").ID

	// ECS: a fault, a malformed password, a success, a wrong signature.
	c := e.ECS(t)
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "ecs", "resource": web, "effect": "exec-failure", "count": 1}, nil)
	for _, pw := range []string{"New123", "Bad12!", "New123"} {
		modifyVnc(t, c, web, pw)
	}
	modifyVnc(t, e.ECSWithKey(t, e.Credentials.AccessKeyID, "not-the-secret-key-000"), web, "Wrong9")
	if !a.check(web, "", "New123") || a.check(web, "", "Wrong9") {
		t.Error("web-1's password is not the one set last")
	}

	// A console login, right and wrong.
	for _, pw := range []string{"Wrong9", "New123"} {
		u := ecs.CreateDescribeInstanceVncUrlRequest()
		u.RegionId, u.InstanceId = testenv.Region, web
		vnc, err := c.DescribeInstanceVncUrl(u)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := e.DialConsole(ctx, vnc.VncUrl)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		rfbtest.LoginConn(ctx, conn, pw) // the outcome does not matter, only what the logs show
		cancel()
	}

	// BCC over HTTPS with the requests recorded: a fault, a policy
	// violation, a success.
	rec := &recorder{next: e.HTTPClient().Transport}
	b := e.BCCHTTPS(t)
	b.HTTPClient = &http.Client{Transport: rec}
	a.must(201, "POST", "/_latchkey/faults", map[string]any{"product": "bcc", "resource": db, "effect": "agent-timeout", "count": 1}, nil)
	for _, pw := range []string{"New2020!", "Sh0rt!", "New2020!"} {
		b.ChangeInstancePass(db, &api.ChangeInstancePassArgs{AdminPass: pw})
	}
	if !a.check(db, "guest", "New2020!") {
		t.Error("db-1's guest password is not the one set last")
	}
	secrets = append(secrets, rec.got()...)
	if len(rec.got()) < 6 {
		t.Fatalf("recorded %d request secrets, want the Authorization and adminPass of 3 calls", len(rec.got()))
	}

	// The internal API refusing a wrong token; a check with a wrong
	// password; a reset and a rebuild.
	a.callAuth("GET", "/_latchkey/resources", "Bearer "+strings.ToUpper(a.token), nil, nil)
	a.check(db, "guest", "Visit1")

	// Everything the server shows, before the reset removes resources.
	var shown strings.Builder
	var list resourceList
	shown.WriteString(a.must(200, "GET", "/_latchkey/resources", nil, &list))
	for _, r := range list.Resources {
		shown.WriteString(a.must(200, "GET", "/_latchkey/resources/"+r.Kind+"/"+r.ID, nil, nil))
	}
	a.must(200, "POST", "/_latchkey/reset", `{"fleet":"demo"}`, nil)
	a.apply(fleetFile)
	shown.WriteString(a.must(200, "GET", "/_latchkey/audit", nil, nil))
	resp, err := e.HTTPClient().Get(e.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	places := map[string]string{
		"the log":             e.Logs(),
		"inspection or audit": shown.String(),
		"/metrics":            string(m),
	}
	for where, text := range places {
		for i, s := range secrets {
			if strings.Contains(text, s) {
				// Say which secret by its index only.
				t.Errorf("%s holds secret #%d", where, i)
			}
		}
		for _, marker := range []string{"$argon2", "Authorization: ", "bce-auth-v1/"} {
			if strings.Contains(text, marker) {
				t.Errorf("%s holds %q", where, marker)
			}
		}
	}
	if !strings.Contains(e.Logs(), "level=DEBUG") {
		t.Error("the server did not log at debug level: the test proves nothing")
	}
}
