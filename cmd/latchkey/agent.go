package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/latchkey/latchkey/agent"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/visual/tigervnc"
)

const agentHelp = `Usage: latchkey agent [flags]

Runs latchkey's node agent on an E-HPC login node: it runs the node's visual
service as a TigerVNC Xvnc and serves an HTTP API, authenticated by a bearer
token, through which latchkey serve (--visual-driver tigervnc) starts and
stops the service and sets its password. A new password replaces the file
Xvnc reads at every connection: live for the next connection, same Xvnc,
open sessions kept. Under the 2024 password policy Xvnc also offers
VeNCrypt Plain, checked by PAM with the whole password against a private
account database (needs root; the node's /etc/shadow is never written).

The token file is created (mode 0600) with a random token if it does not
exist; give the same token to latchkey serve through its agents file.
Services that were started come back when the agent restarts. SIGINT or
SIGTERM stops every Xvnc (SIGTERM, waited for), then the agent exits 0.

Flags:
`

const agentExamples = `
Examples:
  latchkey agent --token-file /etc/latchkey/agent.token --state-dir /var/lib/latchkey-agent \
      --listen 10.0.5.17:7443 --tls-cert /etc/latchkey/agent.pem --tls-key /etc/latchkey/agent-key.pem
  latchkey agent --token-file agent.token --state-dir agent-state --listen 127.0.0.1:7450
`

// DefaultAgentListen is where `latchkey agent` listens unless told.
const DefaultAgentListen = "127.0.0.1:7450"

// agentArgList is a flag that may be given several times.
type agentArgList []string

func (r *agentArgList) String() string     { return strings.Join(*r, " ") }
func (r *agentArgList) Set(v string) error { *r = append(*r, v); return nil }

// runAgent parses the agent's flags and runs it until ctx ends.
func runAgent(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg                    agent.Config
		listen, tokenFile      string
		tlsCert, tlsKey        string
		vncInterface, logLevel string
		insecureHTTP           bool
		extra                  agentArgList
	)
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&listen, "listen", DefaultAgentListen, "`address` of the agent's API; a non-loopback address needs --tls-cert and --tls-key, or --insecure-http")
	fs.StringVar(&tokenFile, "token-file", "", "`file` holding the bearer token (created with a random token if missing); required")
	fs.StringVar(&cfg.StateDir, "state-dir", "./latchkey-agent", "`directory` for the nodes' password files, Xvnc logs and states (mode 0700)")
	fs.StringVar(&cfg.Xvnc, "xvnc", agent.DefaultXvnc, "Xvnc `binary` (a path, or a name in PATH)")
	fs.StringVar(&vncInterface, "vnc-interface", "", "`address` every Xvnc listens on, instead of the login node address latchkey gives (for NAT)")
	fs.Var(&extra, "xvnc-arg", "extra Xvnc `argument`, e.g. --xvnc-arg=-geometry --xvnc-arg=1920x1080 (repeatable; never a password)")
	fs.IntVar(&cfg.DisplayBase, "display-base", agent.DefaultDisplayBase, "first X display `number` tried; taken displays are skipped")
	fs.StringVar(&tlsCert, "tls-cert", "", "TLS certificate `file` (PEM, chain included) of the agent's API")
	fs.StringVar(&tlsKey, "tls-key", "", "TLS private key `file` (PEM)")
	fs.BoolVar(&insecureHTTP, "insecure-http", false, "allow plain HTTP on a non-loopback --listen (the token and passwords then cross the network in clear)")
	fs.StringVar(&logLevel, "log-level", "info", "log `level`: debug, info, warn or error (logs go to stderr and never hold a password or the token)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, agentHelp)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			io.WriteString(stdout, agentExamples)
			return nil
		}
		return usageError{fmt.Errorf("agent: %w (see 'latchkey agent --help')", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("agent takes no arguments, got %q", fs.Args())}
	}
	if tokenFile == "" {
		return usageError{errors.New("agent: --token-file is required")}
	}
	if (tlsCert == "") != (tlsKey == "") {
		return usageError{errors.New("agent: --tls-cert and --tls-key go together")}
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return usageError{fmt.Errorf("agent: --listen %q: %w", listen, err)}
	}
	if tlsCert == "" && !insecureHTTP && !agentLoopback(host) {
		return usageError{fmt.Errorf("agent: --listen %q is not a loopback address: plain HTTP would carry the token and passwords in clear; give --tls-cert and --tls-key, or --insecure-http", listen)}
	}
	if vncInterface != "" {
		if cfg.Interface, err = netip.ParseAddr(vncInterface); err != nil {
			return usageError{fmt.Errorf("agent: --vnc-interface %q: want an IP address", vncInterface)}
		}
	}
	cfg.ExtraArgs = extra
	level, err := parseLevel(logLevel)
	if err != nil {
		return usageError{err}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.Log = log

	token, created, err := agentToken(tokenFile)
	if err != nil {
		return fmt.Errorf("agent: token: %w", err)
	}
	if created {
		log.Info("agent token written; give it to latchkey serve through its agents file", "file", tokenFile)
	}
	cfg.Token = token

	var tlsConfig *tls.Config
	if tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
		if err != nil {
			return fmt.Errorf("agent: TLS: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Restore(ctx); err != nil {
		log.Warn("some visual services did not come back", "err", err)
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "latchkey agent listening on %s://%s (state in %s)\n", scheme, ln.Addr(), cfg.StateDir)

	select {
	case err := <-done:
		return fmt.Errorf("agent: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("agent shutdown did not drain", "err", err)
	}
	// The deferred Close stops every Xvnc with SIGTERM and waits.
	return nil
}

// agentToken reads the token file, or creates it (mode 0600, exclusively)
// with 32 random bytes in hex when it does not exist.
func agentToken(path string) (core.Secret, bool, error) {
	if _, err := os.Stat(path); err == nil {
		t, err := tigervnc.ReadToken(path)
		return t, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return core.Secret{}, false, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return core.Secret{}, false, err
	}
	t := hex.EncodeToString(b[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return core.Secret{}, false, err
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		f.Close()
		return core.Secret{}, false, err
	}
	if err := f.Close(); err != nil {
		return core.Secret{}, false, err
	}
	return core.NewSecret(t), true, nil
}

// agentLoopback reports whether a listen host can only be reached from this
// machine; the empty host means every interface.
func agentLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
