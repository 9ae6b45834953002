package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// nestedModules are the test modules under this directory.
func nestedModules() []string { return []string{"ehpc2018"} }

// goTool finds the go command that runs these tests.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Skip("no go command to run the nested test modules")
	}
	return p
}

// TestNestedModules runs `go test ./...` in every nested test module and
// fails with its output when it fails. -short skips it.
func TestNestedModules(t *testing.T) {
	if testing.Short() {
		t.Skip("nested modules are not run with -short")
	}
	goBin := goTool(t)
	for _, dir := range nestedModules() {
		t.Run(dir, func(t *testing.T) {
			cmd := exec.Command(goBin, "test", "-count=1", "./...")
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go test ./... in e2e/%s: %v\n%s", dir, err, out)
			}
			t.Logf("e2e/%s:\n%s", dir, out)
		})
	}
}
