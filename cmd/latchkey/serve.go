package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/server"
)

// serveEnv maps each `serve` flag to the environment variable that sets
// it when the flag is not given (PRODUCT.md §1). An empty variable counts
// as unset, so disabling the HTTP listener takes the flag:
// --http-listen "".
func serveEnv() []struct{ flag, env string } {
	return []struct{ flag, env string }{
		{"data-dir", "LATCHKEY_DATA_DIR"},
		{"listen", "LATCHKEY_LISTEN"},
		{"http-listen", "LATCHKEY_HTTP_LISTEN"},
		{"insecure-http", "LATCHKEY_INSECURE_HTTP"},
		{"public-address", "LATCHKEY_PUBLIC_ADDRESS"},
		{"demo", "LATCHKEY_DEMO"},
		{"store", "LATCHKEY_STORE"},
		{"transition", "LATCHKEY_TRANSITION"},
		{"console-driver", "LATCHKEY_CONSOLE_DRIVER"},
		{"qemu-binary", "LATCHKEY_QEMU_BINARY"},
		{"qemu-machine", "LATCHKEY_QEMU_MACHINE"},
		{"qemu-guest", "LATCHKEY_QEMU_GUEST"},
		{"libvirt-hosts", "LATCHKEY_LIBVIRT_HOSTS"},
		{"ehpc-password-policy", "LATCHKEY_EHPC_PASSWORD_POLICY"},
		{"bcc-password-policy", "LATCHKEY_BCC_PASSWORD_POLICY"},
		{"bce-region", "LATCHKEY_BCE_REGION"},
		{"ehpc-login-addresses", "LATCHKEY_EHPC_LOGIN_ADDRESSES"},
		{"visual-driver", "LATCHKEY_VISUAL_DRIVER"},
		{"visual-agents", "LATCHKEY_VISUAL_AGENTS"},
		{"log-level", "LATCHKEY_LOG_LEVEL"},
		{"pprof", "LATCHKEY_PPROF"},
		{"max-connections", "LATCHKEY_MAX_CONNECTIONS"},
	}
}

const serveHelp = `Usage: latchkey serve [flags]

Runs latchkey: Alibaba Cloud RPC at / and Baidu BCE REST under /v2/ on both
listeners, the VNC console gateway at /vnc/, the internal API at /_latchkey/
(HTTPS only), and GET /healthz (200 once ready).

The first start in an empty data directory creates a local CA and server
certificate (DATA_DIR/tls/ca.pem: trust it for HTTPS), the master key
(master.key), the internal API token (admin.token), and a root account with
its first access key (credentials.json), and prints the access key and how
to point the Alibaba Go SDK and the aliyun CLI at latchkey, once. Later
starts reuse all of it. The addresses actually bound go to endpoints.json.
SIGINT or SIGTERM drains in-flight requests, then latchkey exits 0.

Each flag may also be set by the environment variable shown; a flag given
on the command line wins.

Flags:
`

const serveExamples = `
Examples:
  latchkey serve --demo
  latchkey serve --data-dir /var/lib/latchkey --listen 127.0.0.1:0 --http-listen 127.0.0.1:0
  latchkey serve --http-listen ""          # HTTPS only
  LATCHKEY_TRANSITION=0 latchkey serve     # instances change state at once
  latchkey serve --console-driver qemu     # each new ECS instance's console is a QEMU
  latchkey serve --visual-driver tigervnc --visual-agents agents.yaml --ehpc-login-addresses 10.0.5.16/28
                                           # E-HPC login nodes are real TigerVNC hosts
`

// runServe parses the serve flags and runs the server until ctx ends.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := server.Defaults()
	logLevel := "info"

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	// Parse reports through its return value only; help goes to stdout.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for all state: database, TLS material, master key, credentials")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTPS listener `address`: every API, the consoles, the internal API; port 0 picks a free port")
	fs.StringVar(&cfg.HTTPListen, "http-listen", cfg.HTTPListen, "plain-HTTP listener `address` with the same APIs (the Alibaba Go SDK and bce-sdk-go default to http); \"\" disables it; a non-loopback address needs --insecure-http")
	fs.BoolVar(&cfg.InsecureHTTP, "insecure-http", false, "allow --http-listen on a non-loopback address (requests and passwords then cross the network in clear)")
	fs.StringVar(&cfg.PublicAddress, "public-address", "", "`host:port` clients reach the HTTPS listener at from outside (a load balancer in front of replicas): console URLs name it")
	fs.BoolVar(&cfg.Demo, "demo", false, "on first start, seed the demo fleet and print its console passwords")
	fs.StringVar(&cfg.Store, "store", "", "store `URL`: sqlite://PATH or postgres://… (default sqlite://DATA_DIR/latchkey.db)")
	fs.DurationVar(&cfg.Transition, "transition", cfg.Transition, "how long each intermediate instance status (Pending, Starting, Stopping) lasts; 0 makes changes immediate (written to the store at start: replicas share one interval)")
	fs.StringVar(&cfg.ConsoleDriver, "console-driver", cfg.ConsoleDriver, "console `driver` of new ECS instances: sim (latchkey's own consoles), qemu (a QEMU process per console, under DATA_DIR/qemu) or libvirt (domains on the hosts of --libvirt-hosts, for BCC instances too)")
	fs.StringVar(&cfg.QEMUGuest, "qemu-guest", "", "`directory` of a real guest (vmlinuz and initramfs.gz from internal/guestimage/build.sh) that the qemu driver's consoles boot; BCC instances then use the qemu driver too")
	fs.StringVar(&cfg.LibvirtHosts, "libvirt-hosts", "", "hosts `file` (YAML) of the libvirt console driver: each host's name, URI and credentials, and the template of the domains latchkey creates")
	fs.StringVar(&cfg.QEMUBinary, "qemu-binary", "", "QEMU system emulator `path` of the qemu console driver (default qemu-system-x86_64 in PATH)")
	fs.StringVar(&cfg.QEMUMachine, "qemu-machine", cfg.QEMUMachine, "`machine` a qemu console emulates: none (a VNC server only; fastest) or pc (64 MB PC showing SeaBIOS)")
	fs.StringVar(&cfg.EHPCPasswordPolicy, "ehpc-password-policy", cfg.EHPCPasswordPolicy, "E-HPC visual service password `edition`: 2025 (6 letters and digits) or 2024 (8-30 characters, three classes)")
	fs.StringVar(&cfg.BCCPasswordPolicy, "bcc-password-policy", cfg.BCCPasswordPolicy, "BCC admin password `edition`: 2020 (8-32, letter+digit+symbol from !@#$%^*()) or 2025 (8-32, three classes)")
	fs.StringVar(&cfg.BCERegion, "bce-region", cfg.BCERegion, "BCC `region` for requests whose Host does not name one (bj, gz, su, bd, fwh, hkg, fsh)")
	fs.Func("ehpc-login-addresses", "IPv4 `prefix` E-HPC login nodes' addresses come from, one per node: loopback for the sim visual driver (default 127.31.0.0/16), or the real nodes' range with --visual-driver tigervnc", func(v string) error {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return err
		}
		cfg.EHPCLoginAddresses = p
		return nil
	})
	fs.StringVar(&cfg.VisualDriver, "visual-driver", cfg.VisualDriver, "visual `driver` of new E-HPC clusters: sim (latchkey's own VNC listeners) or tigervnc (latchkey agent on each login node, running Xvnc; needs --visual-agents)")
	fs.StringVar(&cfg.VisualAgents, "visual-agents", "", "agents `file` (YAML) of the tigervnc visual driver: the agent URL, token file and CA file of each login node address")
	fs.BoolVar(&cfg.Pprof, "pprof", false, "serve Go's runtime profiles at /_latchkey/debug/pprof/ (admin token; for go tool pprof) and record mutex and block profiles")
	fs.IntVar(&cfg.MaxConnections, "max-connections", cfg.MaxConnections, "`count` of connections each listener holds open at once; more wait in the kernel's accept backlog until one closes")
	fs.StringVar(&logLevel, "log-level", logLevel, "log `level`: debug, info, warn or error (logs go to stderr and never hold a secret)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, serveHelp)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			io.WriteString(stdout, "\nEnvironment:\n")
			for _, e := range serveEnv() {
				fmt.Fprintf(stdout, "  %-30s --%s\n", e.env, e.flag)
			}
			io.WriteString(stdout, serveExamples)
			return nil
		}
		return usageError{fmt.Errorf("serve: %w (see 'latchkey serve --help')", err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve takes no arguments, got %q", fs.Args())}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, e := range serveEnv() {
		v := getenv(e.env)
		if set[e.flag] || v == "" {
			continue
		}
		if err := fs.Set(e.flag, v); err != nil {
			return usageError{fmt.Errorf("%s=%q: %v", e.env, v, err)}
		}
	}

	level, err := parseLevel(logLevel)
	if err != nil {
		return usageError{err}
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.Banner = stdout
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	return server.Run(ctx, cfg)
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return slog.Level(n), nil
	}
	return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}
