package internalapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Every code the internal API answers with has its status in the one
// table, errorCodes.
func TestEveryErrorCodeHasAStatus(t *testing.T) {
	for _, code := range kindCodes {
		if _, ok := errorCodes[code]; !ok {
			t.Errorf("kind code %s has no status", code)
		}
	}
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "newError" || len(call.Args) == 0 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				return true // a code from kindCodes, checked above
			}
			code, _ := strconv.Unquote(lit.Value)
			seen++
			if _, ok := errorCodes[code]; !ok {
				t.Errorf("%s: code %s has no status in errorCodes", fset.Position(call.Pos()), code)
			}
			return true
		})
	}
	if seen == 0 {
		t.Error("found no newError call: the walk is broken")
	}
}
