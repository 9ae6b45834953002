package tigervnc

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/latchkey/latchkey/core"
)

// AgentsFile is the agents file of `latchkey serve --visual-agents`: which
// agent serves each login node, found by the node's address. Paths are
// relative to the file's directory. The file holds no secret itself: the
// tokens are in token files (mode 0600).
//
//	token_file: agent.token          # default for every agent
//	ca_file: agents-ca.pem           # default: the CA the agents' certificates chain to
//	agents:
//	  - address: 10.0.5.17           # the login node's PublicIpAddress
//	    url: https://login0.hpc.example:7443
//	  - address: 10.0.5.18
//	    url: https://login1.hpc.example:7443
//	    token_file: login1.token
//	  - address: 127.31.0.3
//	    url: http://127.0.0.1:7450   # plain HTTP: loopback only, unless insecure_http
type AgentsFile struct {
	TokenFile string       `yaml:"token_file"`
	CAFile    string       `yaml:"ca_file"`
	Agents    []AgentEntry `yaml:"agents"`
}

// AgentEntry is one login node's agent.
type AgentEntry struct {
	Address   string `yaml:"address"`
	URL       string `yaml:"url"`
	TokenFile string `yaml:"token_file"`
	CAFile    string `yaml:"ca_file"`
	// InsecureHTTP allows an http:// URL whose host is not a loopback
	// address: the token and passwords then cross the network in clear.
	InsecureHTTP bool `yaml:"insecure_http"`
}

// LoadAgents reads an agents file, its token files and CA files. Errors
// name the entry and field at fault and never quote a token.
func LoadAgents(path string) (map[netip.Addr]Agent, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("agents file: %w", err)
	}
	var f AgentsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("agents file %s: %w", path, err)
	}
	base := filepath.Dir(path)
	out := make(map[netip.Addr]Agent, len(f.Agents))
	clients := map[string]*http.Client{} // by CA file: agents that trust the same CA share connections' settings
	for i, e := range f.Agents {
		where := fmt.Sprintf("agents file %s: agents[%d]", path, i)
		addr, err := netip.ParseAddr(e.Address)
		if err != nil {
			return nil, fmt.Errorf("%s.address: want an IP address", where)
		}
		addr = addr.Unmap()
		if _, dup := out[addr]; dup {
			return nil, fmt.Errorf("%s.address: %s is listed twice", where, addr)
		}
		u, err := url.Parse(e.URL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("%s.url: want https://HOST:PORT (or http:// on loopback)", where)
		}
		if u.Scheme == "http" && !e.InsecureHTTP && !loopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("%s.url: plain HTTP to %s would carry the token and passwords in clear; use https, or set insecure_http: true", where, u.Hostname())
		}
		tokenFile := pick(e.TokenFile, f.TokenFile)
		if tokenFile == "" {
			return nil, fmt.Errorf("%s.token_file: none given, and no default token_file", where)
		}
		token, err := ReadToken(resolve(base, tokenFile))
		if err != nil {
			return nil, fmt.Errorf("%s.token_file: %w", where, err)
		}
		caFile := pick(e.CAFile, f.CAFile)
		hc := clients[caFile]
		if hc == nil {
			if hc, err = httpClient(resolve(base, caFile)); err != nil {
				return nil, fmt.Errorf("%s.ca_file: %w", where, err)
			}
			clients[caFile] = hc
		}
		out[addr] = Agent{URL: u, Token: token, HTTP: hc}
	}
	return out, nil
}

// ReadToken reads an agent token file: one line of at least 16
// characters. Its errors never quote the file's contents.
func ReadToken(path string) (core.Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return core.Secret{}, err
	}
	t := strings.TrimSpace(string(b))
	if len(t) < 16 || strings.ContainsAny(t, " \t\r\n") {
		return core.Secret{}, fmt.Errorf("%s: want one token of at least 16 characters", path)
	}
	return core.NewSecret(t), nil
}

// httpClient returns a client trusting caFile's certificates, or the
// system's roots when caFile is empty.
func httpClient(caFile string) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}

func pick(own, def string) string {
	if own != "" {
		return own
	}
	return def
}

func resolve(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// loopbackHost reports whether host can only be this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
