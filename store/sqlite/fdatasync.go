package sqlite

import (
	"errors"

	modernc "modernc.org/sqlite"
)

// UseFdatasync makes every SQLite commit in this process sync with
// fdatasync(2) instead of fsync(2): the data and the size reach stable
// storage just the same, but the file's timestamps are not forced through
// the file system's journal, which on ext4 is often half a commit's wait.
// Native SQLite builds do this wherever fdatasync exists. The switch is
// process-wide, so the program that owns the process decides (latchkey
// serve does); on platforms without fdatasync it changes nothing.
func UseFdatasync() error {
	_, err := modernc.Fdatasync(true)
	if errors.Is(err, modernc.ErrFdatasyncUnavailable) {
		return nil
	}
	return err
}
