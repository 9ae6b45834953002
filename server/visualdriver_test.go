package server

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateVisualDriver(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "agent.token"), []byte("agent-token-0123456789abcdef\n"), 0o600)
	agents := filepath.Join(dir, "agents.yaml")
	os.WriteFile(agents, []byte("token_file: agent.token\nagents:\n  - address: 10.0.5.17\n    url: https://login0.hpc.example:7443\n"), 0o600)
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("agents:\n  - address: 10.0.5.17\n    url: https://login0:7443\n"), 0o600)

	for _, c := range []struct {
		name   string
		driver string
		agents string
		logins string
		want   string // "" for valid
	}{
		{"default", "", "", "", ""},
		{"sim", "sim", "", "127.40.0.0/24", ""},
		{"sim with agents", "sim", agents, "", ""},
		{"tigervnc", "tigervnc", agents, "", ""},
		{"tigervnc on real addresses", "tigervnc", agents, "10.0.5.16/28", ""},
		{"sim on real addresses", "sim", "", "10.0.5.16/28", "loopback"},
		{"tigervnc without agents", "tigervnc", "", "", "--visual-agents"},
		{"broken agents file", "tigervnc", broken, "", "token_file"},
		{"unknown driver", "xpra", "", "", "--visual-driver"},
	} {
		cfg := Defaults()
		cfg.DataDir = dir
		cfg.VisualDriver, cfg.VisualAgents = c.driver, c.agents
		if c.logins != "" {
			cfg.EHPCLoginAddresses = netip.MustParsePrefix(c.logins)
		}
		err := cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error mentioning %s", c.name, err, c.want)
		}
	}
}
