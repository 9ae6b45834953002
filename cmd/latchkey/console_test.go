package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testutil"
)

func TestDecodeConsoleURL(t *testing.T) {
	for in, want := range map[string]string{
		"wss%3A%2F%2F127.0.0.1%3A8443%2Fvnc%2F%3Fs%3Dab%2Bc": "wss://127.0.0.1:8443/vnc/?s=ab+c",
		"wss://127.0.0.1:8443/vnc/?s=abc":                    "wss://127.0.0.1:8443/vnc/?s=abc",
	} {
		got, err := decodeConsoleURL(in)
		if err != nil || got != want {
			t.Errorf("decodeConsoleURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "https://127.0.0.1/vnc/", "not a url", "wss://"} {
		if _, err := decodeConsoleURL(bad); err == nil {
			t.Errorf("decodeConsoleURL(%q) accepted it", bad)
		}
	}
}

// TestConsoleWithURL relays one connection to a URL from
// DescribeInstanceVncUrl, then exits by itself; a URL already used is
// refused at its first connection, and the command fails.
func TestConsoleWithURL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := serve(t, dir, "--demo")
	fleet := parseDemoFleet(t, r.stdout.String())
	client := rootECS(t, dir)
	req := ecs.CreateDescribeInstanceVncUrlRequest()
	req.RegionId, req.InstanceId = "cn-hangzhou", fleet[0].id
	resp, err := client.DescribeInstanceVncUrl(req)
	if err != nil {
		t.Fatal(err)
	}

	addr, exited, _ := startSingleURLConsole(t, dir, resp.VncUrl)
	if err := vncLogin(t, addr, fleet[0].password); err != nil {
		t.Fatalf("the connection through the URL: %v", err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("latchkey console after its one connection: %v, want a clean exit", err)
	}

	// The same URL again: the console refuses it, the command says so and
	// fails.
	addr, exited, out := startSingleURLConsole(t, dir, resp.VncUrl)
	if err := vncLogin(t, addr, fleet[0].password); err == nil || errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("a used URL: got %v, want the connection closed before RFB", err)
	}
	if err := <-exited; err == nil || !strings.Contains(out.String(), "works once") {
		t.Errorf("latchkey console with a used URL: %v, want an error saying the URL works once:\n%s", err, out)
	}
}

// startSingleURLConsole runs `latchkey console --data-dir dir --listen
// 127.0.0.1:0 URL` and returns the bridge's address, a channel that
// receives run's result when the command ends by itself, and its output.
func startSingleURLConsole(t *testing.T, dir, consoleURL string) (string, <-chan error, *testutil.Buffer) {
	t.Helper()
	out := new(testutil.Buffer)
	exited := make(chan error, 1)
	go func() {
		exited <- run(context.Background(), []string{"latchkey", "console", "--data-dir", dir, "--listen", "127.0.0.1:0", consoleURL},
			func(string) string { return "" }, out, out)
	}()
	for {
		// "Console bridge on 127.0.0.1:PORT: point a VNC client at it, …"
		if _, rest, ok := strings.Cut(out.String(), "Console bridge on "); ok {
			if addr, _, ok := strings.Cut(rest, ": "); ok {
				return addr, exited, out
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("latchkey console exited before listening: %v\n%s", err, out)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
