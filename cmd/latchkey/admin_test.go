package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/server"
)

// latchkey runs one subcommand in-process with env as its environment
// and returns its output and error.
func latchkey(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"latchkey"}, args...), func(k string) string { return env[k] }, &out, &out)
	return out.String(), err
}

func TestAdminCommandsHelp(t *testing.T) {
	for _, cmd := range []string{"fleet", "inspect", "check-password", "faults", "audit"} {
		out, err := latchkey(t, nil, cmd, "--help")
		if err != nil || !strings.Contains(out, "Examples:") || !strings.Contains(out, "-data-dir") {
			t.Errorf("%s --help = %v:\n%s", cmd, err, out)
		}
		out, err = latchkey(t, nil, "help", cmd)
		if err != nil || !strings.Contains(out, "Examples:") {
			t.Errorf("help %s = %v", cmd, err)
		}
	}
	out, _ := latchkey(t, nil, "help")
	for _, cmd := range []string{"fleet", "inspect", "check-password", "faults", "audit"} {
		if !strings.Contains(out, "  "+cmd+" ") {
			t.Errorf("latchkey help does not list %s", cmd)
		}
	}
	var u usageError
	if _, err := latchkey(t, nil, "faults", "explode"); !errors.As(err, &u) {
		t.Errorf("faults explode = %v, want a usage error", err)
	}
	if _, err := latchkey(t, nil, "check-password", "i-x"); !errors.As(err, &u) {
		t.Errorf("check-password without a password = %v, want a usage error", err)
	}
}

const cliFleet = `accounts:
  - id: root
    ecs:
      - name: cli-web
        vnc_password: Cli123
    bcc:
      - name: cli-db
        admin_password: Cli2020!
`

func TestAdminCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	serve(t, dir)
	env := map[string]string{"LATCHKEY_DATA_DIR": dir}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(cliFleet), 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := latchkey(t, env, "fleet", "apply", file)
	if err != nil || !strings.Contains(out, "created") || !strings.Contains(out, "cli-web") {
		t.Fatalf("fleet apply = %v:\n%s", err, out)
	}
	id := regexp.MustCompile(`i-bp[0-9a-z]+`).FindString(out)
	if id == "" {
		t.Fatalf("fleet apply shows no ECS instance id:\n%s", out)
	}
	out, err = latchkey(t, env, "fleet", "apply", file, "--data-dir", dir)
	if err != nil || !strings.Contains(out, "nothing changed") {
		t.Errorf("second fleet apply = %v:\n%s", err, out)
	}

	out, err = latchkey(t, env, "inspect")
	if err != nil || !strings.Contains(out, "ecs.instance") || !strings.Contains(out, id) || !strings.Contains(out, "Running") {
		t.Errorf("inspect = %v:\n%s", err, out)
	}
	out, err = latchkey(t, env, "inspect", id)
	if err != nil || !strings.Contains(out, `"VNCPassword": "[redacted]"`) || strings.Contains(out, "Cli123") {
		t.Errorf("inspect %s = %v:\n%s", id, err, out)
	}
	if _, err := latchkey(t, env, "inspect", "i-nothere"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("inspect of an unknown id = %v", err)
	}

	env["LATCHKEY_PASSWORD"] = "Cli123"
	if out, err := latchkey(t, env, "check-password", id); err != nil || strings.TrimSpace(out) != "match" {
		t.Errorf("check-password right = %v: %s", err, out)
	}
	env["LATCHKEY_PASSWORD"] = "Cli124"
	if out, err := latchkey(t, env, "check-password", id); !errors.Is(err, errNoMatch) || strings.Contains(out, "Cli124") {
		t.Errorf("check-password wrong = %v: %s", err, out)
	}
	delete(env, "LATCHKEY_PASSWORD")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("Cli2020!\n"), 0o600)
	db := ""
	out, _ = latchkey(t, env, "inspect", "--kind", "bcc.instance")
	if m := regexp.MustCompile(`i-[A-Za-z0-9]{8}\b`).FindString(out); m != "" {
		db = m
	}
	if out, err := latchkey(t, env, "check-password", "--password-file", pwFile, "--quiet", db); err != nil || out != "" {
		t.Errorf("check-password of the BCC guest from a file = %v: %q", err, out)
	}

	// A fault rule, hit through the SDK, then found in the audit log.
	out, err = latchkey(t, env, "faults", "add", "--product", "ecs", "--resource", id, "--effect", "unreachable", "--count", "1")
	if err != nil || !strings.Contains(out, "fault-") || !strings.Contains(out, "next 1 of 1") {
		t.Fatalf("faults add = %v:\n%s", err, out)
	}
	if out, err := latchkey(t, env, "faults", "list"); err != nil || !strings.Contains(out, id) {
		t.Errorf("faults list = %v:\n%s", err, out)
	}
	creds, err := server.ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := rootECS(t, dir)
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", id, "New123"
	_, err = c.ModifyInstanceVncPasswd(req)
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.ErrorCode() != "InstanceNotReady" {
		t.Fatalf("ModifyInstanceVncPasswd under the rule = %v", err)
	}
	env["LATCHKEY_PASSWORD"] = "Cli123"
	if _, err := latchkey(t, env, "check-password", id); err != nil {
		t.Errorf("the live password changed under the rule: %v", err)
	}
	out, err = latchkey(t, env, "audit", "--resource", id, "--since", "5m")
	if err != nil || !strings.Contains(out, "ModifyInstanceVncPasswd") || !strings.Contains(out, "InstanceNotReady") || !strings.Contains(out, creds.AccessKeyID) {
		t.Errorf("audit = %v:\n%s", err, out)
	}
	if out, err := latchkey(t, env, "audit", "--principal", creds.AccessKeyID, "--json"); err != nil || !strings.Contains(out, `"result": "InstanceNotReady"`) {
		t.Errorf("audit --json = %v:\n%s", err, out)
	}
	latchkey(t, env, "faults", "add", "--product", "bcc", "--effect", "latency", "--latency", "10ms")
	if out, err := latchkey(t, env, "faults", "clear", "--product", "bcc"); err != nil || !strings.Contains(out, "1 rules removed") {
		t.Errorf("faults clear = %v: %s", err, out)
	}
	if _, err := latchkey(t, env, "faults", "add", "--product", "ecs", "--effect", "teleport"); err == nil || !strings.Contains(err.Error(), "effect") {
		t.Errorf("faults add with a bad effect = %v", err)
	}

	// Reset: empty, then the demo fleet.
	if out, err := latchkey(t, env, "fleet", "reset"); err != nil || !strings.Contains(out, "removed") {
		t.Errorf("fleet reset = %v: %s", err, out)
	}
	if out, _ := latchkey(t, env, "inspect", "--kind", "ecs.instance"); strings.Contains(out, id) {
		t.Errorf("after reset the instance is still listed:\n%s", out)
	}
	if out, err := latchkey(t, env, "fleet", "reset", "--demo"); err != nil || !strings.Contains(out, "demo-web-1") {
		t.Errorf("fleet reset --demo = %v:\n%s", err, out)
	}
	if out, err := latchkey(t, env, "fleet", "demo"); err != nil || !strings.Contains(out, "accounts:") {
		t.Errorf("fleet demo = %v:\n%s", err, out)
	}

	// Without the right token every command is refused.
	tokenFile := filepath.Join(dir, server.AdminTokenFile)
	tok, _ := os.ReadFile(tokenFile)
	os.WriteFile(tokenFile, []byte("0000000000000000000000000000000000000000000000000000000000000000\n"), 0o600)
	defer os.WriteFile(tokenFile, tok, 0o600)
	for _, args := range [][]string{
		{"inspect"}, {"fleet", "apply", file}, {"fleet", "reset"}, {"check-password", id},
		{"faults", "list"}, {"faults", "add", "--product", "ecs", "--effect", "unreachable"}, {"faults", "clear"}, {"audit"},
	} {
		if _, err := latchkey(t, env, args...); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("%v with a wrong token = %v, want a 401 refusal", args, err)
		}
	}
}

// TestReadmeTestingSection follows README.md's "Testing your automation
// with latchkey" as a new user: apply its fleet file, check its
// passwords, inject its console failure, see InstanceNotReady through the
// SDK, and find the attempt in the audit log.
func TestReadmeTestingSection(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Testing your automation with latchkey")
	if !ok {
		t.Fatal("README.md has no testing section")
	}
	_, block, _ := strings.Cut(section, "```yaml\n")
	fleetYAML, _, _ := strings.Cut(block, "```")
	for _, want := range []string{"latchkey fleet apply fleet.yaml", "latchkey faults add --product ecs --resource $ID --effect unreachable --count 1", "latchkey audit --resource $ID"} {
		if !strings.Contains(section, want) {
			t.Errorf("the section lacks %q", want)
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	serve(t, dir)
	env := map[string]string{"LATCHKEY_DATA_DIR": dir}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte(fleetYAML), 0o600)
	if out, err := latchkey(t, env, "fleet", "apply", file); err != nil {
		t.Fatalf("fleet apply of the README's file = %v:\n%s", err, out)
	}
	if out, err := latchkey(t, env, "fleet", "apply", file); err != nil || !strings.Contains(out, "nothing changed") {
		t.Errorf("second apply = %v:\n%s", err, out)
	}
	id := func(args ...string) string {
		out, err := latchkey(t, env, append([]string{"inspect", "-q"}, args...)...)
		if err != nil || strings.Count(out, "\n") != 1 {
			t.Fatalf("inspect -q %v = %v: %q", args, err, out)
		}
		return strings.TrimSpace(out)
	}
	web := id("--kind", "ecs.instance", "--name", "web-1")
	for _, c := range []struct{ pw, target, resource string }{
		{"Web123", "", web},
		{"Old123", "", id("--name", "legacy-1")},
		{"Vis123", "", id("--kind", "ehpc.cluster", "--name", "hpc-1")},
		{"Alice-Pass-1", "user", id("--kind", "ehpc.cluster", "--name", "hpc-1")},
		{"Db2020!x", "", id("--name", "db-1")},
	} {
		env["LATCHKEY_PASSWORD"] = c.pw
		args := []string{"check-password", "--quiet", c.resource}
		if c.target != "" {
			args = append(args, "--target", c.target, "--user", "alice01")
		}
		if _, err := latchkey(t, env, args...); err != nil {
			t.Errorf("check-password %s %s: %v", c.resource, c.target, err)
		}
	}
	if _, err := latchkey(t, env, "faults", "add", "--product", "ecs", "--resource", web, "--effect", "unreachable", "--count", "1"); err != nil {
		t.Fatal(err)
	}
	client := rootECS(t, dir)
	for i, want := range []string{"InstanceNotReady", ""} {
		req := ecs.CreateModifyInstanceVncPasswdRequest()
		req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", web, "New123"
		_, err := client.ModifyInstanceVncPasswd(req)
		var se *sdkerrors.ServerError
		got := ""
		if errors.As(err, &se) {
			got = se.ErrorCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("call %d: %q, want %q", i, got, want)
		}
		if i == 0 {
			env["LATCHKEY_PASSWORD"] = "Web123"
			if _, err := latchkey(t, env, "check-password", web); err != nil {
				t.Errorf("after InstanceNotReady the live password changed: %v", err)
			}
		}
	}
	out, err := latchkey(t, env, "audit", "--resource", web, "--since", "10m")
	if err != nil || !strings.Contains(out, "InstanceNotReady") || !strings.Contains(out, "Success") {
		t.Errorf("audit = %v:\n%s", err, out)
	}
	// The other account: its chosen keys sign, its state refuses E-HPC,
	// and its RAM user is denied the password change.
	other, _ := ecs.NewClientWithAccessKey("cn-hangzhou", "LTAItestoperator000001", "operator-secret-000000001")
	other.Domain = client.Domain
	req := ecs.CreateModifyInstanceVncPasswdRequest()
	req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", "i-bp1nothere000000000", "New123"
	_, err = other.ModifyInstanceVncPasswd(req)
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) || se.ErrorCode() != "Forbidden.RAM" {
		t.Errorf("the operator's ModifyInstanceVncPasswd = %v, want Forbidden.RAM", err)
	}
}
