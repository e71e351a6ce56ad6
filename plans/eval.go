package plans

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions are the pure functions plans may call. Nothing here reads
// files, the environment or the clock, so a plan evaluates the same way
// wherever it is loaded.
var functions = map[string]function.Function{
	"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "chomp": stdlib.ChompFunc,
	"chunklist": stdlib.ChunklistFunc, "coalesce": stdlib.CoalesceFunc,
	"coalescelist": stdlib.CoalesceListFunc, "compact": stdlib.CompactFunc,
	"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc,
	"csvdecode": stdlib.CSVDecodeFunc, "distinct": stdlib.DistinctFunc,
	"element": stdlib.ElementFunc, "flatten": stdlib.FlattenFunc,
	"floor": stdlib.FloorFunc, "format": stdlib.FormatFunc,
	"formatdate": stdlib.FormatDateFunc, "formatlist": stdlib.FormatListFunc,
	"indent": stdlib.IndentFunc, "index": stdlib.IndexFunc, "join": stdlib.JoinFunc,
	"jsondecode": stdlib.JSONDecodeFunc, "jsonencode": stdlib.JSONEncodeFunc,
	"keys": stdlib.KeysFunc, "length": stdlib.LengthFunc, "log": stdlib.LogFunc,
	"lookup": stdlib.LookupFunc, "lower": stdlib.LowerFunc, "max": stdlib.MaxFunc,
	"merge": stdlib.MergeFunc, "min": stdlib.MinFunc, "parseint": stdlib.ParseIntFunc,
	"pow": stdlib.PowFunc, "range": stdlib.RangeFunc, "regex": stdlib.RegexFunc,
	"regexall": stdlib.RegexAllFunc, "regex_replace": stdlib.RegexReplaceFunc,
	"replace": stdlib.ReplaceFunc, "reverse": stdlib.ReverseListFunc,
	"setintersection": stdlib.SetIntersectionFunc, "setproduct": stdlib.SetProductFunc,
	"setsubtract": stdlib.SetSubtractFunc, "setunion": stdlib.SetUnionFunc,
	"signum": stdlib.SignumFunc, "slice": stdlib.SliceFunc, "sort": stdlib.SortFunc,
	"split": stdlib.SplitFunc, "strlen": stdlib.StrlenFunc, "strrev": stdlib.ReverseFunc,
	"substr": stdlib.SubstrFunc, "timeadd": stdlib.TimeAddFunc, "title": stdlib.TitleFunc,
	"trim": stdlib.TrimFunc, "trimprefix": stdlib.TrimPrefixFunc,
	"trimspace": stdlib.TrimSpaceFunc, "trimsuffix": stdlib.TrimSuffixFunc,
	"upper": stdlib.UpperFunc, "values": stdlib.ValuesFunc, "zipmap": stdlib.ZipmapFunc,
}

// buildContext makes the evaluation context from variables and locals.
func (l *loader) buildContext() {
	l.ctx = &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(l.vars),
			"local": cty.ObjectVal(l.locals),
		},
		Functions: l.funcs,
	}
}

// checkRefs reports every reference in expr that is not a declared
// variable or local; values cannot name hosts or applications.
func (l *loader) checkRefs(expr hcl.Expression) bool {
	ok := true
	for _, t := range expr.Variables() {
		if !l.checkRef(t) {
			ok = false
		}
	}
	return ok
}

func (l *loader) checkRef(t hcl.Traversal) bool {
	root := t.RootName()
	rng := t.SourceRange()
	attrName := func() (string, bool) {
		if len(t) < 2 {
			return "", false
		}
		a, ok := t[1].(hcl.TraverseAttr)
		return a.Name, ok
	}
	switch root {
	case "var":
		name, ok := attrName()
		if !ok {
			l.errorf(rng, "Invalid reference", "var must be followed by a variable name, like var.window_start.")
			return false
		}
		if _, declared := l.varDecls[name]; !declared {
			l.errorf(rng, "Reference to undeclared variable",
				"There is no variable %q in this plan.%s Declare it with a variable %q block.",
				name, didYouMean(name, sortedKeys(l.varDecls)), name)
			return false
		}
	case "local":
		name, ok := attrName()
		if !ok {
			l.errorf(rng, "Invalid reference", "local must be followed by a local value's name, like local.base_dir.")
			return false
		}
		if _, declared := l.localDecls[name]; !declared {
			l.errorf(rng, "Reference to undeclared local value",
				"There is no local value %q in this plan.%s Define it in a locals block.",
				name, didYouMean(name, sortedKeys(l.localDecls)))
			return false
		}
	case "host", "datacenter", "application":
		l.errorf(rng, "Reference not allowed here",
			"Values can use var.NAME, local.NAME and functions. %s references belong in the attributes that take them: datacenter and jump (host), source, target and depends_on (application), applications (wave).",
			root)
		return false
	default:
		l.errorf(rng, "Unknown name",
			"There is no %q here; values can use var.NAME, local.NAME and functions.%s", root,
			didYouMean(root, []string{"var", "local"}))
		return false
	}
	return true
}

// value evaluates expr and converts it to ty. ok is false when it could
// not (with a diagnostic) or when it depends on a value that already
// failed (without one, to avoid repeating the first problem).
func (l *loader) value(expr hcl.Expression, ty cty.Type, what string) (cty.Value, bool) {
	return l.eval(expr, ty, what, false)
}

// eval is value that, with sensitive set, lets values derived from
// sensitive variables through (still marked): commands and locals take
// them, everything else would store them in the workflow input.
func (l *loader) eval(expr hcl.Expression, ty cty.Type, what string, sensitive bool) (cty.Value, bool) {
	if !l.checkRefs(expr) {
		return cty.NilVal, false
	}
	v, d := l.evalMetered(expr, l.ctx)
	l.diags = append(l.diags, d...)
	if d.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	if names := markedNames(v); len(names) > 0 && !sensitive {
		l.errorf(expr.Range(), "Sensitive variable not allowed here",
			"sensitive variable %s can only be used in step, undo and check commands: %s is stored in the workflow input, which history, the Web UI, status and the audit show, while commands get a reference that the worker fills in.",
			strings.Join(names, ", "), what)
		return cty.NilVal, false
	}
	if v.IsNull() {
		l.errorf(expr.Range(), "Missing value", "%s is null; give it a value or remove it.", what)
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		l.errorf(expr.Range(), "Incorrect value type", "%s must be %s: %s.", what, friendlyType(ty), err)
		return cty.NilVal, false
	}
	if !cv.IsWhollyKnown() {
		return cty.NilVal, false
	}
	uv, _ := cv.UnmarkDeep()
	for _, e := range listElems(uv) {
		if e.IsNull() {
			l.errorf(expr.Range(), "Missing value", "%s must not contain null.", what)
			return cty.NilVal, false
		}
	}
	return cv, true
}

func listElems(v cty.Value) []cty.Value {
	if !v.Type().IsListType() {
		return nil
	}
	return v.AsValueSlice()
}

func friendlyType(ty cty.Type) string {
	switch {
	case ty == cty.String:
		return "a string"
	case ty == cty.Number:
		return "a number"
	case ty == cty.Bool:
		return "true or false"
	case ty.IsListType():
		return "a list of " + strings.TrimPrefix(friendlyType(ty.ElementType()), "a ") + "s"
	}
	return ty.FriendlyName()
}

// The typed helpers below take an attribute that may be absent (nil).

func (l *loader) str(a *hcl.Attribute, what string) (string, bool) {
	if a == nil {
		return "", false
	}
	v, ok := l.value(a.Expr, cty.String, what)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

func (l *loader) strList(a *hcl.Attribute, what string) ([]string, bool) {
	if a == nil {
		return nil, false
	}
	v, ok := l.value(a.Expr, cty.List(cty.String), what)
	if !ok {
		return nil, false
	}
	var out []string
	for _, e := range v.AsValueSlice() {
		out = append(out, e.AsString())
	}
	return out, true
}

func (l *loader) boolean(a *hcl.Attribute, what string) (bool, bool) {
	if a == nil {
		return false, false
	}
	v, ok := l.value(a.Expr, cty.Bool, what)
	if !ok {
		return false, false
	}
	return v.True(), true
}

func (l *loader) integer(a *hcl.Attribute, what string) (int, bool) {
	if a == nil {
		return 0, false
	}
	v, ok := l.value(a.Expr, cty.Number, what)
	if !ok {
		return 0, false
	}
	bf := v.AsBigFloat()
	i, acc := bf.Int64()
	if acc != big.Exact || i > 1<<31 || i < -(1<<31) {
		l.errorf(a.Expr.Range(), "Invalid number", "%s must be a whole number.", what)
		return 0, false
	}
	return int(i), true
}

func (l *loader) duration(a *hcl.Attribute, what string) (time.Duration, bool) {
	s, ok := l.str(a, what)
	if !ok {
		return 0, false
	}
	d, err := parseDuration(s)
	if err != nil {
		l.errorf(a.Expr.Range(), "Invalid duration", "%s: %v.", what, err)
		return 0, false
	}
	return d, true
}

// didYouMean suggests the closest candidate, or "" when none is close.
func didYouMean(given string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
