package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/testutil"
)

// TestRestartBannerListsFleet: a later start shows no demo fleet, so its
// banner says how to list it, and the command it prints lists the demo
// instances.
func TestRestartBannerListsFleet(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := serve(t, dir, "--demo")
	fleet := parseDemoFleet(t, first.stdout.String())
	if err := first.stop(t); err != nil {
		t.Fatal(err)
	}

	later := serve(t, dir)
	want := "latchkey inspect --data-dir " + dir
	if !strings.Contains(later.stdout.String(), want) {
		t.Fatalf("a later start's banner does not say %q:\n%s", want, later.stdout)
	}
	out := new(testutil.Buffer)
	if err := run(context.Background(), []string{"latchkey", "inspect", "--data-dir", dir}, func(string) string { return "" }, out, out); err != nil {
		t.Fatalf("%s: %v\n%s", want, err, out)
	}
	for _, row := range fleet {
		if !strings.Contains(out.String(), row.id) {
			t.Errorf("%s does not list demo instance %s:\n%s", want, row.id, out)
		}
	}
}
