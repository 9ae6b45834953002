package e2e

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/testenv"
)

// nodeSuite is the directory of the Node.js client suite: its own
// package.json and package-lock.json (exact versions), lib/ and test/.
const nodeSuite = "node"

// nodePasswords are the passwords the suite sets, by the name it records
// the resource under, with the check-password target that proves each
// took effect. They reach node through the environment only.
var nodePasswords = map[string]struct{ password, target string }{
	"popcore":  {"Node01", "console"},  // ECS VNC, pop-core (V1)
	"sha256":   {"Sha256", "console"},  // ECS VNC, ecs20140526 (V3, ACS3-HMAC-SHA256)
	"sm3":      {"SmThr3", "console"},  // ECS VNC, ecs20140526 (V3, ACS3-HMAC-SM3)
	"ehpcRoot": {"Root#Node1", ""},     // the cluster's root, the RunasUserPassword
	"visual":   {"Vis123", "visual"},   // E-HPC visual service, pop-core
	"bcc":      {"Node2020!", "guest"}, // BCC administrator, @baiducloud/sdk
}

// nodeTool finds a program the suite needs. Without it the test skips,
// except under CI, where .ci/run installs Node.js and a missing one is a
// failure.
func nodeTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run installs Node.js (Debian's nodejs and npm)", name)
	}
	t.Skipf("%s is not installed: the Node.js client suite needs Node.js 18 or later and npm", name)
	return ""
}

// TestNodeClients runs the Node.js suite (e2e/node) against a whole
// latchkey: the official clients at the versions package-lock.json pins
// come from e2e/node/node_modules when `npm ci` installed them there
// (.ci/run does), or else npm ci installs them from the registry into a
// copy of the suite; node --test runs test/*.test.js with
// the endpoints and the root access key in its environment, and then the
// passwords the suite set are checked where they live (console, visual
// service, guest). -short skips it.
func TestNodeClients(t *testing.T) {
	if testing.Short() {
		t.Skip("the Node.js client suite is not run with -short")
	}
	node, npm := nodeTool(t, "node"), nodeTool(t, "npm")

	// The suite is copied to a directory of its own, so that npm ci (which
	// removes node_modules first) never touches the source tree.
	dir := t.TempDir()
	if err := copySuite(dir); err != nil {
		t.Fatal(err)
	}
	if installed, err := filepath.Abs(filepath.Join(nodeSuite, "node_modules")); err == nil && npmInstalled(installed) {
		if err := os.Symlink(installed, filepath.Join(dir, "node_modules")); err != nil {
			t.Fatal(err)
		}
	} else {
		install := exec.Command(npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		install.Dir = dir
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in e2e/%s: %v\n%s", nodeSuite, err, out)
		}
	}
	tests, err := filepath.Glob(filepath.Join(dir, "test", "*.test.js"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no test files in e2e/%s/test (%v)", nodeSuite, err)
	}

	env := testenv.Start(t)
	results := t.TempDir()
	passwords := map[string]string{}
	for name, p := range nodePasswords {
		passwords[name] = p.password
	}
	pw, err := json.Marshal(passwords)
	if err != nil {
		t.Fatal(err)
	}
	run := exec.Command(node, append([]string{"--test"}, tests...)...)
	run.Dir = dir
	run.Env = append(nodeEnviron(),
		"NODE_EXTRA_CA_CERTS="+env.CAFile,
		"LATCHKEY_HTTP="+env.Endpoints.HTTP,
		"LATCHKEY_HTTPS="+env.Endpoints.HTTPS,
		"LATCHKEY_ACCESS_KEY_ID="+env.Credentials.AccessKeyID,
		"LATCHKEY_ACCESS_KEY_SECRET="+env.Credentials.AccessKeySecret,
		"LATCHKEY_TEST_PASSWORDS="+string(pw),
		"LATCHKEY_RESULTS="+results,
	)
	out, err := run.CombinedOutput()
	// The suite prints no secret; should a client put one in an error
	// message, it is redacted before the output is shown.
	for _, secret := range append(slices.Collect(maps.Values(passwords)), env.Credentials.AccessKeySecret) {
		out = bytes.ReplaceAll(out, []byte(secret), []byte("[redacted]"))
	}
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)

	for name, p := range nodePasswords {
		if p.target == "" {
			continue
		}
		id, err := os.ReadFile(filepath.Join(results, name))
		if err != nil {
			t.Errorf("the suite recorded no resource for %q: %v", name, err)
			continue
		}
		if !checkPassword(t, env, string(id), p.target, p.password) {
			t.Errorf("%s: the password the suite set (%s on %s) does not match", name, p.target, id)
		}
		if checkPassword(t, env, string(id), p.target, "Wr0ng1x!") {
			t.Errorf("%s: another password matches too (%s on %s)", name, p.target, id)
		}
	}
}

// copySuite copies the suite's own files (not a node_modules left by a run
// by hand) into dir.
// npmInstalled reports whether dir is a node_modules that npm ci made
// from the suite's current package-lock.json: npm writes its own copy of
// the lock's packages as .package-lock.json.
func npmInstalled(dir string) bool {
	var lock, installed struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	a, err := os.ReadFile(filepath.Join(nodeSuite, "package-lock.json"))
	if err != nil || json.Unmarshal(a, &lock) != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, ".package-lock.json"))
	if err != nil || json.Unmarshal(b, &installed) != nil {
		return false
	}
	for path, p := range lock.Packages {
		if path == "" {
			continue
		}
		if installed.Packages[path].Version != p.Version {
			return false
		}
	}
	return true
}

func copySuite(dir string) error {
	src := os.DirFS(nodeSuite)
	return fs.WalkDir(src, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" {
				return fs.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, path), 0o755)
		}
		b, err := fs.ReadFile(src, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
}

// nodeEnviron is this process's environment without what would change how
// the clients behave or make them log: DEBUG turns on the debug output of
// @baiducloud/sdk and pop-core, which prints signing keys; NODE_OPTIONS
// and the proxy variables would change how requests are made.
func nodeEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "DEBUG", "NODE_DEBUG", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS",
			"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		if strings.HasPrefix(name, "LATCHKEY_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// checkPassword asks the internal API whether password is the resource's
// password at target.
func checkPassword(t *testing.T, env *testenv.Env, resource, target, password string) bool {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(env.DataDir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]string{"resource": resource, "target": target, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", env.URL("/_latchkey/check-password"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("check-password: %v", err)
	}
	defer resp.Body.Close()
	var res struct{ Match bool }
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("check-password %s (%s): status %d, %v", resource, target, resp.StatusCode, err)
	}
	return res.Match
}
