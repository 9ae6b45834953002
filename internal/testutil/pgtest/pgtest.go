// Package pgtest starts throwaway PostgreSQL servers for tests, from the
// binaries of Debian's postgresql packages (/usr/lib/postgresql/*/bin).
package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/internal/testutil"
)

// ErrUnavailable is what Start's error matches when PostgreSQL cannot run
// on this machine: its binaries are missing, or the process is root and
// there is no postgres user to run the server as (initdb refuses root).
var ErrUnavailable = errors.New("no PostgreSQL server can be started here")

// Server is a running throwaway server. It listens on a Unix socket in
// its own temporary directory only, trusts every local connection, and
// has a superuser role latchkey. Its fsync and synchronous_commit keep
// their durable defaults, so that benchmarks measure a real commit.
type Server struct {
	dir  string
	once sync.Once
	stop func()
}

// Start initialises a data directory and starts a server on it. The
// caller stops it with Stop. Start's error matches ErrUnavailable when
// PostgreSQL cannot run here.
func Start() (*Server, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return nil, fmt.Errorf("%w: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)", ErrUnavailable)
	}
	sort.Strings(bins) // the newest version last
	bin := filepath.Dir(bins[len(bins)-1])
	var cred *syscall.Credential
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root and there is no postgres user to run the server as", ErrUnavailable)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: a Unix socket's path must stay short.
	dir, err := os.MkdirTemp("", "lkpg")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
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
		return nil, err
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c max_connections=300", dir)
	if err := run("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &Server{dir: dir, stop: func() {
		run("pg_ctl", "stop", "-D", data, "-m", "immediate")
		os.RemoveAll(dir)
	}}, nil
}

// Need starts a server for t and stops it when t ends. When PostgreSQL
// cannot run here it skips t, or fails it when CI is set
// (testutil.Missing); any other failure to start fails t.
func Need(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if errors.Is(err, ErrUnavailable) {
		testutil.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server at once and removes its directory. Calls after
// the first do nothing.
func (s *Server) Stop() { s.once.Do(s.stop) }

// DSN is a keyword/value connection string for database postgres as role
// latchkey.
func (s *Server) DSN() string {
	return fmt.Sprintf("host=%s user=latchkey dbname=postgres sslmode=disable", s.dir)
}

// URL is DSN as a postgres:// URL.
func (s *Server) URL() string {
	return "postgres://latchkey@/postgres?host=" + s.dir + "&sslmode=disable"
}
