package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/server"
)

const consoleHelp = `Usage: latchkey console [flags] (--instance ID | URL)

Opens an instance's console for any VNC client: listens on a local TCP port
and relays each connection to latchkey's console WebSocket, the wss:// URL
that DescribeInstanceVncUrl returns. The console then asks for the
instance's live VNC password.

With --instance, each new connection asks latchkey for a fresh URL with the
root access key of DATA_DIR/credentials.json, so the VNC client may connect
as often as it likes. With a URL (percent-encoded as DescribeInstanceVncUrl
returns it, or decoded), one connection is relayed and the command exits
when it ends: the URL works once and only for 15 seconds after it was
issued.

The server certificate is checked against DATA_DIR/tls/ca.pem.

Flags:
`

const consoleExamples = `
Examples:
  latchkey console --instance i-bp1abcdefghijklmnopq
  vncviewer 127.0.0.1::5900            # TigerVNC; enter the VNC password

  latchkey console --listen 127.0.0.1:5901 'wss%3A%2F%2F127.0.0.1%3A8443%2Fvnc%2F%3Fs%3D...'
`

// runConsole bridges local VNC clients to latchkey's console gateway.
func runConsole(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	dataDir := server.DefaultDataDir
	if d := getenv("LATCHKEY_DATA_DIR"); d != "" {
		dataDir = d
	}
	listen := "127.0.0.1:5900"
	var instance, region string
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&dataDir, "data-dir", dataDir, "latchkey's data directory (env LATCHKEY_DATA_DIR): endpoints, credentials and CA")
	fs.StringVar(&listen, "listen", listen, "local `address` for the VNC client; port 0 picks a free port")
	fs.StringVar(&instance, "instance", "", "ECS instance `ID` whose console to open (a fresh URL per connection)")
	fs.StringVar(&region, "region", "cn-hangzhou", "the instance's `region`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, consoleHelp)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			io.WriteString(stdout, consoleExamples)
			return nil
		}
		return usageError{fmt.Errorf("console: %w (see 'latchkey console --help')", err)}
	}
	if (instance == "") == (fs.NArg() == 0) || fs.NArg() > 1 {
		return usageError{errors.New("console: give either --instance ID or one URL (see 'latchkey console --help')")}
	}

	caPEM, err := os.ReadFile(filepath.Join(dataDir, server.TLSDir, "ca.pem"))
	if err != nil {
		return fmt.Errorf("latchkey's CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return errors.New("latchkey's CA: ca.pem holds no certificate")
	}
	tlsConf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	httpClient := &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: tlsConf}}

	// nextURL returns the console URL for the next connection. With a
	// single URL, done ends the bridge once its one connection is over.
	var nextURL func(context.Context) (string, error)
	ctx, done := context.WithCancel(ctx)
	defer done()
	single := instance == ""
	if instance != "" {
		eps, err := server.ReadEndpoints(dataDir)
		if err != nil {
			return fmt.Errorf("is latchkey running? %w", err)
		}
		creds, err := server.ReadCredentials(dataDir)
		if err != nil {
			return err
		}
		cfg := sdk.NewConfig().WithScheme("HTTPS").WithHttpTransport(&http.Transport{TLSClientConfig: tlsConf})
		client, err := ecs.NewClientWithOptions(region, cfg, credentials.NewAccessKeyCredential(creds.AccessKeyID, creds.AccessKeySecret))
		if err != nil {
			return err
		}
		client.Domain = eps.HTTPS
		nextURL = func(context.Context) (string, error) {
			req := ecs.CreateDescribeInstanceVncUrlRequest()
			req.RegionId, req.InstanceId = region, instance
			resp, err := client.DescribeInstanceVncUrl(req)
			if err != nil {
				return "", err
			}
			return decodeConsoleURL(resp.VncUrl)
		}
	} else {
		u, err := decodeConsoleURL(fs.Arg(0))
		if err != nil {
			return usageError{err}
		}
		var once sync.Once
		nextURL = func(context.Context) (string, error) {
			err := errors.New("the console URL has been used; run DescribeInstanceVncUrl again or use --instance")
			once.Do(func() { err = nil })
			return u, err
		}
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	fmt.Fprintf(stdout, "Console bridge on %s: point a VNC client at it, e.g. vncviewer %s::%d\n", addr, addr.IP, addr.Port)
	// first is, with a single URL, why its one connection was refused.
	var (
		mu    sync.Mutex
		first error
	)
	relayErr := gateway.Relay(ctx, ln, func(ctx context.Context) (net.Conn, error) {
		u, err := nextURL(ctx)
		if err == nil {
			var c net.Conn
			if c, err = gateway.Dial(ctx, u, httpClient); err == nil {
				if single {
					return endsBridge{c, done}, nil
				}
				return c, nil
			}
			err = fmt.Errorf("console refused: %w (a console URL works once, for 15 seconds)", err)
			if single {
				mu.Lock()
				first = err
				mu.Unlock()
				done()
			}
		}
		fmt.Fprintf(stderr, "latchkey console: %v\n", err)
		return nil, err
	})
	if relayErr != nil {
		return relayErr
	}
	mu.Lock()
	defer mu.Unlock()
	return first
}

// endsBridge is the console connection of a single-URL bridge: closing it,
// when its VNC client leaves, ends the bridge.
type endsBridge struct {
	net.Conn
	end context.CancelFunc
}

func (c endsBridge) Close() error {
	defer c.end()
	return c.Conn.Close()
}

// decodeConsoleURL accepts a console URL as DescribeInstanceVncUrl returns
// it (percent-encoded) or already decoded, and checks it is a WebSocket URL.
func decodeConsoleURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		d, err := url.QueryUnescape(s)
		if err != nil {
			return "", fmt.Errorf("console URL: %w", err)
		}
		s = d
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" {
		return "", errors.New("console URL: want the wss:// URL DescribeInstanceVncUrl returns")
	}
	return s, nil
}
