package contract

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestErrorTypesNamedAfterTheirValue: every error type constant is Err
// followed by its value, and no two share a value, so a type read in a
// history or a log names exactly one constant.
func TestErrorTypesNamedAfterTheirValue(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: want a string literal value", n.Name)
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				if n.Name != "Err"+v {
					t.Errorf("%s = %q: name it Err%s", n.Name, v, v)
				}
				if prev, dup := seen[v]; dup {
					t.Errorf("%s and %s share the value %q", prev, n.Name, v)
				}
				seen[v] = n.Name
			}
		}
	}
	if len(seen) < 20 {
		t.Fatalf("found %d error types in errors.go; the parse missed them", len(seen))
	}
}

// TestContractImportsNothingThatDials: the workflows compile against this
// package, so it imports no module package at all and, of the standard
// library, only what plain data needs.
func TestContractImportsNothingThatDials(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goTool, "list", "-f", "{{join .Imports \"\\n\"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{"time": true}
	imports := strings.Fields(string(out))
	if len(imports) == 0 {
		t.Fatal("go list printed no imports; contract uses at least time")
	}
	for _, d := range imports {
		if !allowed[d] {
			t.Errorf("contract imports %s; keep it plain data (allowed: time)", d)
		}
	}
}
