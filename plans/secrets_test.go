package plans

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/umzug-dev/umzug/internal/testkit"
)

// A value that would run code if it were pasted into a command line.
const payload = `x'; touch /tmp/pwned; echo '`

// secretsPlan is a plan whose parts can be replaced: {RUN}, {UNDO},
// {CHECK}, {FROM}, {APPROVERS}, {EXTRA} (top-level blocks); secretsSrc
// also replaces h1's address with {ADDR}.
const secretsPlan = `
variable "pg_password" {
  type      = string
  sensitive = true
}
variable "plain" {
  type    = string
  default = "p1ain-value"
}
{EXTRA}
` + testkit.TwoHostsHCL + `application "app" {
  source = host.h1
  target = host.h2
  copy "c" {
    from = {FROM}
    to   = "/srv/app"
  }
  cutover {
    approval {
      approvers = {APPROVERS}
    }
    step "migrate" {
      on   = "target"
      run  = {RUN}
      undo = {UNDO}
    }
    final_sync {}
    check "db" {
      on  = "target"
      run = {CHECK}
    }
  }
}
`

func secretsSrc(repl map[string]string) string {
	def := map[string]string{
		"{RUN}": `"true"`, "{UNDO}": `"true"`, "{CHECK}": `"true"`, "{FROM}": `"/srv/app"`,
		"{APPROVERS}": `["x"]`, "{EXTRA}": "",
	}
	src := secretsPlan
	if addr, ok := repl["{ADDR}"]; ok {
		src = strings.Replace(src, `address     = "h1"`, "address     = "+addr, 1)
	}
	for k, v := range def {
		if r, ok := repl[k]; ok {
			v = r
		}
		src = strings.ReplaceAll(src, k, v)
	}
	return src
}

func withSecret(v string) LoadOptions {
	return LoadOptions{Environ: []string{"UMZUG_VAR_pg_password=" + v}}
}

func TestSensitiveVariableBecomesReference(t *testing.T) {
	src := secretsSrc(map[string]string{
		"{EXTRA}": `locals {
  pg_env = "PGPASSWORD=\"${var.pg_password}\""
}`,
		"{RUN}":   `"${local.pg_env} psql -c 'select 1' > got"`,
		"{UNDO}":  `"echo \"$((1+1))\" ${var.pg_password} | tee undone"`,
		"{CHECK}": `"PGPASSWORD=\"${var.pg_password}\" pg_isready"`,
	})
	for _, opts := range []LoadOptions{withSecret(payload), {}} {
		p, diags := loadString(t, "s.hcl", src, opts)
		if text := renderDiags(p, diags); len(diags) > 0 {
			t.Fatalf("unexpected diagnostics:\n%s", text)
		}
		blocks := p.Applications[0].Cutover.Blocks
		step, check := blocks[0], blocks[2]
		if want := `PGPASSWORD="${UMZUG_SECRET_pg_password}" psql -c 'select 1' > got`; step.Run != want {
			t.Errorf("run %q, want %q", step.Run, want)
		}
		if want := `echo "$((1+1))" ${UMZUG_SECRET_pg_password} | tee undone`; step.Undo != want {
			t.Errorf("undo %q, want %q", step.Undo, want)
		}
		if want := `PGPASSWORD="${UMZUG_SECRET_pg_password}" pg_isready`; check.Run != want {
			t.Errorf("check %q, want %q", check.Run, want)
		}
		for _, b := range []*Block{step, check} {
			if !reflect.DeepEqual(b.Secrets, []string{"pg_password"}) {
				t.Errorf("%s secrets %v, want [pg_password]", b.Name, b.Secrets)
			}
		}
		if blocks[1].Secrets != nil {
			t.Errorf("final_sync secrets %v", blocks[1].Secrets)
		}
	}
	// The value given here is kept for the run digest only.
	p := mustLoad(t, "s.hcl", src, withSecret(payload))
	if v := p.Variables[0]; v.Value != payload || v.SecretEnv() != "UMZUG_SECRET_pg_password" {
		t.Errorf("variable %+v", v)
	}
}

func TestSensitiveVariableOnlyInCommands(t *testing.T) {
	cases := map[string]map[string]string{
		"copy path":         {"{FROM}": `"/srv/${var.pg_password}"`},
		"copy path local":   {"{EXTRA}": "locals {\n  dir = \"/srv/${var.pg_password}\"\n}", "{FROM}": "local.dir"},
		"host address":      {"{ADDR}": `var.pg_password`},
		"approvers":         {"{APPROVERS}": `[var.pg_password]`},
		"condition on it":   {"{ADDR}": `var.pg_password == "x" ? "h1" : "h3"`},
		"length of it":      {"{FROM}": `"/srv/${strlen(var.pg_password)}"`},
		"in a local's list": {"{EXTRA}": "locals {\n  l = [\"a\", var.pg_password]\n}", "{APPROVERS}": "local.l"},
	}
	for name, repl := range cases {
		t.Run(name, func(t *testing.T) {
			p, diags := loadString(t, "s.hcl", secretsSrc(repl), withSecret("hunter2-secret"))
			text := renderDiags(p, diags)
			if e, _ := Counts(diags); e != 1 || diags[0].Summary != "Sensitive variable not allowed here" {
				t.Fatalf("want one error, got:\n%s", text)
			}
			if !strings.Contains(text, "sensitive variable pg_password can only be used in step, undo and check commands") {
				t.Errorf("message:\n%s", text)
			}
			if !strings.Contains(text, "s.hcl:") || diags[0].Subject == nil {
				t.Errorf("no position:\n%s", text)
			}
			if strings.Contains(text, "hunter2-secret") {
				t.Errorf("the diagnostic shows the value:\n%s", text)
			}
		})
	}
	// More places, written into the plan directly.
	for _, c := range []struct{ from, to string }{
		{`datacenter "a" {}`, `datacenter "a" { worker_queue = var.pg_password }`},
		{`  target = host.h2`, "  target = host.h2\n  description = \"db ${var.pg_password}\""},
		{`    approval {`, "    window {\n      not_before = var.pg_password\n      duration = \"1h\"\n    }\n    approval {"},
		{`      on   = "target"`, `      on   = var.pg_password`},
		{`      on  = "target"`, "      on  = \"target\"\n      timeout = var.pg_password"},
	} {
		src := strings.Replace(secretsSrc(nil), c.from, c.to, 1)
		p, diags := loadString(t, "s.hcl", src, withSecret("hunter2-secret"))
		text := renderDiags(p, diags)
		if !strings.Contains(text, "sensitive variable pg_password can only be used in step, undo and check commands") || strings.Contains(text, "hunter2-secret") {
			t.Errorf("%s: want the refusal without the value:\n%s", c.to, text)
		}
	}
}

func TestSensitiveValueTransformedRefused(t *testing.T) {
	for _, run := range []string{
		`"psql ${upper(var.pg_password)}"`,
		`"psql ${strlen(var.pg_password)}"`,
		`"psql ${substr(var.pg_password, 0, 3)}"`,
		`var.pg_password == "x" ? "a" : "b"`,
		`"psql ${replace(var.pg_password, "S", "s")}"`,
		`"psql ${local.up}"`,         // transformed in a local
		`"${lower(local.env)} psql"`, // a local's fragment transformed
	} {
		extra := "locals {\n  up = upper(var.pg_password)\n  env = \"P=${var.pg_password}\"\n}"
		p, diags := loadString(t, "s.hcl", secretsSrc(map[string]string{"{RUN}": run, "{EXTRA}": extra}), LoadOptions{})
		text := renderDiags(p, diags)
		if e, _ := Counts(diags); e != 1 {
			t.Errorf("run = %s: want one error:\n%s", run, text)
			continue
		}
		if diags[0].Summary != "Sensitive value transformed" {
			t.Errorf("run = %s: %s", run, text)
		}
	}
}

func TestSensitiveVariableDeclaration(t *testing.T) {
	src := `
variable "pg-password" {
  sensitive = true
}
variable "port" {
  type      = number
  sensitive = true
}
variable "token" {
  default   = "literal-in-plan"
  sensitive = true
  validation {
    condition     = strlen(var.token) > 30
    error_message = "token too short."
  }
}
`
	dir := t.TempDir()
	vf := filepath.Join(dir, "v.hcl")
	os.WriteFile(vf, []byte("token = \"from-var-file-too-short\"\n"), 0o644)
	p, diags := loadString(t, "d.hcl", src, LoadOptions{VarFiles: []string{vf}})
	text := renderDiags(p, diags)
	got := map[string]int{}
	for _, d := range diags {
		got[d.Summary]++
	}
	want := map[string]int{
		"Invalid sensitive variable name": 1, "Invalid sensitive variable type": 1,
		"Default of a sensitive variable": 1, "Invalid value for variable": 1,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v:\n%s", got, want, text)
	}
	// The validation ran on the given value, and reports it at the
	// variable, not with a snippet of the var file.
	if strings.Contains(text, "from-var-file-too-short") || !strings.Contains(text, "token too short.") {
		t.Errorf("validation message:\n%s", text)
	}
	for _, d := range diags {
		if d.Subject != nil && d.Subject.Filename == vf {
			t.Errorf("diagnostic points into the var file: %s", d.Summary)
		}
	}
}

func TestLiteralSecretInCommand(t *testing.T) {
	cases := []struct {
		run   string
		error bool
	}{
		{`"psql --password=hunter2 -c 'select 1'"`, true},
		{`"PGPASSWORD=hunter2 psql"`, true},
		{`"PGPASSWORD='hunter 2' psql"`, true},
		{`"export API_TOKEN=abc123; deploy"`, true},
		{`"deploy --token abc123"`, true},
		{`"kubectl create secret generic db --from-literal=password=hunter2"`, true},
		{`"curl -H 'Authorization: Bearer abc.def.ghi' https://x"`, true},
		{`"curl https://admin:hunter2@example.org/api"`, true},
		{`"deploy --token=${var.plain}"`, true}, // a variable that is not sensitive
		{`"psql --password=\"${var.pg_password}\""`, false},
		{`"PGPASSWORD=\"$(cat /run/secrets/pg)\" psql"`, false},
		{`"PGPASSWORD=$PGPASS psql"`, false},
		{`"psql --password-file=/etc/pg.pw"`, false},
		{`"deploy --token=@/run/token"`, false},
		{`"echo token_type=bearer password_min_len=8"`, false},
		{`"curl -H \"Authorization: Bearer $TOKEN\" https://x"`, false},
		{`"curl https://example.org/?a=b"`, false},
		{`"psql --password="`, false},
	}
	for _, c := range cases {
		p, diags := loadString(t, "l.hcl", secretsSrc(map[string]string{"{UNDO}": c.run}), LoadOptions{})
		text := renderDiags(p, diags)
		var lit *hcl.Diagnostic
		for _, d := range diags {
			if d.Summary == "Literal secret in command" {
				lit = d
			}
		}
		if c.error != (lit != nil) || (!c.error && len(diags) > 0) {
			t.Errorf("undo = %s: error %v wanted, got:\n%s", c.run, c.error, text)
			continue
		}
		if lit == nil {
			continue
		}
		if lit.Severity != hcl.DiagError || lit.Subject == nil || lit.Subject.Start.Line != 40 {
			t.Errorf("undo = %s: want an error at line 40: %s", c.run, text)
		}
		for _, v := range []string{"hunter2", "abc123", "abc.def", "p1ain-value"} {
			if strings.Contains(lit.Detail, v) {
				t.Errorf("undo = %s: detail quotes the value: %s", c.run, lit.Detail)
			}
		}
		if !strings.Contains(lit.Detail, "sensitive = true") {
			t.Errorf("detail does not point to a sensitive variable: %s", lit.Detail)
		}
	}
}

// The JSON syntax evaluates command templates the same way.
func TestSensitiveVariableInJSONPlan(t *testing.T) {
	src := `{
  "variable": {"pg_password": {"sensitive": true}},
  "datacenter": {"a": {}},
  "host": {
    "h1": {"datacenter": "datacenter.a", "address": "h1", "user": "u", "agent": true, "known_hosts": "/k"},
    "h2": {"datacenter": "datacenter.a", "address": "h2", "user": "u", "agent": true, "known_hosts": "/k"}
  },
  "application": {"app": {
    "source": "host.h1", "target": "host.h2",
    "cutover": {
      "approval": {"approvers": ["x"]},
      "step": {"load": {"on": "target", "run": "PGPASSWORD=\"${var.pg_password}\" psql", "undo": "true"}}
    }
  }}
}`
	p := mustLoad(t, "s.hcl.json", src, withSecret(payload))
	b := p.Applications[0].Cutover.Blocks[0]
	if b.Run != `PGPASSWORD="${UMZUG_SECRET_pg_password}" psql` || !reflect.DeepEqual(b.Secrets, []string{"pg_password"}) {
		t.Fatalf("step %+v", b)
	}
	bad := strings.Replace(src, `"address": "h2"`, `"address": "${var.pg_password}"`, 1)
	_, diags := loadString(t, "s.hcl.json", bad, withSecret(payload))
	if len(diags) != 1 || diags[0].Summary != "Sensitive variable not allowed here" {
		t.Fatalf("want the refusal, got %v", diags)
	}
}

// output = "keep" keeps the output of a command with a sensitive variable
// and is warned about at its own position; the default withholds it.
func TestOutputSetting(t *testing.T) {
	keep := `"echo ${var.pg_password}"
      output = "keep"`
	src := secretsSrc(map[string]string{"{RUN}": keep})
	p, diags := loadString(t, "s.hcl", src, withSecret(payload))
	if diags.HasErrors() || len(diags) != 1 {
		t.Fatalf("want one warning:\n%s", renderDiags(p, diags))
	}
	d := diags[0]
	line := 1 + strings.Count(src[:strings.Index(src, `output = "keep"`)], "\n")
	col := strings.Index(src, `"keep"`) - strings.LastIndex(src[:strings.Index(src, `"keep"`)], "\n")
	if d.Severity != hcl.DiagWarning || d.Summary != "Output of a command with secrets kept" ||
		d.Subject == nil || d.Subject.Filename != "s.hcl" || d.Subject.Start.Line != line || d.Subject.Start.Column != col {
		t.Fatalf("diagnostic %+v at %+v, want s.hcl:%d:%d", d, d.Subject, line, col)
	}
	if !strings.Contains(d.Detail, "pg_password") || strings.Contains(renderDiags(p, diags), payload) {
		t.Errorf("detail %q", d.Detail)
	}
	blocks := p.Applications[0].Cutover.Blocks
	if !blocks[0].KeepOutput || blocks[2].KeepOutput {
		t.Errorf("keep: step %v, check %v", blocks[0].KeepOutput, blocks[2].KeepOutput)
	}

	// The default, and "withhold" said explicitly, keep no output.
	for _, run := range []string{`"echo ${var.pg_password}"`, `"echo ${var.pg_password}"
      output = "withhold"`} {
		p := mustLoad(t, "s.hcl", secretsSrc(map[string]string{"{RUN}": run}), LoadOptions{})
		if p.Applications[0].Cutover.Blocks[0].KeepOutput {
			t.Errorf("%s: output kept", run)
		}
	}

	cases := map[string]struct{ run, summary string }{
		"invalid":      {`"true"` + "\n      output = \"keeep\"", "Invalid output"},
		"no secrets":   {`"true"` + "\n      output = \"keep\"", "Output kept without sensitive variables"},
		"not a string": {`"true"` + "\n      output = true", ""},
	}
	for name, c := range cases {
		p, diags := loadString(t, "s.hcl", secretsSrc(map[string]string{"{RUN}": c.run}), LoadOptions{})
		text := renderDiags(p, diags)
		if len(diags) != 1 || (c.summary != "" && diags[0].Summary != c.summary) {
			t.Errorf("%s: got\n%s", name, text)
		}
		if name == "invalid" && !strings.Contains(text, `"keep"`) {
			t.Errorf("invalid: no suggestion\n%s", text)
		}
	}
}

// A value too short to redact is warned about, without showing it.
func TestShortSensitiveValueWarned(t *testing.T) {
	src := secretsSrc(map[string]string{"{RUN}": `"echo ${var.pg_password}"`})
	p, diags := loadString(t, "s.hcl", src, withSecret("q7!"))
	text := renderDiags(p, diags)
	if diags.HasErrors() || len(diags) != 1 || diags[0].Summary != "Sensitive value too short to redact" || strings.Contains(text, "q7!") {
		t.Fatalf("got\n%s", text)
	}
	if _, diags := loadString(t, "s.hcl", src, withSecret("q7!x")); len(diags) != 0 {
		t.Fatalf("4 bytes: %s", renderDiags(nil, diags))
	}
}

// Messages shown to people lose a sensitive value in the forms they quote
// it in, not only as it is.
func TestRedactValuesCoversQuotedForms(t *testing.T) {
	forms := []string{payload, strconv.Quote(payload), strings.ReplaceAll(payload, "'", `'\''`),
		base64.StdEncoding.EncodeToString([]byte(payload)), hex.EncodeToString([]byte(payload))}
	for _, f := range forms {
		got := redactValues("value "+f+" end", []string{payload, "ab"})
		if strings.Contains(got, f) || !strings.Contains(got, "(sensitive)") || !strings.HasPrefix(got, "value ") {
			t.Errorf("%q became %q", f, got)
		}
	}
	// Values under 4 bytes are left alone: every "ab" would be replaced.
	if got := redactValues("about ab", []string{"ab"}); got != "about ab" {
		t.Errorf("%q", got)
	}
}
