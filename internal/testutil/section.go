package testutil

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Section is a generated part of a checked-in text file, such as one
// front end's table in COVERAGE.md. It runs from a line Begin to a line
// End; the rest of the file, other generators' sections included, is
// left as it is.
type Section struct {
	File       string // the file, relative to the test's working directory
	Begin, End string // the marker lines, without their newline
	Title      string // what a file that does not exist yet starts with
	Regenerate string // the command that rewrites the section, named when it is stale
	Rewrite    bool   // write the section instead of checking it (for go generate)
}

// Check fails t unless the section of s.File holds exactly body (the lines
// between the markers, each ending in a newline). With s.Rewrite it puts
// body there instead, writing the file only when that changes it. A file
// without the section gets it appended, after s.Title when the file does
// not exist.
func (s Section) Check(t testing.TB, body string) {
	t.Helper()
	cur, err := os.ReadFile(s.File)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	want := s.Begin + "\n" + body + s.End + "\n"
	next := s.splice(cur, want)
	if bytes.Equal(cur, next) {
		return
	}
	if s.Rewrite {
		if err := os.WriteFile(s.File, next, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	abs, _ := filepath.Abs(s.File)
	t.Errorf("%s is stale; run `%s`. Want section:\n%s", abs, s.Regenerate, want)
}

// splice returns file with its section replaced by section, or with
// section appended, after a blank line, when file has none.
func (s Section) splice(file []byte, section string) []byte {
	f := string(file)
	i := strings.Index(f, s.Begin)
	j := strings.Index(f, s.End)
	if i >= 0 && j > i {
		rest := strings.TrimPrefix(f[j+len(s.End):], "\n")
		return []byte(f[:i] + section + rest)
	}
	switch {
	case f == "":
		f = s.Title
	case !strings.HasSuffix(f, "\n\n"):
		f = strings.TrimRight(f, "\n") + "\n\n"
	}
	return []byte(f + section)
}
