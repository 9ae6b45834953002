package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/rfb"
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
// DescribeInstanceVncUrl; a second connection finds the URL used.
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

	addr, out := startConsole(t, dir, resp.VncUrl)
	if err := vncLogin(t, addr, fleet[0].password); err != nil {
		t.Fatalf("first connection through the URL: %v", err)
	}
	err = vncLogin(t, addr, fleet[0].password)
	if err == nil || errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("second connection through a used URL: got %v, want the connection closed before RFB", err)
	}
	if !strings.Contains(out.String(), "used") {
		t.Errorf("latchkey console did not say the URL was used:\n%s", out)
	}
}
