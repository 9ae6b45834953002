package server_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/vault"
)

// startPostgres starts a throwaway PostgreSQL server from the Debian
// packages' binaries in a temporary directory, listening on a Unix socket
// only (as the postgres user when run as root: initdb refuses root), and
// returns a postgres:// URL for it. Without the binaries the test skips,
// except under CI.
func startPostgres(t *testing.T) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL is required in CI (apt-get install postgresql)")
		}
		t.Skip("PostgreSQL is not installed")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "lkpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	pg := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := pg("initdb", "-D", data, "-U", "latchkey", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	if err := pg("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(dir, "log"), "-o", "-k "+dir+" -c listen_addresses=''"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg("pg_ctl", "stop", "-D", data, "-m", "immediate") })
	return "postgres://latchkey@/postgres?host=" + dir + "&sslmode=disable"
}

// TestPostgresReplicas runs two latchkey replicas on one PostgreSQL store
// (PRODUCT.md §1 --store, §6): they share the master key, the second finds
// the first's account and writes the same credentials.json, sees its
// instances, and its console takes the live password the first set.
func TestPostgresReplicas(t *testing.T) {
	pgURL := startPostgres(t)
	store := testenv.WithConfig(func(c *server.Config) { c.Store = pgURL })

	a := testenv.Start(t, store)
	ca := a.ECS(t)
	id := runInstance(t, ca, "optimized")
	setVNCPassword(t, ca, id, "Repl1c")

	// A replica needs the master key that sealed the shared secrets.
	dirB := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dirB, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(a.DataDir, vault.KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, vault.KeyFileName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	b := testenv.Start(t, store, testenv.WithDataDir(dirB))
	if b.Credentials != a.Credentials {
		t.Fatal("the second replica's credentials.json differs from the first's")
	}
	cb := b.ECS(t)
	req := ecs.CreateDescribeInstancesRequest()
	req.RegionId = testenv.Region
	resp, err := cb.DescribeInstances(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Instances.Instance) != 1 || resp.Instances.Instance[0].InstanceId != id {
		t.Fatalf("the second replica sees %d instances, want the first's one", len(resp.Instances.Instance))
	}
	if err := consoleLogin(t, b, cb, id, "Repl1c"); err != nil {
		t.Errorf("the second replica's console with the live password: %v", err)
	}
}
