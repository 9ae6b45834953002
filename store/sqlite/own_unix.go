//go:build unix

package sqlite

import (
	"errors"
	"os"
	"syscall"

	"github.com/latchkey/latchkey/core"
)

// own takes an exclusive flock(2) on the database file for as long as
// the returned file stays open, so that one Store, in one process, owns
// the database: its locks, leases and KindVersions rely on it. flock
// locks are apart from the POSIX locks SQLite takes; but closing any
// descriptor of the file drops the process's POSIX locks on it, so the
// file is closed only after SQLite's connections (closeAll).
func own(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, internal("sqlite.Open", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &core.Error{Kind: core.KindUnavailable, Op: "sqlite.Open", Message: "the database " + path + " is in use by another latchkey (one server owns a SQLite store; replicas share PostgreSQL)"}
		}
		return nil, internal("sqlite.Open", err)
	}
	return f, nil
}
