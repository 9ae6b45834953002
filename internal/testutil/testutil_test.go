package testutil

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Errorf("after 800 one-byte writes the buffer holds %d bytes", len(got))
	}
}

func TestManualClockMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	c := NewManualClock(start)
	if !c.Now().Equal(start) || !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	c.Add(90 * time.Second)
	if want := start.Add(90 * time.Second); !c.Now().Equal(want) {
		t.Errorf("after Add, Now = %v, want %v", c.Now(), want)
	}
	c.Set(start.Add(-time.Hour))
	if want := start.Add(-time.Hour); !c.Now().Equal(want) {
		t.Errorf("after Set, Now = %v, want %v", c.Now(), want)
	}
	var zero ManualClock
	if !zero.Now().IsZero() {
		t.Errorf("the zero ManualClock stands at %v", zero.Now())
	}
}

func TestOffsetClockFollowsTheWallClock(t *testing.T) {
	var c OffsetClock
	within := func(off time.Duration) {
		t.Helper()
		before := time.Now().Add(off)
		got := c.Now()
		after := time.Now().Add(off)
		if got.Before(before) || got.After(after) {
			t.Errorf("Now = %v, want between %v and %v", got, before, after)
		}
	}
	within(0)
	c.Set(30 * time.Minute)
	within(30 * time.Minute)
	c.Add(-time.Hour)
	within(-30 * time.Minute)
}

func TestLoopbackPrefix(t *testing.T) {
	running := netip.MustParsePrefix("127.31.0.0/16")
	seen := map[netip.Prefix]bool{}
	for range 100 {
		p := LoopbackPrefix()
		if p.Bits() != 24 || p.Masked() != p || !p.Addr().Is4() || !p.Addr().IsLoopback() || p.Overlaps(running) {
			t.Fatalf("LoopbackPrefix = %s, want a loopback /24 outside %s", p, running)
		}
		seen[p] = true
	}
	if len(seen) < 2 {
		t.Errorf("100 calls gave %d prefix(es): not random", len(seen))
	}
}

func TestMissingSkipsOutsideCIAndFailsInIt(t *testing.T) {
	t.Setenv("CI", "")
	if f := run(t, func(tb testing.TB) { Missing(tb, "frob is not installed") }); !f.skipped || f.failed || f.msg != "frob is not installed" {
		t.Errorf("without CI: %+v, want a skip", f)
	}
	t.Setenv("CI", "1")
	if f := run(t, func(tb testing.TB) { Missing(tb, "frob is not installed") }); !f.failed || !strings.Contains(f.msg, "frob is not installed") {
		t.Errorf("with CI: %+v, want a failure", f)
	}
	f := run(t, func(tb testing.TB) { Program(tb, "latchkey-no-such-program", "apt-get install nothing") })
	if !f.failed || !strings.Contains(f.msg, "latchkey-no-such-program") || !strings.Contains(f.msg, "apt-get install nothing") {
		t.Errorf("Program of a missing program with CI: %+v, want a failure naming it", f)
	}
}

func TestProgramFindsOnPath(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "latchkey-test-tool")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got := Program(t, "latchkey-test-tool", "n/a"); got != bin {
		t.Errorf("Program = %q, want %q", got, bin)
	}
}

func TestNoProxyEmptiesProxyVariables(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
	t.Setenv("all_proxy", "socks5://proxy.invalid:1080")
	NoProxy(t)
	for _, v := range proxyVariables {
		if os.Getenv(v) != "" {
			t.Errorf("%s is still set", v)
		}
	}
	// With none set, NoProxy changes nothing, so a parallel test may call
	// it (t.Setenv would panic there).
	t.Run("parallel", func(t *testing.T) {
		t.Parallel()
		NoProxy(t)
	})
}

func TestContextOutlivesTheTestBody(t *testing.T) {
	var ctx interface{ Err() error }
	t.Run("inner", func(t *testing.T) {
		c := Context(t, time.Hour)
		ctx = c
		t.Cleanup(func() {
			if c.Err() != nil {
				t.Error("the context ended before the cleanups ran")
			}
		})
	})
	if ctx.Err() == nil {
		t.Error("the context is still live after the test ended")
	}
}

func TestSection(t *testing.T) {
	s := Section{Begin: "<!-- x: begin -->", End: "<!-- x: end -->", Title: "# Title\n\n", Regenerate: "go generate ./x"}
	sec := s.Begin + "\n" + "row\n" + s.End + "\n"
	for _, tc := range []struct{ name, file, want string }{
		{"new file", "", "# Title\n\n" + sec},
		{"appended after a blank line", "# Other\n", "# Other\n\n" + sec},
		{"appended after one", "# Other\n\n", "# Other\n\n" + sec},
		{"replaced in place", "a\n" + s.Begin + "\nold\n" + s.End + "\nb\n", "a\n" + sec + "b\n"},
		{"replaced at the end without a newline", "a\n" + s.Begin + "\nold\n" + s.End, "a\n" + sec},
	} {
		if got := string(s.splice([]byte(tc.file), sec)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}

	s.File = filepath.Join(t.TempDir(), "COVERAGE.md")
	if f := run(t, func(tb testing.TB) { s.Check(tb, "row\n") }); !f.failed || !strings.Contains(f.msg, "go generate ./x") || !strings.Contains(f.msg, sec) {
		t.Errorf("a missing file: %+v, want a failure naming the command and the section", f)
	}
	s.Rewrite = true
	s.Check(t, "row\n")
	s.Rewrite = false
	s.Check(t, "row\n")
	if got, _ := os.ReadFile(s.File); string(got) != "# Title\n\n"+sec {
		t.Errorf("the rewritten file holds %q", got)
	}
	if f := run(t, func(tb testing.TB) { s.Check(tb, "other row\n") }); !f.failed {
		t.Error("a stale section passed")
	}
}

func TestStringConstants(t *testing.T) {
	got := StringConstants(t, "testdata/consts/*.go", "Code")
	want := map[string]string{"CodeA": "A", "CodeB": "B.Raw", "CodeC": `C "quoted"`, "CodeD": "D", "CodeE": "E", "Single": "single"}
	if len(got) != len(want) {
		t.Errorf("found %v, want %v", got, want)
	}
	for name, v := range want {
		if c := got[name]; c.Value != v || c.Name != name || c.File != filepath.Join("testdata", "consts", "codes.go") {
			t.Errorf("%s = %+v, want value %q from codes.go", name, c, v)
		}
	}
	if f := run(t, func(tb testing.TB) { StringConstants(tb, "testdata/badconst/*.go", "Code") }); !f.failed || !strings.Contains(f.msg, "CodeAlias") {
		t.Errorf("a constant without a literal: %+v, want a failure naming it", f)
	}
	if f := run(t, func(tb testing.TB) { StringConstants(tb, "testdata/none/*.go", "Code") }); !f.failed {
		t.Error("a pattern without files passed")
	}
}
