package latchkeytest_test

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/latchkeytest"
)

// fleet is a fleet file with an ECS and a BCC instance. db-1's password
// needs the 2025 BCC policy: '-' is not one of 2020's symbols.
const fleet = `
accounts:
  - id: root
    ecs:
      - name: web-1
        region: cn-hangzhou
        io_optimized: true
        status: Running
        vnc_password: Web123
    bcc:
      - name: db-1
        region: bj
        status: Running
        admin_password: Db2025-xy
`

// idOf returns the id of the resource of kind named name.
func idOf(t *testing.T, lk *latchkeytest.Server, kind, name string) string {
	t.Helper()
	var out struct {
		Resources []struct{ ID string } `json:"resources"`
	}
	if err := lk.Admin("GET", "resources?kind="+kind+"&name="+name, nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Resources) != 1 {
		t.Fatalf("%d resources of kind %s named %s, want 1", len(out.Resources), kind, name)
	}
	return out.Resources[0].ID
}

func wantConsole(t *testing.T, lk *latchkeytest.Server, what, id, password string, want bool) {
	t.Helper()
	ok, err := lk.CheckConsolePassword(id, password)
	if err != nil || ok != want {
		t.Fatalf("%s: CheckConsolePassword = %t, %v; want %t", what, ok, err, want)
	}
}

func TestFleetPoliciesFaultsAndRestart(t *testing.T) {
	lk := latchkeytest.Start(t, latchkeytest.WithFleet([]byte(fleet)),
		latchkeytest.WithBCCPasswordPolicy("2025"), latchkeytest.WithEHPCPasswordPolicy("2024"))
	web, db := idOf(t, lk, "ecs.instance", "web-1"), idOf(t, lk, "bcc.instance", "db-1")
	wantConsole(t, lk, "ECS, the fleet's password", web, "Web123", true)
	wantConsole(t, lk, "ECS, another password", web, "Web124", false)
	// The sim console of a BCC instance asks for its administrator
	// password; VNC Authentication compares the first 8 characters.
	wantConsole(t, lk, "BCC, the fleet's password", db, "Db2025-xy", true)
	wantConsole(t, lk, "BCC, another password", db, "Db2026-xy", false)

	// The 2024 E-HPC policy wants 8 to 30 characters.
	err := lk.ApplyFleet([]byte(`
accounts:
  - id: root
    ehpc:
      - name: hpc-1
        region: cn-hangzhou
        root_password: Root#Pass1
        visual: {started: true, password: Vis123}
`))
	var ae *latchkeytest.AdminError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("a 6-character visual password under the 2024 policy: %v, want 400", err)
	}
	if strings.Contains(err.Error(), "Vis123") {
		t.Fatal("the error shows the password")
	}

	// A fault rule on opening consoles: the check cannot be made once,
	// then the rule is spent.
	rule, err := lk.AddFault(faults.Rule{Product: "ecs", Resource: web, Effect: faults.Unreachable, Operations: []faults.Operation{faults.OpOpenConsole}, Count: 1})
	if err != nil || rule.ID == "" || rule.Remaining != 1 {
		t.Fatalf("AddFault = %+v, %v", rule, err)
	}
	if _, err := lk.CheckConsolePassword(web, "Web123"); err == nil {
		t.Fatal("the console opened despite an unreachable rule")
	}
	wantConsole(t, lk, "after the rule is spent", web, "Web123", true)

	creds, first := lk.Credentials(), lk.Banner()
	if !strings.Contains(first, creds.AccessKeySecret) {
		t.Fatal("the first start's banner does not show the access key secret")
	}
	if err := lk.Restart(); err != nil {
		t.Fatal(err)
	}
	if lk.Credentials() != creds || strings.Contains(lk.Banner(), creds.AccessKeySecret) {
		t.Fatal("after a restart: other credentials, or the banner shows the secret again")
	}
	wantConsole(t, lk, "ECS after a restart", web, "Web123", true)
	if _, err := lk.CheckConsolePassword("i-nosuchinstance", "Web123"); !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		t.Fatalf("an unknown instance: %v, want the internal API's 404", err)
	}
	for _, secret := range []string{"Web123", "Db2025-xy", "Vis123", creds.AccessKeySecret} {
		if strings.Contains(lk.Logs(), secret) {
			t.Fatal("the server's log holds a password or the secret")
		}
	}
}

func TestDemo(t *testing.T) {
	lk := latchkeytest.Start(t, latchkeytest.WithDemo())
	var out struct {
		Resources []struct{ ID string } `json:"resources"`
	}
	if err := lk.Admin("GET", "resources?kind=ecs.instance", nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Resources) != 3 || !strings.Contains(lk.Banner(), out.Resources[0].ID) {
		t.Fatalf("%d demo ECS instances, want 3 listed in the banner", len(out.Resources))
	}
}

// TestReadmeShowsTheExample: README.md's "Use it from your Go tests"
// section shows example_test.go, but for the package clause.
func TestReadmeShowsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Use it from your Go tests\n")
	if !ok {
		t.Fatal(`README.md has no section "Use it from your Go tests"`)
	}
	_, block, ok := strings.Cut(section, "\n```go\n")
	block, _, closed := strings.Cut(block, "\n```\n")
	if !ok || !closed {
		t.Fatal("the section has no go code block")
	}
	example, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := strings.Cut(string(example), "\nimport (")
	_, got, _ := strings.Cut(block, "\nimport (")
	if got+"\n" != want {
		t.Errorf("README.md's example differs from latchkeytest/example_test.go after the package clause:\n%s", got)
	}
}
