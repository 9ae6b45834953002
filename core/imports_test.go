package core

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCoreImportsNoTransportOrProvider keeps the contract of doc.go: core
// imports only the standard library, and none of its transports. With
// nothing but standard-library imports, no provider package or other
// latchkey package can be reached from core either.
func TestCoreImportsNoTransportOrProvider(t *testing.T) {
	forbidden := []string{"net/http", "net/rpc", "net/smtp", "database/sql", "os/exec"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first := strings.SplitN(path, "/", 2)[0]
			if strings.Contains(first, ".") {
				t.Errorf("%s imports %s: core imports only the standard library", name, path)
			}
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s: core imports no transport", name, path)
				}
			}
		}
	}
}
