package plans

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// EnvPrefix is the prefix of environment variables that set plan
// variables: UMZUG_VAR_window_start sets var.window_start.
const EnvPrefix = "UMZUG_VAR_"

type varDecl struct {
	v           *Variable
	ty          cty.Type
	def         cty.Value // cty.NilVal when there is no default
	badDefault  bool      // the default was reported as invalid
	validations []*hcl.Block
	block       *hcl.Block
}

// varValue is a value given from outside the plan, with where it came from.
type varValue struct {
	raw   string         // --var and environment: text
	expr  hcl.Expression // --var-file: an expression
	rng   *hcl.Range     // where, when it is in a file
	where string         // "--var", "UMZUG_VAR_x", "--var-file f"
}

// decodeVariables reads the variable blocks and sets every variable's
// value: default < --var-file < UMZUG_VAR_name < --var name=value.
func (l *loader) decodeVariables(blocks []*hcl.Block) []*Variable {
	var out []*Variable
	for _, b := range blocks {
		name := b.Labels[0]
		if prev, dup := l.varDecls[name]; dup {
			l.errorf(b.LabelRanges[0], fmt.Sprintf("Duplicate variable %q", name),
				"Variable %q is already declared at %s.", name, shortRange(prev.block.DefRange))
			continue
		}
		d := l.decodeVariableBlock(b)
		l.varDecls[name] = d
		out = append(out, d.v)
	}

	given := l.gatherVarValues()
	for _, v := range out {
		d := l.varDecls[v.Name]
		if v.Sensitive {
			l.decodeSensitive(d, given[v.Name])
			continue
		}
		val := l.variableValue(d, given[v.Name])
		l.vars[v.Name] = val
		if val.IsWhollyKnown() {
			v.Value = renderValue(val)
		}
	}
	return out
}

func (l *loader) decodeVariableBlock(b *hcl.Block) *varDecl {
	v := &Variable{Name: b.Labels[0], Range: b.DefRange}
	d := &varDecl{v: v, ty: cty.DynamicPseudoType, block: b}
	content, diags := b.Body.Content(variableSchema)
	l.diags = append(l.diags, diags...)
	if a := content.Attributes["type"]; a != nil {
		ty, td := typeexpr.TypeConstraint(a.Expr)
		l.diags = append(l.diags, td...)
		if !td.HasErrors() {
			d.ty = ty
		}
	}
	if a := content.Attributes["description"]; a != nil {
		v.Description, _ = l.constStr(a, "description")
	}
	if a := content.Attributes["sensitive"]; a != nil {
		val, vd := l.evalMetered(a.Expr, nil)
		l.diags = append(l.diags, vd...)
		if !vd.HasErrors() {
			if bv, err := convert.Convert(val, cty.Bool); err != nil || bv.IsNull() {
				l.errorf(a.Expr.Range(), "Invalid sensitive", "sensitive must be true or false.")
			} else {
				v.Sensitive = bv.True()
			}
		}
	}
	if a := content.Attributes["default"]; a != nil {
		d.badDefault = true // until it proves good
		if len(a.Expr.Variables()) > 0 {
			l.errorf(a.Expr.Range(), "Variables not allowed",
				"A variable's default must be a constant; use a local value to derive one value from another.")
		} else {
			val, vd := l.evalMetered(a.Expr, &hcl.EvalContext{Functions: l.funcs})
			l.diags = append(l.diags, vd...)
			if !vd.HasErrors() {
				cv, err := convert.Convert(val, d.ty)
				if err != nil {
					l.errorf(a.Expr.Range(), "Invalid default value",
						"The default of variable %q does not match its type: %s.", v.Name, err)
				} else {
					d.def, d.badDefault = cv, false
				}
			}
		}
	}
	for _, vb := range content.Blocks {
		vc, vd := vb.Body.Content(validationSchema)
		l.diags = append(l.diags, vd...)
		if vd.HasErrors() {
			continue
		}
		for _, t := range vc.Attributes["condition"].Expr.Variables() {
			if t.RootName() != "var" || len(t) < 2 || !isAttr(t[1], v.Name) {
				l.errorf(t.SourceRange(), "Invalid validation condition",
					"A validation condition of variable %q can only refer to var.%s.", v.Name, v.Name)
			}
		}
		d.validations = append(d.validations, vb)
	}
	return d
}

func isAttr(step hcl.Traverser, name string) bool {
	a, ok := step.(hcl.TraverseAttr)
	return ok && a.Name == name
}

// constStr evaluates an attribute that must be a constant string.
func (l *loader) constStr(a *hcl.Attribute, what string) (string, bool) {
	val, d := l.evalMetered(a.Expr, nil)
	l.diags = append(l.diags, d...)
	if d.HasErrors() {
		return "", false
	}
	sv, err := convert.Convert(val, cty.String)
	if err != nil || sv.IsNull() || !sv.IsKnown() {
		l.errorf(a.Expr.Range(), "Incorrect value type", "%s must be a constant string.", what)
		return "", false
	}
	return sv.AsString(), true
}

// gatherVarValues collects the values given from outside, later sources
// replacing earlier ones, and reports values for undeclared variables.
func (l *loader) gatherVarValues() map[string]varValue {
	given := map[string]varValue{}
	declared := sortedKeys(l.varDecls)
	for _, vf := range l.opts.VarFiles {
		src, err := os.ReadFile(vf)
		if err != nil {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read variables file",
				Detail:   fmt.Sprintf("--var-file %s: %v", vf, err),
			})
			continue
		}
		var f *hcl.File
		var d hcl.Diagnostics
		if strings.HasSuffix(vf, ".json") {
			f, d = l.parser.ParseJSON(src, vf)
		} else {
			f, d = l.parser.ParseHCL(src, vf)
		}
		l.diags = append(l.diags, d...)
		if d.HasErrors() || f == nil {
			continue
		}
		attrs, d := f.Body.JustAttributes()
		l.diags = append(l.diags, d...)
		for _, a := range sortedAttrs(attrs) {
			if _, ok := l.varDecls[a.Name]; !ok {
				l.errorf(a.NameRange, "Value for undeclared variable",
					"The plan declares no variable %q.%s Remove it from %s or declare it.",
					a.Name, didYouMean(a.Name, declared), vf)
				continue
			}
			rng := a.Expr.Range()
			given[a.Name] = varValue{expr: a.Expr, rng: &rng, where: "--var-file " + vf}
		}
	}
	var envNames []string
	env := map[string]string{}
	for _, kv := range l.opts.Environ {
		k, v, ok := strings.Cut(kv, "=")
		name, isVar := strings.CutPrefix(k, EnvPrefix)
		if !ok || !isVar || name == "" {
			continue
		}
		envNames = append(envNames, name)
		env[name] = v
	}
	sort.Strings(envNames)
	for _, name := range envNames {
		if _, ok := l.varDecls[name]; !ok {
			// Environments outlive one plan, so a stray value there is
			// worth a warning, not a refusal.
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("%s%s is set, but the plan declares no variable %q.%s It is ignored.",
					EnvPrefix, name, name, didYouMean(name, declared)),
			})
			continue
		}
		given[name] = varValue{raw: env[name], where: EnvPrefix + name}
	}
	for _, name := range sortedKeys(l.opts.Vars) {
		if _, ok := l.varDecls[name]; !ok {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail: fmt.Sprintf("--var %s=... names no variable of this plan.%s Declared variables: %s.",
					name, didYouMean(name, declared), listOrNone(declared)),
			})
			continue
		}
		given[name] = varValue{raw: l.opts.Vars[name], where: "--var " + name}
	}
	return given
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Range.Start.Byte < out[j].Range.Start.Byte })
	return out
}

// variableValue decides a variable's value and runs its validations.
// A variable without a usable value becomes unknown, so whatever uses
// it is skipped rather than reported again.
func (l *loader) variableValue(d *varDecl, g varValue) cty.Value {
	name := d.v.Name
	subject := d.block.DefRange
	if g.rng != nil {
		subject = *g.rng
	}
	var val cty.Value
	switch {
	case g.expr != nil:
		v, diags := l.evalMetered(g.expr, &hcl.EvalContext{Functions: l.funcs})
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			return cty.DynamicVal
		}
		val = v
	case g.where != "":
		v, ok := l.parseRawValue(d, g)
		if !ok {
			return cty.DynamicVal
		}
		val = v
	case d.def != cty.NilVal:
		val = d.def
	case d.badDefault:
		return cty.DynamicVal // reported where the default is
	default:
		l.errorf(d.block.DefRange, "No value for required variable",
			"Variable %q has no default and no value was given. Set it with --var %s=VALUE, a --var-file, or the environment variable %s%s.",
			name, name, EnvPrefix, name)
		return cty.DynamicVal
	}
	cv, err := convert.Convert(val, d.ty)
	if err != nil {
		l.errorf(subject, "Invalid value for variable",
			"The value for variable %q (from %s) does not match its type %s: %s.",
			name, orDefault(g.where), typeexpr.TypeString(d.ty), err)
		return cty.DynamicVal
	}
	if cv.IsNull() {
		l.errorf(subject, "Invalid value for variable", "Variable %q is null; give it a value.", name)
		return cty.DynamicVal
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: cv})},
		Functions: l.funcs,
	}
	for _, vb := range d.validations {
		vc, _ := vb.Body.Content(validationSchema)
		cond := vc.Attributes["condition"]
		res, diags := l.evalMetered(cond.Expr, ctx)
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			continue
		}
		if b, err := convert.Convert(res, cty.Bool); err != nil || b.IsNull() || !b.IsKnown() {
			l.errorf(cond.Expr.Range(), "Invalid validation condition", "The condition must be true or false.")
			continue
		} else if b.True() {
			continue
		}
		msg, ok := l.constStr(vc.Attributes["error_message"], "error_message")
		if !ok {
			continue
		}
		l.errorf(subject, "Invalid value for variable",
			"%s\n\nVariable %q (value from %s) failed the validation rule at %s.",
			msg, name, orDefault(g.where), shortRange(vb.DefRange))
		return cty.DynamicVal
	}
	return cv
}

func orDefault(where string) string {
	if where == "" {
		return "its default"
	}
	return where
}

// parseRawValue reads a --var or environment value: strings as they are,
// other types as HCL expressions ('["a","b"]', 'true', '3').
func (l *loader) parseRawValue(d *varDecl, g varValue) (cty.Value, bool) {
	if d.ty == cty.String || d.ty == cty.DynamicPseudoType {
		return cty.StringVal(g.raw), true
	}
	expr, diags := hclsyntax.ParseExpression([]byte(g.raw), g.where, hcl.InitialPos)
	if !diags.HasErrors() {
		if len(expr.Variables()) > 0 {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Variables not allowed"})
		} else {
			v, vd := l.evalMetered(expr, &hcl.EvalContext{Functions: l.funcs})
			if diags = append(diags, vd...); !diags.HasErrors() {
				return v, true
			}
		}
	}
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid value for variable",
		Detail: fmt.Sprintf("%s: variable %q has type %s; write its value in HCL syntax, e.g. '[\"a\", \"b\"]', 'true' or '3' (%s).",
			g.where, d.v.Name, typeexpr.TypeString(d.ty), firstError(diags)),
		Subject: d.block.DefRange.Ptr(),
	})
	return cty.NilVal, false
}

func firstError(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Detail != "" {
				return d.Summary + ": " + d.Detail
			}
			return d.Summary
		}
	}
	return ""
}

// renderValue shows a value for people: strings as they are, anything
// else as JSON.
func renderValue(v cty.Value) string {
	if v.Type() == cty.String {
		return v.AsString()
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return v.GoString()
	}
	return string(b)
}
