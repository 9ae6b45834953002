package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/storetest"
)

// opener returns a storetest.Opener: one database file per test, opened
// again on a second call with the same t.
func opener() storetest.Opener {
	return storetest.Reopening(
		func(t *testing.T) string { return filepath.Join(t.TempDir(), "latchkey.db") },
		func(t *testing.T, path string) core.Store {
			s, err := Open(context.Background(), path, core.SystemClock{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener())
}
