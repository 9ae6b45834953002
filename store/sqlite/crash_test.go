package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/core"
)

const crashChildEnv = "LATCHKEY_SQLITE_CRASH_CHILD"

// TestCrashDurability runs concurrent Updates in a child process, kills it
// with SIGKILL after it acknowledged some, and checks that every Update
// acknowledged before the kill is in the database. (A killed process loses
// nothing the kernel already has, so this checks that no Update is
// acknowledged before its COMMIT; synchronous=FULL covers power loss.)
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "latchkey.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 2000 {
		if key, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked[key] = true
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 2000 {
		t.Fatalf("child acknowledged only %d Updates before it ended", len(acked))
	}

	s, err := Open(context.Background(), path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stored := map[string]bool{}
	err = s.View(context.Background(), func(tx core.Tx) error {
		docs, err := tx.ListDocs(context.Background(), core.Query{Kind: "test.doc"})
		for _, d := range docs {
			stored[d.Key] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("acked %d stored %d", len(acked), len(stored))
	lost := 0
	for key := range acked {
		if !stored[key] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged Updates are missing after the crash", lost, len(acked))
	}
}

// crashChild writes until it is killed, printing each acknowledged key.
func crashChild(path string) {
	s, err := Open(context.Background(), path, core.SystemClock{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				key := fmt.Sprintf("g%02d-%06d", g, i)
				err := s.Update(context.Background(), func(tx core.Tx) error {
					return tx.PutDoc(context.Background(), testDoc(key))
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(w, "ACK "+key)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
