package sqlite

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/storetest"
)

// opener returns a storetest.Opener: one database file per test, opened
// again on a second call with the same t.
func opener() func(t *testing.T) core.Store {
	var mu sync.Mutex
	paths := map[*testing.T]string{}
	return func(t *testing.T) core.Store {
		mu.Lock()
		path, ok := paths[t]
		if !ok {
			path = filepath.Join(t.TempDir(), "latchkey.db")
			paths[t] = path
		}
		mu.Unlock()
		s, err := Open(context.Background(), path, core.SystemClock{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener())
}
