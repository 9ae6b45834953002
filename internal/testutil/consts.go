package testutil

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Constant is a constant read from Go source.
type Constant struct {
	Name  string // its identifier
	Value string // the value of its string literal
	File  string // the file that declares it, as matched by the pattern
}

// StringConstants reads the non-test Go files that match the glob pattern
// and returns, by name, every constant declared with the type typeName
// written out ("Reason" in `ReasonNone Reason = ""`). Reading the source
// rather than a hand-kept list lets a table test see a constant the day
// it is added. A constant of that type whose value is not a string
// literal fails the test, so that none is passed over unseen. A pattern
// that matches no file, or a file that does not parse, fails it too.
func StringConstants(t testing.TB, pattern, typeName string) map[string]Constant {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := map[string]Constant{}
	read := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		read++
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typeName {
					continue
				}
				for i, n := range vs.Names {
					var lit *ast.BasicLit
					if i < len(vs.Values) {
						lit, _ = vs.Values[i].(*ast.BasicLit)
					}
					if lit == nil || lit.Kind != token.STRING {
						t.Fatalf("%s: constant %s of type %s has no string literal value", fset.Position(n.Pos()), n.Name, typeName)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
					}
					found[n.Name] = Constant{Name: n.Name, Value: v, File: name}
				}
			}
		}
	}
	if read == 0 {
		t.Fatalf("no Go file matches %s", pattern)
	}
	return found
}
