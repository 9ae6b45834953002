package vault

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFileName is the master key's file name inside the data directory
// (PRODUCT.md §1).
const KeyFileName = "master.key"

// LoadOrCreateKey returns the master key stored at path, creating the file
// with a new random key on first use. The file holds exactly KeySize raw
// bytes and has mode 0600.
//
// It refuses a key file that group or others may read or write (the key
// would no longer be secret) and one of the wrong length (a truncated or
// foreign file: silently replacing it would orphan every sealed secret).
// Creation is atomic: the key is written and synced to a temporary file
// that is then linked into place, so a crash leaves either no key file or
// a complete one, and two processes starting at once end up with the same
// key.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKey(path, rand.Reader); err != nil {
		return nil, err
	}
	return loadKey(path)
}

func loadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("master key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("master key %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("master key %s has mode %04o: group and others must have no access; run chmod 600 %s", path, perm, path)
	}
	if st.Size() != KeySize {
		return nil, fmt.Errorf("master key %s holds %d bytes, want %d: refusing a truncated or foreign key file", path, st.Size(), KeySize)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("master key %s: %w", path, err)
	}
	return key, nil
}

// createKey writes a new key to path unless a key file appears there
// first; either way it returns nil once path holds a key file.
func createKey(path string, random io.Reader) (err error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(random, key); err != nil {
		return fmt.Errorf("master key: no randomness: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".master.key.*")
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("master key: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return fmt.Errorf("master key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("master key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	// Link, unlike rename, fails when path exists: a key made concurrently
	// by another process wins and is never overwritten.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("master key: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("master key: sync %s: %w", dir, err)
	}
	return nil
}
