package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/web"
)

const consoleURLHelp = `Usage: latchkey console-url [flags] --instance ID

Prints the URL of latchkey's browser console page for an ECS instance:
https://HOST:PORT/console/?vncUrl=VNCURL&instanceId=ID, where VNCURL is what
DescribeInstanceVncUrl returned just now, as returned (percent-encoded), the
same query Alibaba Cloud's ECS VNC page takes. Open it within 15 seconds: the
URL works once. The page asks for the instance's VNC password.

DescribeInstanceVncUrl is called over HTTPS with the root access key of
DATA_DIR/credentials.json; the server certificate is checked against
DATA_DIR/tls/ca.pem, which the browser must trust too.

Flags:
`

const consoleURLExamples = `
Examples:
  latchkey console-url --instance i-bp1abcdefghijklmnopq
  xdg-open "$(latchkey console-url --instance i-bp1abcdefghijklmnopq)"
`

// runConsoleURL prints a fresh console page URL for an ECS instance.
func runConsoleURL(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	dataDir := server.DefaultDataDir
	if d := getenv("LATCHKEY_DATA_DIR"); d != "" {
		dataDir = d
	}
	var instance, region string
	fs := flag.NewFlagSet("console-url", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&dataDir, "data-dir", dataDir, "latchkey's data directory (env LATCHKEY_DATA_DIR): endpoints, credentials and CA")
	fs.StringVar(&instance, "instance", "", "ECS instance `ID` whose console to open")
	fs.StringVar(&region, "region", "cn-hangzhou", "the instance's `region`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, consoleURLHelp)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			io.WriteString(stdout, consoleURLExamples)
			return nil
		}
		return usageError{fmt.Errorf("console-url: %w (see 'latchkey console-url --help')", err)}
	}
	if instance == "" || fs.NArg() > 0 {
		return usageError{errors.New("console-url: give --instance ID and nothing else (see 'latchkey console-url --help')")}
	}

	caPEM, err := os.ReadFile(filepath.Join(dataDir, server.TLSDir, "ca.pem"))
	if err != nil {
		return fmt.Errorf("latchkey's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("latchkey's CA: ca.pem holds no certificate")
	}
	eps, err := server.ReadEndpoints(dataDir)
	if err != nil {
		return fmt.Errorf("is latchkey running? %w", err)
	}
	creds, err := server.ReadCredentials(dataDir)
	if err != nil {
		return err
	}
	transport := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	cfg := sdk.NewConfig().WithScheme("HTTPS").WithHttpTransport(transport)
	client, err := ecs.NewClientWithOptions(region, cfg, credentials.NewAccessKeyCredential(creds.AccessKeyID, creds.AccessKeySecret))
	if err != nil {
		return err
	}
	client.Domain = eps.HTTPS
	req := ecs.CreateDescribeInstanceVncUrlRequest()
	req.RegionId, req.InstanceId = region, instance
	resp, err := client.DescribeInstanceVncUrl(req)
	if err != nil {
		return err
	}
	page := url.URL{Scheme: "https", Host: eps.HTTPS, Path: web.ConsolePath}
	// VncUrl goes in as returned (already percent-encoded), as on
	// Alibaba Cloud's page.
	page.RawQuery = "vncUrl=" + resp.VncUrl + "&instanceId=" + url.QueryEscape(instance) + "&isWindows=false"
	fmt.Fprintln(stdout, page.String())
	return nil
}
