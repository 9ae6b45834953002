package server_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/server"
)

// TestNewServesWithoutBindingPorts runs the assembled server behind an
// httptest listener it did not bind: the TLS material, credentials and
// admin token are the data directory's, console URLs name the address
// New was given, and /healthz stays 503 because Serve never ran.
func TestNewServesWithoutBindingPorts(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	cfg := server.Defaults()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Transition = 0
	cfg.Endpoints = server.Endpoints{HTTPS: ts.Listener.Addr().String()}
	app, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := app.Close(); err != nil {
			t.Errorf("Close twice: %v", err)
		}
	})
	ts.Config.Handler = app
	ts.TLS = app.TLSConfig()
	ts.StartTLS()
	t.Cleanup(ts.Close)
	client := &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: app.CAPool()}}}

	creds, err := server.ReadCredentials(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccountID != string(app.Root.AccountID) || creds.AccessKeyID != string(app.Root.AccessKeyID) || creds.AccessKeySecret != app.Root.Secret.Reveal() {
		t.Fatal("App.Root is not the root key of credentials.json")
	}
	if got := app.ConsoleURL("t0k"); got != "wss://"+cfg.Endpoints.HTTPS+"/vnc/?s=t0k" {
		t.Fatalf("ConsoleURL = %q", got)
	}

	get := func(path, token string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := get("/healthz", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz without Serve: %s, want 503", resp.Status)
	}
	resp := get("/_latchkey/health", app.AdminToken.Reveal())
	var health map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("internal API with the admin token: %s, %v", resp.Status, err)
	}
	if resp := get("/_latchkey/health", "not-the-token"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("internal API with another token: %s, want 401", resp.Status)
	}
	// An unsigned RPC call reaches the Alibaba front end and is refused
	// with its error envelope.
	resp = get("/?Action=DescribeRegions&Version=2014-05-26", "")
	var rpcErr map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&rpcErr); err != nil || resp.StatusCode != http.StatusBadRequest || rpcErr["Code"] == "" {
		t.Errorf("unsigned RPC call: %s %v, %v", resp.Status, rpcErr, err)
	}
}

func TestNewNeedsTheHTTPSEndpoint(t *testing.T) {
	cfg := server.Defaults()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	_, err := server.New(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "Endpoints.HTTPS") {
		t.Fatalf("New without Endpoints.HTTPS: %v", err)
	}
}
