package plans

import (
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Values of a step's or check's output attribute.
const (
	OutputKeep     = "keep"
	OutputWithhold = "withhold"
)

// SecretEnvPrefix prefixes the shell variable that carries a sensitive
// variable's value on the remote host, and the worker's environment
// variable it is read from (the activities' contract uses the same).
const SecretEnvPrefix = "UMZUG_SECRET_"

// SecretRef is the text a sensitive variable becomes in a command: a
// reference the remote shell expands from a value the worker hands it
// outside the command line. Only this reference reaches the workflow.
func SecretRef(name string) string { return "${" + SecretEnvPrefix + name + "}" }

// SecretEnv is the environment variable a worker reads the value from.
func (v *Variable) SecretEnv() string { return SecretEnvPrefix + v.Name }

// sensitiveMark marks every value derived from a sensitive variable with
// the variable's name, so a use outside commands can be refused.
type sensitiveMark string

// shellName is what a sensitive variable's name must be to be part of a
// shell variable name.
var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// decodeSensitive sets up a sensitive variable. The evaluation context
// only ever holds its reference, so no expression, diagnostic or command
// can carry the value; a value given here is only validated (and kept in
// Variable.Value for the run digest), because the workers read their own.
func (l *loader) decodeSensitive(d *varDecl, g varValue) {
	v := d.v
	if !shellName.MatchString(v.Name) {
		l.errorf(d.block.LabelRanges[0], "Invalid sensitive variable name",
			"Sensitive variable %q is read by the workers as %s%s, a shell variable: use only letters, digits and underscores.",
			v.Name, SecretEnvPrefix, v.Name)
	}
	if d.ty != cty.String && d.ty != cty.DynamicPseudoType {
		l.errorf(d.block.DefRange, "Invalid sensitive variable type",
			"Sensitive variable %q must have type string: the workers read it as the text of %s%s.", v.Name, SecretEnvPrefix, v.Name)
	}
	if d.def != cty.NilVal {
		l.warnf(d.block.DefRange, "Default of a sensitive variable",
			"The workers do not read the default of %q; they read %s%s from their environment or secrets file. The default only feeds validation and the run digest; remove it to keep the value out of the plan.",
			v.Name, SecretEnvPrefix, v.Name)
	}
	// A value from a --var-file is reported at the variable, so no source
	// snippet of the file shows it.
	g.rng = nil
	if g.where != "" || g.expr != nil || d.def != cty.NilVal {
		if val := l.variableValue(d, g); val.IsWhollyKnown() && !val.IsNull() {
			v.Value = renderValue(val)
			if v.Value != "" {
				l.sensitive = append(l.sensitive, v.Value)
			}
		}
	}
	if v.Value != "" && len(v.Value) < minSecret {
		l.warnf(d.block.DefRange, "Sensitive value too short to redact",
			"The value given for %q is shorter than %d bytes. Output cannot be redacted of so short a value (every match would show where it is), so the workers keep no output of commands that use it, even with output = \"keep\".",
			v.Name, minSecret)
	}
	l.vars[v.Name] = cty.StringVal(SecretRef(v.Name)).Mark(sensitiveMark(v.Name))
}

// outputSetting reads a step's or check's output attribute: whether the
// output of its commands that use sensitive variables is kept (redacted)
// in history. The default withholds it, because redaction only knows the
// forms a value is commonly printed in; keeping it is warned about.
func (l *loader) outputSetting(a *hcl.Attribute, what string, secrets []string) bool {
	if a == nil {
		return false
	}
	s, ok := l.str(a, "output")
	if !ok {
		return false
	}
	switch s {
	case OutputWithhold:
		return false
	case OutputKeep:
	default:
		l.errorf(a.Expr.Range(), "Invalid output",
			"%s: output is \"withhold\" (the default: commands that use a sensitive variable keep no output in history) or \"keep\" (keep it, redacted), not %q.%s",
			what, s, didYouMean(s, []string{OutputKeep, OutputWithhold}))
		return false
	}
	if len(secrets) == 0 {
		l.warnf(a.Expr.Range(), "Output kept without sensitive variables",
			"%s uses no sensitive variable, so its output is kept anyway; output = \"keep\" has no effect.", what)
		return true
	}
	l.warnf(a.Expr.Range(), "Output of a command with secrets kept",
		"%s uses sensitive variable(s) %s and output = \"keep\" keeps its output in the move's history, status and audit, with the values and their common encodings (shell quoting, JSON, URL, hex, base64) replaced by (sensitive). A value the command transforms otherwise (a part of it, a hash, another encoding) stays readable; remove output = \"keep\" unless the output is needed.",
		what, strings.Join(secrets, ", "))
	return true
}

// markedNames lists the sensitive variables a value derives from.
func markedNames(v cty.Value) []string {
	_, marks := v.UnmarkDeep()
	var names []string
	for m := range marks {
		if s, ok := m.(sensitiveMark); ok {
			names = append(names, string(s))
		}
	}
	sort.Strings(names)
	return names
}

// command reads a step, undo or check command. Sensitive variables in it
// stay references (${UMZUG_SECRET_name}); names lists them.
func (l *loader) command(a *hcl.Attribute, what string) (cmd string, names []string, ok bool) {
	if a == nil {
		return "", nil, false
	}
	v, ok := l.eval(a.Expr, cty.String, what, true)
	if !ok {
		return "", nil, false
	}
	uv, _ := v.UnmarkDeep()
	cmd, names = uv.AsString(), markedNames(v)
	if len(names) > 0 && !l.insertedAsIs(a.Expr, cmd, names) {
		l.errorf(a.Expr.Range(), "Sensitive value transformed",
			"%s: sensitive variable %s is only known on the worker, so a command can only insert it as it is, like \"--password=\\\"${var.%s}\\\"\". Functions, conditions and operators would work on the reference %s, not on the value.",
			what, strings.Join(names, ", "), names[0], SecretRef(names[0]))
		return "", nil, false
	}
	l.checkLiteralSecrets(a, cmd, what)
	return cmd, names, true
}

// altRef stands for a sensitive variable in a second evaluation: it differs
// from SecretRef in length, case and characters, so any function or
// operator applied to the reference gives a different result.
func altRef(name string) string { return "\x00Sensitive(" + name + ")-check\x00" }

// insertedAsIs evaluates expr again with altRef in place of every
// reference: unless the two results match after swapping the references
// back, something transformed the reference instead of inserting it.
func (l *loader) insertedAsIs(expr hcl.Expression, cmd string, names []string) bool {
	v, d := expr.Value(l.altContext())
	if d.HasErrors() || !v.IsWhollyKnown() {
		return false
	}
	v, _ = v.UnmarkDeep()
	if v.Type() != cty.String || v.IsNull() {
		return false
	}
	alt := v.AsString()
	for _, n := range names {
		if !strings.Contains(cmd, SecretRef(n)) {
			return false
		}
		alt = strings.ReplaceAll(alt, altRef(n), SecretRef(n))
	}
	return alt == cmd
}

// altContext is the evaluation context with altRef values, locals
// derived from sensitive variables evaluated again in dependency order.
func (l *loader) altContext() *hcl.EvalContext {
	if l.alt != nil {
		return l.alt
	}
	vars := map[string]cty.Value{}
	for n, v := range l.vars {
		vars[n] = v
		if d := l.varDecls[n]; d != nil && d.v.Sensitive {
			vars[n] = cty.StringVal(altRef(n)).Mark(sensitiveMark(n))
		}
	}
	locals := map[string]cty.Value{}
	for n, v := range l.locals {
		locals[n] = v
	}
	ctx := func() *hcl.EvalContext {
		return &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(vars), "local": cty.ObjectVal(locals)},
			Functions: functions,
		}
	}
	for _, n := range l.localOrder {
		if len(markedNames(l.locals[n])) == 0 {
			continue
		}
		v, d := l.localDecls[n].Expr.Value(ctx())
		if d.HasErrors() {
			v = cty.DynamicVal
		}
		locals[n] = v
	}
	l.alt = ctx()
	return l.alt
}

func distinctSorted(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	out := names[:1]
	for _, n := range names[1:] {
		if n != out[len(out)-1] {
			out = append(out, n)
		}
	}
	return out
}
