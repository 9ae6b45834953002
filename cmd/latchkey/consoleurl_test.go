package main

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/server"
)

// TestConsoleURL prints a demo instance's console page URL as the banner
// says, loads the page, and opens the console behind its vncUrl with the
// demo password, as the page does.
func TestConsoleURL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := serve(t, dir, "--demo")
	fleet := parseDemoFleet(t, r.stdout.String())
	if want := "latchkey console-url --data-dir " + dir + " --instance " + fleet[0].id; !strings.Contains(r.stdout.String(), want) {
		t.Errorf("the banner does not show %q", want)
	}

	var out, errOut testutil.Buffer
	if err := run(context.Background(), []string{"latchkey", "console-url", "--data-dir", dir, "--instance", fleet[0].id}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("latchkey console-url: %v\n%s", err, errOut.String())
	}
	page, err := url.Parse(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if page.Scheme != "https" || page.Host != r.eps.HTTPS || page.Path != "/console/" {
		t.Fatalf("console-url printed %s, want the console page on the HTTPS listener", page.Redacted())
	}
	if !strings.HasPrefix(page.RawQuery, "vncUrl=wss%3A%2F%2F") {
		t.Errorf("vncUrl is not DescribeInstanceVncUrl's percent-encoded value: %s", page.RawQuery)
	}
	q := page.Query()
	if q.Get("instanceId") != fleet[0].id || q.Get("isWindows") != "false" {
		t.Errorf("query %v, want instanceId %s and isWindows false", q, fleet[0].id)
	}

	caPEM, err := os.ReadFile(filepath.Join(dir, server.TLSDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := noProxy(pool)
	resp, err := client.Get(page.String())
	if err != nil {
		t.Fatalf("GET the console page: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `id="password-form"`) {
		t.Fatalf("GET the console page: %s", resp.Status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := gateway.Dial(ctx, q.Get("vncUrl"), client)
	if err != nil {
		t.Fatalf("open the console behind vncUrl: %v", err)
	}
	if err := rfbtest.LoginConn(ctx, conn, fleet[0].password); err != nil {
		t.Fatalf("log in with the demo password: %v", err)
	}
}

func TestConsoleURLUsage(t *testing.T) {
	getenv := func(string) string { return "" }
	var out testutil.Buffer
	if err := run(context.Background(), []string{"latchkey", "console-url", "--help"}, getenv, &out, io.Discard); err != nil || !strings.Contains(out.String(), "--instance") {
		t.Errorf("console-url --help: %v\n%s", err, out.String())
	}
	var u usageError
	if err := run(context.Background(), []string{"latchkey", "console-url"}, getenv, io.Discard, io.Discard); !errors.As(err, &u) {
		t.Errorf("console-url without --instance: %v, want a usage error", err)
	}
}
