package schema

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/latchkey/latchkey/core"
)

func TestPending(t *testing.T) {
	files := fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("B")},
		"migrations/0001_a.sql": {Data: []byte("A")},
		"migrations/0003_c.sql": {Data: []byte("C")},
		"migrations/README":     {Data: []byte("not a migration")},
	}
	got, err := Pending("test", files, []string{"0002_b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{{Version: "0001_a", SQL: "A"}, {Version: "0003_c", SQL: "C"}}
	if !slices.Equal(got, want) {
		t.Errorf("Pending = %v, want %v", got, want)
	}

	_, err = Pending("test", files, []string{"0001_a", "9999_future"})
	if core.KindOf(err) != core.KindInternal || !strings.Contains(err.Error(), `"9999_future"`) {
		t.Errorf("Pending with an unknown version: err = %v, want KindInternal naming 9999_future", err)
	}
}
