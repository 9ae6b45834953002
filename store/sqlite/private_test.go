//go:build unix

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// TestDatabaseFilesArePrivate: whatever the umask, a database Open creates
// and the -wal and -shm files SQLite creates beside it have mode 0600.
func TestDatabaseFilesArePrivate(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o277} {
		path := filepath.Join(t.TempDir(), "latchkey.db")
		old := syscall.Umask(umask)
		s, err := Open(context.Background(), path, core.SystemClock{})
		if err == nil {
			err = s.Update(context.Background(), func(tx core.Tx) error {
				return tx.PutDoc(context.Background(), testDoc("private"))
			})
		}
		syscall.Umask(old)
		if err != nil {
			t.Fatalf("umask %03o: %v", umask, err)
		}
		seen := 0
		for _, f := range Files(path) {
			fi, err := os.Stat(f)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			seen++
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("umask %03o: %s has mode %v, want 0600", umask, filepath.Base(f), fi.Mode().Perm())
			}
		}
		if seen < 3 {
			t.Errorf("umask %03o: %d of the database's files exist, want the database, -wal and -shm", umask, seen)
		}
		s.Close()
	}
}
