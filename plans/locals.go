package plans

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// decodeLocals evaluates the locals blocks in dependency order. Locals
// may use variables and other locals; a cycle among them is reported by
// naming it, and its members become unknown so nothing that uses them
// is reported again.
func (l *loader) decodeLocals(blocks []*hcl.Block) {
	order := l.declareLocals(blocks)
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case done:
			return
		case visiting:
			// stack holds the path; the cycle starts where name is.
			i := len(stack) - 1
			for stack[i] != name {
				i--
			}
			cycle := append(append([]string(nil), stack[i:]...), name)
			for _, n := range cycle {
				l.locals[n] = cty.DynamicVal
				state[n] = done
			}
			a := l.localDecls[name]
			l.errorf(a.NameRange, "Cycle in local values",
				"locals cycle: %s. A local value cannot depend on itself; break the cycle.",
				prefixJoin("local.", cycle))
			return
		}
		state[name] = visiting
		stack = append(stack, name)
		for _, dep := range l.localDeps(l.localDecls[name]) {
			visit(dep)
		}
		stack = stack[:len(stack)-1]
		if state[name] == done {
			return // became part of a cycle
		}
		state[name] = done
		l.buildContext()
		a := l.localDecls[name]
		if v, ok := l.eval(a.Expr, cty.DynamicPseudoType, "local."+name, true); ok {
			l.locals[name] = v
		} else {
			l.locals[name] = cty.DynamicVal
		}
		l.localOrder = append(l.localOrder, name)
	}
	for _, a := range order {
		visit(a.Name)
	}
}

// declareLocals records every local's declaration, reporting duplicates,
// and returns them in the order written.
func (l *loader) declareLocals(blocks []*hcl.Block) []*hcl.Attribute {
	var order []*hcl.Attribute
	for _, b := range blocks {
		attrs, d := b.Body.JustAttributes()
		l.diags = append(l.diags, d...)
		for _, a := range sortedAttrs(attrs) {
			if prev, dup := l.localDecls[a.Name]; dup {
				l.errorf(a.NameRange, fmt.Sprintf("Duplicate local value %q", a.Name),
					"local.%s is already defined at %s.", a.Name, shortRange(prev.NameRange))
				continue
			}
			l.localDecls[a.Name] = a
			order = append(order, a)
		}
	}
	return order
}

// localDeps names the declared locals that a's expression refers to.
func (l *loader) localDeps(a *hcl.Attribute) []string {
	var out []string
	for _, t := range a.Expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		if ta, ok := t[1].(hcl.TraverseAttr); ok {
			if _, declared := l.localDecls[ta.Name]; declared {
				out = append(out, ta.Name)
			}
		}
	}
	return out
}

func prefixJoin(prefix string, names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = prefix + n
	}
	return strings.Join(parts, " -> ")
}
