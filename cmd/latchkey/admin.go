package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchkey/latchkey/server"
)

// The subcommands that drive a running server's internal API
// (/_latchkey/, PRODUCT.md §8): fleet, inspect, check-password, faults
// and audit. Each finds the server through its data directory:
// endpoints.json for the HTTPS address, tls/ca.pem to trust it, and
// admin.token for the bearer token.

// adminTimeout bounds one call; applying a large fleet takes a while.
const adminTimeout = 5 * time.Minute

// adminClient calls the internal API of the server of one data directory.
type adminClient struct {
	base  string // https://HOST:PORT
	token string
	hc    *http.Client
}

// adminFlags adds the flags every internal API subcommand shares to fs
// and returns the function that opens the client after parsing.
func adminFlags(fs *flag.FlagSet, getenv func(string) string) func() (*adminClient, error) {
	dataDir := server.DefaultDataDir
	if d := getenv("LATCHKEY_DATA_DIR"); d != "" {
		dataDir = d
	}
	fs.StringVar(&dataDir, "data-dir", dataDir, "the server's data `directory` (env LATCHKEY_DATA_DIR): endpoints.json, admin.token, tls/ca.pem")
	return func() (*adminClient, error) { return openAdmin(dataDir) }
}

// openAdmin reads what the client needs from the data directory. Its
// errors say which file is missing and why it matters.
func openAdmin(dataDir string) (*adminClient, error) {
	eps, err := server.ReadEndpoints(dataDir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w (is `latchkey serve --data-dir %s` running?)", filepath.Join(dataDir, server.EndpointsFile), err, dataDir)
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, server.AdminTokenFile))
	if err != nil {
		return nil, fmt.Errorf("reading the admin token: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dataDir, server.TLSDir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("reading the CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no certificate", filepath.Join(dataDir, server.TLSDir, "ca.pem"))
	}
	return &adminClient{
		base:  "https://" + eps.HTTPS,
		token: strings.TrimSpace(string(tok)),
		hc: &http.Client{
			// The server is on this machine: no proxy.
			Transport: &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
			Timeout:   adminTimeout,
		},
	}, nil
}

// apiError is an error answer of the internal API.
type apiError struct {
	Status int
	Err    string `json:"error"`
	Code   string `json:"code"`
	Field  string `json:"field"`
}

func (e *apiError) Error() string {
	s := e.Err
	if e.Field != "" && !strings.Contains(s, e.Field) {
		s += " (" + e.Field + ")"
	}
	return fmt.Sprintf("%s [%d %s]", s, e.Status, e.Code)
}

// call sends body (JSON-encoded unless it is a []byte) and returns the
// raw answer of a 2xx; other answers become an *apiError.
func (c *adminClient) call(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/yaml"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(raw, e) != nil || e.Err == "" {
			e.Err = http.StatusText(resp.StatusCode)
		}
		return raw, e
	}
	return raw, nil
}

// callJSON is call decoding the answer into out.
func (c *adminClient) callJSON(ctx context.Context, method, path string, body, out any) error {
	raw, err := c.call(ctx, method, path, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the expected JSON: %w", method, path, err)
	}
	return nil
}

// parseFlags parses args with fs, printing help (usage, flags, examples)
// to stdout for -h/--help. It returns done when help was printed.
func parseFlags(fs *flag.FlagSet, args []string, usage, examples string, stdout io.Writer) (done bool, err error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			io.WriteString(stdout, examples)
			return true, nil
		}
		return false, usageError{fmt.Errorf("%s: %w (see 'latchkey %s --help')", fs.Name(), err, fs.Name())}
	}
	return false, nil
}

// interleave lets flags follow positional arguments (latchkey inspect ID
// --json): the flag package stops at the first non-flag. It reorders
// args so every flag comes first; isBool tells which flags take no value.
func interleave(args []string, isBool func(name string) bool) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && !isBool(name) && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, rest...)
}

// boolFlags returns isBool for fs.
func boolFlags(fs *flag.FlagSet) func(string) bool {
	return func(name string) bool {
		f := fs.Lookup(name)
		if f == nil {
			return false
		}
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return ok && b.IsBoolFlag()
	}
}

// printJSON writes raw JSON as it came, indented.
func printJSON(w io.Writer, raw []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		w.Write(raw)
		return
	}
	buf.WriteByte('\n')
	w.Write(buf.Bytes())
}
