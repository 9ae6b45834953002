package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The tests need a PostgreSQL server. With LATCHKEY_TEST_POSTGRES set to
// a connection string of a role that may create databases, they use that
// server. Otherwise TestMain starts a throwaway server from the Debian
// packages' binaries (/usr/lib/postgresql/*/bin) in a temporary
// directory, listening only on a Unix socket, as the postgres user when
// run as root (initdb refuses root). Without binaries the tests skip,
// unless CI is set: then they fail.

// testServer is the admin connection string of the server the tests use,
// or why there is none.
type testServer struct {
	admin   string
	missing string
}

func TestMain(m *testing.M) {
	srv, stop, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres tests:", err)
		os.Exit(1)
	}
	server = srv
	code := m.Run()
	stop()
	os.Exit(code)
}

// server is set once by TestMain before any test runs.
var server testServer

func needServer(t testing.TB) string {
	t.Helper()
	if server.admin != "" {
		return server.admin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no PostgreSQL server: %s", server.missing)
	}
	t.Skipf("no PostgreSQL server: %s", server.missing)
	return ""
}

func startServer() (testServer, func(), error) {
	if url := os.Getenv("LATCHKEY_TEST_POSTGRES"); url != "" {
		return testServer{admin: url}, func() {}, nil
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return testServer{missing: "no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)"}, func() {}, nil
	}
	sort.Strings(bins) // the newest version last
	bin := filepath.Dir(bins[len(bins)-1])

	dir, err := os.MkdirTemp("", "lkpg")
	if err != nil {
		return testServer{}, nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return testServer{missing: "running as root and there is no postgres user to run the server as"}, func() {}, nil
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return testServer{}, nil, err
		}
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "latchkey", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return testServer{}, nil, err
	}
	// Unix socket only; fsync and synchronous_commit keep their durable
	// defaults so that benchmarks measure the real cost of a commit.
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c max_connections=300", dir)
	if err := run("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts); err != nil {
		os.RemoveAll(dir)
		return testServer{}, nil, err
	}
	stop := func() {
		run("pg_ctl", "stop", "-D", data, "-m", "immediate")
		os.RemoveAll(dir)
	}
	return testServer{admin: fmt.Sprintf("host=%s user=latchkey dbname=postgres sslmode=disable", dir)}, stop, nil
}

// newDatabase creates an empty schema and returns a connection string
// whose search_path selects it: a fresh database per test at the cost of
// a CREATE SCHEMA, not a CREATE DATABASE.
func newDatabase(t testing.TB, admin string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SEQUENCE IF NOT EXISTS public.latchkey_test_schema"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT nextval('public.latchkey_test_schema')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("latchkey_test_%d_%d", os.Getpid(), n)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err == nil {
			c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			c.Close(ctx)
		}
	})
	return admin + " search_path=" + name
}
