package latchkeytest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestImportsNoCloudSDK keeps the package's promise: a module that
// imports latchkeytest builds only the cloud clients it uses itself.
func TestImportsNoCloudSDK(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("go list: %v", err)
		}
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, sdk := range []string{"github.com/aliyun/", "github.com/alibabacloud-go/", "github.com/baidubce/"} {
			if strings.HasPrefix(pkg, sdk) {
				t.Errorf("latchkeytest depends on %s", pkg)
			}
		}
	}
}
