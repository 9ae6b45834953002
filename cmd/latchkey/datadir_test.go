//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/internal/testutil"
)

// TestDataDirectoryIsPrivate: under a umask that lets everyone read and
// write, every file latchkey and its children create in the data
// directory (SQLite's database, write-ahead log and shared memory;
// QEMU's sockets and pidfiles) is its owner's alone, and every directory
// too; only tls/ca.pem and endpoints.json may be read by others. A data
// directory left looser is tightened at the next start, which says so.
func TestDataDirectoryIsPrivate(t *testing.T) {
	qemuBin := testutil.Program(t, "qemu-system-x86_64", "apt-get install qemu-system-x86")
	// A short path: QEMU's console sockets live in it.
	dir, err := os.MkdirTemp("", "lkd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	dir = filepath.Join(dir, "data")
	args := []string{"--demo", "--console-driver", "qemu", "--qemu-binary", qemuBin}

	// The files SQLite and QEMU keep beside theirs exist while latchkey
	// runs: look then.
	old := syscall.Umask(0)
	r := serve(t, dir, args...)
	wantPrivate(t, dir, "latchkey.db-wal", "latchkey.db-shm", ".vnc", ".pid")
	err = r.stop(t)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}

	// Loosen everything, as a careless copy or restore would.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			mode := fs.FileMode(0o666)
			if d.IsDir() {
				mode = 0o777
			}
			os.Chmod(path, mode)
		}
		return nil
	})
	r = serve(t, dir, args...)
	// (A restart starts no QEMU: consoles start when first used, so the
	// sockets checked above are not there yet.)
	wantPrivate(t, dir, "latchkey.db-wal")
	log := r.stderr.String()
	for _, name := range []string{"latchkey.db", "master.key", "admin.token", "credentials.json", "server-key.pem", "ca.pem"} {
		if !strings.Contains(log, "tightened") || !strings.Contains(log, name) {
			t.Errorf("the start that tightened %s did not log it", name)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}

// wantPrivate checks the modes of everything under dir; kinds are name
// endings of which at least one file must exist.
func wantPrivate(t *testing.T, dir string, kinds ...string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		for _, k := range kinds {
			if strings.HasSuffix(rel, k) {
				seen[k] = true
			}
		}
		perm := info.Mode().Perm()
		switch {
		case d.IsDir():
			if perm != 0o700 {
				t.Errorf("directory %s has mode %v, want 0700", rel, perm)
			}
		case rel == filepath.Join("tls", "ca.pem"), rel == "endpoints.json":
			if perm&0o133 != 0 {
				t.Errorf("%s has mode %v; others may read it, no more", rel, perm)
			}
		default:
			if perm != 0o600 {
				t.Errorf("%s has mode %v, want 0600", rel, perm)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		if !seen[k] {
			t.Errorf("no file *%s in the data directory to check", k)
		}
	}
}
