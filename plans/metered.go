package plans

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// metered wraps the body of a for expression: each evaluation, one per
// iteration, spends a step, so nested loops cannot multiply into hours.
// Embedding the hclsyntax expression keeps it a valid hclsyntax node.
type metered struct {
	hclsyntax.Expression
	b   *budget
	rng hcl.Range // the whole for expression
}

func (m *metered) Value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	if !m.b.spend(1) {
		return cty.DynamicVal, m.b.exhaustedDiag(m.rng)
	}
	v, diags := m.Expression.Value(ctx)
	if diags.HasErrors() {
		return v, diags
	}
	if err := m.b.checkSize(v); err != nil {
		if err == errSpent {
			return cty.DynamicVal, append(diags, m.b.exhaustedDiag(m.rng)...)
		}
		return cty.DynamicVal, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Value too large", Detail: capitalize(err.Error()) + ".", Subject: m.rng.Ptr(),
		})
	}
	return v, diags
}

// meter wraps the bodies of the for expressions in expr (native syntax)
// for one evaluation; restore puts the tree back, so reference analysis
// (Variables) sees the original nodes.
func (b *budget) meter(expr hcl.Expression) (restore func()) {
	root, ok := expr.(hclsyntax.Node)
	if !ok {
		return func() {}
	}
	var loops []*hclsyntax.ForExpr
	hclsyntax.VisitAll(root, func(n hclsyntax.Node) hcl.Diagnostics {
		if fe, ok := n.(*hclsyntax.ForExpr); ok {
			loops = append(loops, fe)
		}
		return nil
	})
	var undo []func()
	for _, fe := range loops {
		fe := fe
		key, val, cond := fe.KeyExpr, fe.ValExpr, fe.CondExpr
		fe.ValExpr = &metered{Expression: val, b: b, rng: fe.Range()}
		if cond != nil {
			fe.CondExpr = &metered{Expression: cond, b: b, rng: fe.Range()}
		}
		undo = append(undo, func() { fe.KeyExpr, fe.ValExpr, fe.CondExpr = key, val, cond })
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// evalMetered evaluates expr within the budget: for-expression iterations and
// function calls are metered, and the result's size is checked.
func (l *loader) evalMetered(expr hcl.Expression, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	if l.budget.spent {
		return cty.DynamicVal, l.budget.exhaustedDiag(expr.Range())
	}
	if _, native := expr.(hclsyntax.Node); !native {
		if d := l.checkJSONLoops(expr); d.HasErrors() {
			return cty.DynamicVal, d
		}
	}
	restore := l.budget.meter(expr)
	v, diags := expr.Value(ctx)
	restore()
	if diags.HasErrors() {
		return v, diags
	}
	if err := l.budget.checkSize(v); err != nil {
		if err == errSpent {
			return cty.DynamicVal, append(diags, l.budget.exhaustedDiag(expr.Range())...)
		}
		return cty.DynamicVal, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Value too large", Detail: capitalize(err.Error()) + ".", Subject: expr.Range().Ptr(),
		})
	}
	return v, diags
}
