package server

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/internal/pki"
)

// publicFiles are the files of the data directory that others may read:
// clients need the CA certificate and the endpoints. Everything else in
// it is its owner's alone (PRODUCT.md §6).
var publicFiles = map[string]bool{
	filepath.Join(TLSDir, pki.CAFile): true,
	EndpointsFile:                     true,
}

// tightenDataDir makes dir private, as latchkey creates it: directories
// 0700, files 0600, publicFiles at most 0644 (nobody but the owner may
// write or execute anything). It tightens what an earlier version, an
// operator or a restored backup left looser, logging each change; it
// never loosens a mode. extra are private files outside dir (a SQLite
// store elsewhere); missing ones are skipped. Symbolic links are neither
// followed nor changed.
func tightenDataDir(dir string, extra []string, log *slog.Logger) error {
	tighten := func(path string, mode fs.FileMode, public bool) error {
		mask := fs.FileMode(0o077)
		if public {
			mask = 0o033
		}
		perm := mode.Perm()
		if perm&mask == 0 || mode&fs.ModeSymlink != 0 {
			return nil
		}
		if err := os.Chmod(path, perm&^mask); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		log.Warn("data directory: tightened a mode that let others in", "path", path, "was", perm.String(), "now", (perm &^ mask).String())
		return nil
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return tighten(path, info.Mode(), publicFiles[rel])
	})
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	for _, path := range extra {
		info, err := os.Lstat(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		if err := tighten(path, info.Mode(), false); err != nil {
			return err
		}
	}
	return nil
}
