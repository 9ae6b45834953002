package gateway_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// appTransport delivers an SDK's requests to the App in-process.
type appTransport struct{ app *server.App }

func (t appTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.app.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// panicWatch is a log sink that remembers whether a record mentioned a
// panic; a fuzzing run logs too much to keep.
type panicWatch struct{ panicked atomic.Bool }

func (p *panicWatch) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("panic")) {
		p.panicked.Store(true)
	}
	return len(b), nil
}

// FuzzTicket sends arbitrary queries to the console gateway of a whole
// latchkey (the demo fleet, in-process, logging warnings and errors),
// seeded with the console tickets DescribeInstanceVncUrl issued to the
// official ECS SDK. An answer is never a 5xx, never shows a panic, and a
// refusal is the gateway's one 403 text.
func FuzzTicket(f *testing.F) {
	testutil.NoProxy(f)
	log := &panicWatch{}
	cfg := server.Defaults()
	cfg.DataDir = filepath.Join(f.TempDir(), "data")
	cfg.Demo, cfg.Transition = true, 0
	cfg.EHPCLoginAddresses = testutil.LoopbackPrefix()
	cfg.Endpoints = server.Endpoints{HTTPS: "127.0.0.1:8443"}
	cfg.Log = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := server.New(context.Background(), cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { app.Close() })

	sdkCfg := sdk.NewConfig()
	sdkCfg.Transport = appTransport{app}
	sdkCfg.AutoRetry = false
	client, err := ecs.NewClientWithOptions("cn-hangzhou", sdkCfg,
		credentials.NewAccessKeyCredential(string(app.Root.AccessKeyID), app.Root.Secret.Reveal()))
	if err != nil {
		f.Fatal(err)
	}
	client.Domain = "ecs.example"
	list, err := client.DescribeInstances(ecs.CreateDescribeInstancesRequest())
	if err != nil {
		f.Fatal(err)
	}
	for _, inst := range list.Instances.Instance {
		req := ecs.CreateDescribeInstanceVncUrlRequest()
		req.InstanceId = inst.InstanceId
		resp, err := client.DescribeInstanceVncUrl(req)
		if err != nil {
			continue // a stopped instance has no console
		}
		plain, err := url.QueryUnescape(resp.VncUrl)
		if err != nil {
			f.Fatal(err)
		}
		u, err := url.Parse(plain)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(u.RawQuery)
		f.Add(u.RawQuery + "&s=" + u.Query().Get("s"))
	}
	f.Add("s=")
	f.Add("s=%zz")
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req, err := http.NewRequest(http.MethodGet, "https://127.0.0.1:8443/vnc/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = rawQuery
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
		if log.panicked.Load() {
			t.Fatal("the server logged a panic")
		}
		if rec.Code == http.StatusForbidden && !strings.HasPrefix(rec.Body.String(), "console ticket is invalid") {
			t.Fatalf("refusal %q", rec.Body.String())
		}
	})
}
