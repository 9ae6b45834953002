//go:build !unix

package sqlite

import "os"

// own opens the database file: without flock(2), ownership is the
// operator's to keep (one server per SQLite store).
func own(path string) (*os.File, error) { return os.Open(path) }
