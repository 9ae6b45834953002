package tigervnc_test

import (
	"encoding/pem"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/agent/agenttest"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/visual/tigervnc"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAgents(t *testing.T) {
	dir := t.TempDir()
	const defaultToken, ownToken = "default-token-0123456789", "login1-token-0123456789"
	write(t, filepath.Join(dir, "agent.token"), defaultToken+"\n")
	write(t, filepath.Join(dir, "login1.token"), ownToken)
	file := filepath.Join(dir, "agents.yaml")
	write(t, file, `
token_file: agent.token
agents:
  - address: 127.31.0.1
    url: http://127.0.0.1:7450
  - address: ::ffff:10.0.5.18
    url: https://login1.hpc.example:7443
    token_file: login1.token
  - address: 10.0.5.19
    url: http://login2.hpc.example:7450
    insecure_http: true
`)
	agents, err := tigervnc.LoadAgents(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(agents) != 3 {
		t.Fatalf("%d agents, want 3", len(agents))
	}
	a0 := agents[netip.MustParseAddr("127.31.0.1")]
	a1 := agents[netip.MustParseAddr("10.0.5.18")]
	if a0.URL.String() != "http://127.0.0.1:7450" || a0.Token.Reveal() != defaultToken {
		t.Errorf("agent 0: %s, default token: %v", a0.URL, a0.Token.Reveal() == defaultToken)
	}
	if a1.URL.Host != "login1.hpc.example:7443" || a1.Token.Reveal() != ownToken || a1.HTTP == nil {
		t.Errorf("agent 1: %s, own token: %v", a1.URL, a1.Token.Reveal() == ownToken)
	}

	for name, c := range map[string]struct{ yaml, want string }{
		"unknown field":   {"agents:\n  - address: 10.0.0.1\n    url: https://a:1\n    token_file: agent.token\n    colour: red\n", "colour"},
		"bad address":     {"token_file: agent.token\nagents:\n  - address: login0\n    url: https://a:1\n", "agents[0].address"},
		"listed twice":    {"token_file: agent.token\nagents:\n  - address: 10.0.0.1\n    url: https://a:1\n  - address: 10.0.0.1\n    url: https://b:1\n", "listed twice"},
		"no scheme":       {"token_file: agent.token\nagents:\n  - address: 10.0.0.1\n    url: a:1\n", "agents[0].url"},
		"http on the net": {"token_file: agent.token\nagents:\n  - address: 10.0.0.1\n    url: http://login0:7450\n", "insecure_http"},
		"no token":        {"agents:\n  - address: 10.0.0.1\n    url: https://a:1\n", "token_file"},
		"missing token":   {"agents:\n  - address: 10.0.0.1\n    url: https://a:1\n    token_file: nope.token\n", "nope.token"},
		"short token":     {"agents:\n  - address: 10.0.0.1\n    url: https://a:1\n    token_file: short.token\n", "at least 16"},
		"bad CA":          {"token_file: agent.token\nca_file: agent.token\nagents:\n  - address: 10.0.0.1\n    url: https://a:1\n", "no PEM certificate"},
	} {
		write(t, filepath.Join(dir, "short.token"), "tiny-secret")
		write(t, file, c.yaml)
		_, err := tigervnc.LoadAgents(file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error mentioning %q", name, err, c.want)
			continue
		}
		for _, s := range []string{defaultToken, ownToken, "tiny-secret"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: the error quotes a token", name)
			}
		}
	}
}

// TestAgentOverTLS: an agent behind TLS, trusted through the agents
// file's ca_file, takes a password; without that CA it does not answer.
func TestAgentOverTLS(t *testing.T) {
	t.Parallel()
	env := agenttest.Start(t, agenttest.Options{})
	srv := httptest.NewTLSServer(env.Agent.Handler())
	defer srv.Close()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "agent.token"), agenttest.Token)
	write(t, filepath.Join(dir, "ca.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	file := filepath.Join(dir, "agents.yaml")
	write(t, file, "token_file: agent.token\nca_file: ca.pem\nagents:\n  - address: 127.0.0.1\n    url: "+srv.URL+"\n")
	agents, err := tigervnc.LoadAgents(file)
	if err != nil {
		t.Fatal(err)
	}
	node := core.VisualNode{NodeID: "i-tls", HostName: "login0", Address: netip.MustParseAddr("127.0.0.1"), Port: 5999, Auth: core.VisualAuthVNC}
	ctx := testutil.Context(t, hangGuard)
	if err := tigervnc.New(tigervnc.Config{Agents: agents}).SetVisualPassword(ctx, node, core.NewSecret("Abc123")); err != nil {
		t.Fatalf("over TLS with the agents file's CA: %v", err)
	}
	st, err := env.Client().Status(ctx, "i-tls")
	if err != nil || !st.PasswordSet {
		t.Fatalf("the agent did not take the password: %+v, %v", st, err)
	}

	untrusted := tigervnc.New(tigervnc.Config{Agents: map[netip.Addr]tigervnc.Agent{node.Address: {URL: agents[node.Address].URL, Token: core.NewSecret(agenttest.Token)}}})
	if err := untrusted.StopVisual(ctx, node); core.ReasonOf(err) != core.ReasonAgentTimeout {
		t.Errorf("a certificate the driver does not trust: %v, want AgentError", err)
	}
}
