package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// running is one `latchkey serve` started in-process through run().
type running struct {
	dir            string
	stdout, stderr *testutil.Buffer
	cancel         context.CancelFunc
	done           chan error
	eps            server.Endpoints
}

// noProxy is an HTTP client that ignores proxy settings and trusts pool
// (when not nil).
func noProxy(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// serveArgs are the arguments of a test server on dir: ports chosen by
// the kernel, immediate transitions, and a loopback range of its own for
// E-HPC login nodes, so that servers of tests running in parallel do not
// compete for addresses.
func serveArgs(dir string) []string {
	var rb [2]byte
	rand.Read(rb[:])
	logins := fmt.Sprintf("127.%d.%d.0/24", 32+rb[0]%200, rb[1])
	return []string{"serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--transition", "0", "--ehpc-login-addresses", logins}
}

// waitReady polls until endpoints.json names the server's listeners and
// /healthz answers 200 (over HTTP, or over HTTPS with the data
// directory's CA when HTTP is disabled), and returns the endpoints. It
// fails the test if exited delivers first (the error is put back) and then
// shows log().
func waitReady(t testing.TB, dir string, exited chan error, log func() string) server.Endpoints {
	t.Helper()
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("latchkey ended before it was ready: %v\n%s", err, log())
		default:
		}
		if eps, err := server.ReadEndpoints(dir); err == nil {
			u, client := "http://"+eps.HTTP+"/healthz", noProxy(nil)
			if eps.HTTP == "" {
				pool := x509.NewCertPool()
				if ca, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem")); err == nil {
					pool.AppendCertsFromPEM(ca)
				}
				u, client = "https://"+eps.HTTPS+"/healthz", noProxy(pool)
			}
			if resp, err := client.Get(u); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return eps
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// serve starts run() with serveArgs(dir) and args, and waits until it is
// ready. It fails the test if run returns first.
func serve(t testing.TB, dir string, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{dir: dir, stdout: new(testutil.Buffer), stderr: new(testutil.Buffer), cancel: cancel, done: make(chan error, 1)}
	argv := append(append([]string{"latchkey"}, serveArgs(dir)...), args...)
	go func() { r.done <- run(ctx, argv, func(string) string { return "" }, r.stdout, r.stderr) }()
	t.Cleanup(func() { r.stop(t) })
	r.eps = waitReady(t, dir, r.done, r.stderr.String)
	return r
}

// rootECS returns an Alibaba SDK ECS client with the root access key of
// the latchkey that serves dir, pointed at its HTTP listener.
func rootECS(t testing.TB, dir string) *ecs.Client {
	t.Helper()
	creds, err := server.ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	eps, err := server.ReadEndpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ecs.NewClientWithAccessKey("cn-hangzhou", creds.AccessKeyID, creds.AccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = eps.HTTP
	return c
}

// stop cancels run's context (as SIGINT would) and returns run's result.
func (r *running) stop(t testing.TB) error {
	r.cancel()
	err := <-r.done
	r.done <- err
	return err
}

func TestServeFirstStartAndRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := serve(t, dir)

	// The files of PRODUCT.md §1, with their modes.
	for name, mode := range map[string]fs.FileMode{
		"master.key":         0o600,
		"admin.token":        0o600,
		"credentials.json":   0o600,
		"tls/ca-key.pem":     0o600,
		"tls/server-key.pem": 0o600,
		"tls/ca.pem":         0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s has mode %v, want %v", name, got, mode)
		}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("data directory has mode %v; others must not enter it", fi.Mode().Perm())
	}

	creds, err := server.ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.AccountID) != 16 || strings.Trim(creds.AccountID, "0123456789") != "" {
		t.Errorf("account_id %q is not 16 digits", creds.AccountID)
	}
	if creds.AccessKeyID == "" || creds.AccessKeySecret == "" {
		t.Fatal("credentials.json lacks the access key id or secret")
	}
	// The first start prints the access key once, with SDK snippets.
	if !strings.Contains(r.stdout.String(), creds.AccessKeySecret) {
		t.Error("the first start's banner does not show the access key secret")
	}
	for _, want := range []string{creds.AccessKeyID, r.eps.HTTP, r.eps.HTTPS, "ca.pem", "aliyun"} {
		if !strings.Contains(r.stdout.String(), want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	if strings.Contains(r.stderr.String(), creds.AccessKeySecret) {
		t.Error("the log holds the access key secret")
	}

	// HTTPS answers with a certificate that chains to ca.pem.
	caPEM, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	resp, err := noProxy(pool).Get("https://" + r.eps.HTTPS + "/healthz")
	if err != nil {
		t.Fatalf("HTTPS /healthz with ca.pem trusted: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HTTPS /healthz: %s", resp.Status)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run after cancel = %v, want nil", err)
	}

	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}

	// A restart reuses everything and never prints the secret again.
	r2 := serve(t, dir)
	creds2, err := server.ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if creds2 != creds {
		t.Error("credentials.json changed across a restart")
	}
	if strings.Contains(r2.stdout.String(), creds.AccessKeySecret) || strings.Contains(r2.stderr.String(), creds.AccessKeySecret) {
		t.Error("a later start printed or logged the access key secret")
	}
	if !strings.Contains(r2.stdout.String(), creds.AccessKeyID) {
		t.Error("a later start's banner does not name the access key id")
	}
	caPEM2, _ := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	token2, _ := os.ReadFile(filepath.Join(dir, "admin.token"))
	key2, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	if !bytes.Equal(caPEM, caPEM2) || !bytes.Equal(token, token2) || !bytes.Equal(key, key2) {
		t.Error("the CA, admin token or master key changed across a restart")
	}
	if err := r2.stop(t); err != nil {
		t.Fatalf("second run after cancel = %v, want nil", err)
	}
}

func TestServeRefusesNonLoopbackHTTP(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:8080"} {
		dir := filepath.Join(t.TempDir(), "data")
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"latchkey", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0", "--http-listen", addr}, func(string) string { return "" }, &stdout, &stderr)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), "--insecure-http") {
			t.Errorf("--http-listen %s: run = %v, want a usage error naming --insecure-http", addr, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("--http-listen %s: the refused start created the data directory", addr)
		}
	}
	// The environment variable is checked the same way.
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"LATCHKEY_HTTP_LISTEN": "0.0.0.0:0", "LATCHKEY_DATA_DIR": dir}
	err := run(t.Context(), []string{"latchkey", "serve", "--listen", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--insecure-http") {
		t.Errorf("LATCHKEY_HTTP_LISTEN=0.0.0.0:0: run = %v, want a refusal", err)
	}
}

func TestServeInsecureHTTPAllowsWildcard(t *testing.T) {
	r := serve(t, filepath.Join(t.TempDir(), "data"), "--http-listen", "0.0.0.0:0", "--insecure-http")
	if !strings.HasPrefix(r.eps.HTTP, "127.0.0.1:") {
		t.Errorf("endpoints.json http = %q, want a loopback address a local client can dial", r.eps.HTTP)
	}
}

func TestServeHTTPDisabled(t *testing.T) {
	r := serve(t, filepath.Join(t.TempDir(), "data"), "--http-listen", "")
	if r.eps.HTTP != "" {
		t.Errorf("endpoints.json http = %q with --http-listen \"\", want empty", r.eps.HTTP)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run = %v", err)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "from-env")
	env := map[string]string{"LATCHKEY_DATA_DIR": dir, "LATCHKEY_TRANSITION": "not-a-duration"}
	err := run(t.Context(), []string{"latchkey", "serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LATCHKEY_TRANSITION") {
		t.Errorf("a malformed LATCHKEY_TRANSITION: run = %v, want an error naming it", err)
	}
	// A flag wins over its environment variable.
	env["LATCHKEY_TRANSITION"] = "1s"
	env["LATCHKEY_EHPC_PASSWORD_POLICY"] = "1999"
	err = run(t.Context(), []string{"latchkey", "serve", "--ehpc-password-policy", "2024", "--listen", "127.0.0.1:0", "--http-listen", "bad"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || strings.Contains(err.Error(), "ehpc") || !strings.Contains(err.Error(), "--http-listen") {
		t.Errorf("run = %v, want the flag to override LATCHKEY_EHPC_PASSWORD_POLICY and the bad --http-listen refused", err)
	}
}

func TestHelp(t *testing.T) {
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"latchkey", "serve", "--help"}, func(string) string { return "" }, &stdout, io.Discard); err != nil {
		t.Fatalf("serve --help: %v", err)
	}
	for _, want := range []string{"--data-dir", "LATCHKEY_DATA_DIR", "-listen", "LATCHKEY_LISTEN", "-http-listen", "LATCHKEY_HTTP_LISTEN", "-demo", "LATCHKEY_DEMO", "-store", "LATCHKEY_STORE", "-insecure-http", "-transition", "-ehpc-password-policy", "-bcc-password-policy", "-bce-region", "-log-level"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("serve --help does not mention %s", want)
		}
	}
	stdout.Reset()
	if err := run(t.Context(), []string{"latchkey", "help"}, func(string) string { return "" }, &stdout, io.Discard); err != nil || !strings.Contains(stdout.String(), "serve") {
		t.Errorf("help = %v, output lacks serve", err)
	}
	var u usageError
	if err := run(t.Context(), []string{"latchkey", "frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard); !errors.As(err, &u) {
		t.Errorf("an unknown command: run = %v, want a usage error", err)
	}
}

// TestBinaryExitsZeroOnSignal builds the real binary and checks that
// SIGTERM and SIGINT make it drain and exit 0.
func TestBinaryExitsZeroOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildLatchkey(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		dir := filepath.Join(t.TempDir(), "data")
		cmd := exec.Command(bin, serveArgs(dir)...)
		var stderr testutil.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		waitReady(t, dir, exited, stderr.String)
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err != nil {
			t.Errorf("after %v: %v, want exit status 0\n%s", sig, err, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "endpoints.json")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after %v endpoints.json is still there; it names listeners that are gone", sig)
		}
	}
}

// BenchmarkStartToHealthz measures the time from calling run() to the
// first 200 on /healthz, on a first start (empty data directory: TLS
// material, master key and account are created) and on a restart.
func BenchmarkStartToHealthz(b *testing.B) {
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			r := serve(b, filepath.Join(b.TempDir(), "data"))
			b.StopTimer()
			r.stop(b)
			b.StartTimer()
		}
	})
	b.Run("restart", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "data")
		serve(b, dir).stop(b)
		b.ResetTimer()
		for b.Loop() {
			r := serve(b, dir)
			b.StopTimer()
			r.stop(b)
			b.StartTimer()
		}
	})
}

// BenchmarkBinaryStartToHealthz measures what a user sees: from exec of
// the built binary on an existing data directory to the first 200 on
// /healthz.
func BenchmarkBinaryStartToHealthz(b *testing.B) {
	bin := buildLatchkey(b)
	dir := filepath.Join(b.TempDir(), "data")
	serve(b, dir).stop(b)
	b.ResetTimer()
	for b.Loop() {
		cmd := exec.Command(bin, serveArgs(dir)...)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		waitReady(b, dir, exited, func() string { return "" })
		b.StopTimer()
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-exited; err != nil {
			b.Fatalf("exit: %v", err)
		}
		b.StartTimer()
	}
}

// TestShutdownDrainsInFlightRequest starts a request, begins the shutdown
// (as SIGINT would) while its handler waits for the body, checks the
// listener is closed to new connections, then sends the body: the request
// must still get its answer, and run must return nil after it.
func TestShutdownDrainsInFlightRequest(t *testing.T) {
	r := serve(t, filepath.Join(t.TempDir(), "data"))
	conn, err := net.Dial("tcp", r.eps.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	body := "Action=DescribeRegions&Version=2014-05-26"
	head := "POST / HTTP/1.1\r\nHost: " + r.eps.HTTP + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nExpect: 100-continue\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	// The server answers 100 Continue when the handler starts reading the
	// body: from then on the request is in flight.
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}

	r.cancel()
	// Shutdown closes the listeners first: wait until a new connection is
	// refused, so the body arrives during the drain.
	for {
		c, err := net.Dial("tcp", r.eps.HTTP)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(time.Millisecond)
	}
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Acs-Request-Id") == "" {
		t.Errorf("the in-flight request's answer (%s) did not come from the RPC front end", resp.Status)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run = %v after a drained shutdown, want nil", err)
	}
}

func TestServeRefusesNegativeMaxConnections(t *testing.T) {
	for _, args := range [][]string{{"--max-connections", "-1"}, {"--max-connections", "many"}} {
		dir := filepath.Join(t.TempDir(), "data")
		err := run(t.Context(), append([]string{"latchkey", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0"}, args...), func(string) string { return "" }, io.Discard, io.Discard)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), "max-connections") {
			t.Errorf("%v: run = %v, want a usage error naming --max-connections", args, err)
		}
	}
}

// buildLatchkey builds the binary into a temporary directory of t and
// returns its path.
func buildLatchkey(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latchkey")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
