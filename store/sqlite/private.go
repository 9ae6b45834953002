package sqlite

import (
	"errors"
	"io/fs"
	"os"
)

// Files holds the paths of the database at path: the database file and
// the files SQLite keeps beside it (the write-ahead log, the shared-memory
// index, a rollback journal). They hold password hashes and sealed
// secrets, so they are private to their owner.
func Files(path string) []string {
	return []string{path, path + "-wal", path + "-shm", path + "-journal"}
}

// createPrivate creates the database file empty with mode 0600 when it
// does not exist, whatever the umask. SQLite itself would create it with
// 0644 less the umask; it gives the -wal, -shm and -journal files the
// mode of the database file (and sets it on them exactly), so all of
// them are private from the start. An existing file is left as it is.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // the umask may have taken bits
		f.Close()
		return err
	}
	return f.Close()
}
