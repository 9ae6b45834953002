package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/metrics"
)

// scrape returns /metrics as a Prometheus client sees it.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	return rec.Body.String()
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, l) {
			t.Errorf("/metrics lacks %q", l)
		}
	}
}

func TestRecorders(t *testing.T) {
	m := metrics.New()
	m.ObserveRequest("ecs", "ModifyInstanceVncPasswd", "Success", 3*time.Millisecond)
	m.ObserveRequest("ecs", "ModifyInstanceVncPasswd", "InstanceNotReady", time.Millisecond)
	m.ObserveRequest("ecs", "DescribeInstances", "SignatureDoesNotMatch", time.Millisecond)
	m.ObserveRequest("bcc", "ChangeInstancePass", "InvalidAccessKeyId", time.Millisecond)
	m.PasswordChange("ehpc", "Success")
	closed := m.ConsoleConnection("ecs", "opened")
	m.ConsoleConnection("unknown", "refused")
	m.ConsoleLogin("ecs", false)
	m.ConsoleLogin("ecs", true)
	m.FaultInjected("ecs", "unreachable")
	body := scrape(t, m)
	wantLines(t, body,
		`latchkey_requests_total{action="ModifyInstanceVncPasswd",code="Success",product="ecs"} 1`,
		`latchkey_requests_total{action="ModifyInstanceVncPasswd",code="InstanceNotReady",product="ecs"} 1`,
		`latchkey_request_duration_seconds_bucket{action="ModifyInstanceVncPasswd",code="Success",product="ecs",le="0.005"} 1`,
		`latchkey_auth_failures_total{reason="SignatureDoesNotMatch",surface="aliyun"} 1`,
		`latchkey_auth_failures_total{reason="InvalidAccessKeyId",surface="bce"} 1`,
		`latchkey_auth_failures_total{reason="vnc-auth",surface="console"} 1`,
		`latchkey_password_changes_total{product="ehpc",result="Success"} 1`,
		`latchkey_console_connections_total{product="ecs",result="opened"} 1`,
		`latchkey_console_connections_total{product="unknown",result="refused"} 1`,
		`latchkey_console_connections_active{product="ecs"} 1`,
		`latchkey_console_logins_total{product="ecs",result="failure"} 1`,
		`latchkey_faults_injected_total{effect="unreachable",product="ecs"} 1`,
		"go_goroutines",
	)
	closed()
	closed()
	wantLines(t, scrape(t, m), `latchkey_console_connections_active{product="ecs"} 0`)

	// Separate values keep separate counts: no global registry.
	if strings.Contains(scrape(t, metrics.New()), "latchkey_requests_total{") {
		t.Error("a new Metrics shares counts with another")
	}
}

func TestLabelsAreBounded(t *testing.T) {
	m := metrics.New()
	m.ObserveRequest("ecs", "Evil\"} 1\nlatchkey_x", "Success", 0)
	m.ObserveRequest("ecs", "", "Success", 0)
	for i := range 300 {
		m.ObserveRequest("ecs", "Made"+strings.Repeat("x", i%50)+string(rune('A'+i%26))+string(rune('a'+i/26)), "Success", 0)
	}
	body := scrape(t, m)
	wantLines(t, body,
		`latchkey_requests_total{action="unknown",code="Success",product="ecs"} 2`,
		`action="other"`,
	)
	if strings.Contains(body, "latchkey_x") {
		t.Error("a malformed action reached a label")
	}
}

func TestMiddleware(t *testing.T) {
	m := metrics.New()
	h := m.Middleware("aliyun", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("told") != "" {
			metrics.SetOutcome(r.Context(), "ecs", "StopInstance", "IncorrectInstanceStatus")
			w.WriteHeader(403)
			return
		}
		w.WriteHeader(404)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, q := range []string{"?told=1&Action=Ignored", "?Action=DescribeRegions&VncPassword=Secret1"} {
		resp, err := http.Get(srv.URL + "/" + q)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	body := scrape(t, m)
	wantLines(t, body,
		`latchkey_requests_total{action="StopInstance",code="IncorrectInstanceStatus",product="ecs"} 1`,
		`latchkey_requests_total{action="DescribeRegions",code="404",product="aliyun"} 1`,
	)
	if strings.Contains(body, "Secret1") {
		t.Error("a parameter value other than Action reached /metrics")
	}
	// Outside a middleware SetOutcome does nothing.
	metrics.SetOutcome(context.Background(), "ecs", "X", "Y")
}

type fakeECS struct {
	core.ECS
	err error
}

func (f fakeECS) ModifyInstanceVncPasswd(context.Context, core.Caller, core.InstanceRef, core.Secret) error {
	return f.err
}

func TestECSCountsPasswordChanges(t *testing.T) {
	m := metrics.New()
	ctx := context.Background()
	metrics.ECS(fakeECS{}, m).ModifyInstanceVncPasswd(ctx, core.Caller{}, core.InstanceRef{}, core.NewSecret("Abc123"))
	metrics.ECS(fakeECS{err: &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable}}, m).ModifyInstanceVncPasswd(ctx, core.Caller{}, core.InstanceRef{}, core.NewSecret("Abc123"))
	metrics.ECS(fakeECS{err: &core.Error{Kind: core.KindNotFound}}, m).ModifyInstanceVncPasswd(ctx, core.Caller{}, core.InstanceRef{}, core.NewSecret("Abc123"))
	wantLines(t, scrape(t, m),
		`latchkey_password_changes_total{product="ecs",result="Success"} 1`,
		`latchkey_password_changes_total{product="ecs",result="ConsoleUnreachable"} 1`,
		`latchkey_password_changes_total{product="ecs",result="not_found"} 1`,
	)
}
