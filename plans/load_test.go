package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/umzug-dev/umzug/internal/testkit"
)

func TestFinanceExampleLoads(t *testing.T) {
	p, diags := Load([]string{"../examples/finance.hcl"}, LoadOptions{})
	if len(diags) > 0 {
		var sb strings.Builder
		_ = WriteDiagnostics(&sb, p.Files, diags, 100, false)
		t.Fatalf("finance.hcl: %d diagnostics:\n%s", len(diags), sb.String())
	}
	if p.Name != "finance" || len(p.SHA256) != 64 {
		t.Fatalf("name %q sha %q", p.Name, p.SHA256)
	}
	app := p.Application("finance")
	if app == nil {
		t.Fatal("no application finance")
	}
	if app.Source.Name != "fin_pb" || app.Target.Name != "fin_lg" || app.Source.Datacenter.Name != "paderborn" {
		t.Fatalf("source/target: %+v %+v", app.Source, app.Target)
	}
	if app.Source.Address != "127.0.0.1:2222" {
		t.Fatalf("address %q", app.Source.Address)
	}
	if len(app.Copies) != 3 || app.Copies[0].From != "/tmp/umzug-demo/paderborn/srv/finance/data" || !app.Copies[0].Delete {
		t.Fatalf("copies: %+v", app.Copies)
	}
	if db := app.Copies[1]; app.CopySource(db).Name != "db_pb" || app.CopyTarget(db).Name != "db_lg" {
		t.Fatalf("copy %s between %s and %s", db.Name, app.CopySource(db).Name, app.CopyTarget(db).Name)
	}
	co := app.Cutover
	var kinds []string
	for _, b := range co.Blocks {
		kinds = append(kinds, b.Kind+":"+b.Name)
	}
	if got := strings.Join(kinds, ","); got != "step:stop_app,step:stop_db,final_sync:final_sync,step:start_db,step:start_app,step:switch_dns,check:health" {
		t.Fatalf("blocks in order: %s", got)
	}
	if co.Blocks[0].Group != 1 || co.Blocks[1].Group != 1 || co.Blocks[2].Group != 0 || app.BlockHost(co.Blocks[5]).Name != "dns_lg" {
		t.Fatalf("groups and hosts: %+v %+v", co.Blocks[1], co.Blocks[5])
	}
	if co.Approval.Quorum != 2 || !co.Approval.FourEyes || co.Approval.Timeout != 72*time.Hour {
		t.Fatalf("approval %+v", co.Approval)
	}
	if co.Window.Duration != 4*time.Hour || co.Window.NotBefore.IsZero() {
		t.Fatalf("window %+v", co.Window)
	}
	if co.Blocks[6].Retries != 5 || co.Blocks[6].Interval != 2*time.Second || co.Blocks[0].Timeout != 2*time.Minute {
		t.Fatalf("blocks %+v %+v", co.Blocks[0], co.Blocks[6])
	}
	if app.Soak != 10*time.Minute {
		t.Fatalf("soak %v", app.Soak)
	}
}

func loadString(t *testing.T, name, src string, opts LoadOptions) (*Plan, hcl.Diagnostics) {
	t.Helper()
	return loadSources("test", []source{{path: name, src: []byte(src)}}, opts)
}

func mustLoad(t *testing.T, name, src string, opts LoadOptions) *Plan {
	t.Helper()
	p, diags := loadString(t, name, src, opts)
	if len(diags) > 0 {
		t.Fatalf("%s: unexpected diagnostics:\n%s", name, renderDiags(p, diags))
	}
	return p
}

func renderDiags(p *Plan, diags hcl.Diagnostics) string {
	var sb strings.Builder
	var files map[string]*hcl.File
	if p != nil {
		files = p.Files
	}
	_ = WriteDiagnostics(&sb, files, diags, 0, false)
	return sb.String()
}

func TestJSONPlan(t *testing.T) {
	p, diags := Load([]string{"testdata/valid/generated.hcl.json"}, LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(renderDiags(p, diags))
	}
	if p.Name != "generated" {
		t.Fatalf("name %q", p.Name)
	}
	app := p.Application("crm")
	if app == nil || app.Source.Name != "crm_pb" || app.Target.Datacenter.WorkerQueue != "lemgo" {
		t.Fatalf("references not resolved: %+v", app)
	}
	if app.Source.Address != "10.20.1.30:22" || app.Target.Address != "10.40.7.30:2222" {
		t.Fatalf("addresses %q %q", app.Source.Address, app.Target.Address)
	}
	c := app.Copies[0]
	if c.From != "/srv/crm/data" || c.Bandwidth != 50<<20 || c.Verify != "sha256" {
		t.Fatalf("copy %+v", c)
	}
	var kinds []string
	for _, b := range app.Cutover.Blocks {
		kinds = append(kinds, b.Kind)
	}
	if strings.Join(kinds, ",") != "step,final_sync,check" {
		t.Fatalf("order %v", kinds)
	}
	if app.Cutover.Approval.Timeout != 72*time.Hour || app.Soak != 24*time.Hour || !app.Cutover.Approval.FourEyes {
		t.Fatalf("approval %+v soak %v", app.Cutover.Approval, app.Soak)
	}
}

func TestJSONPlanFaultPositions(t *testing.T) {
	src := `{
  "datacenter": {"a": {}},
  "host": {
    "h": {"datacenter": "datacenter.b", "address": "h", "user": "u", "agent": true, "known_hosts": "/k"}
  }
}`
	_, diags := loadString(t, "bad.hcl.json", src, LoadOptions{})
	if len(diags) != 1 || diags[0].Summary != "Reference to undefined datacenter" || diags[0].Subject.Start.Line != 4 {
		t.Fatalf("want one undefined datacenter on line 4, got %v", diags)
	}
	if !strings.Contains(diags[0].Detail, `Did you mean "a"?`) {
		t.Fatalf("no suggestion: %s", diags[0].Detail)
	}
}

const varPlan = `
variable "dir" {
  type    = string
  default = "/default"
}
variable "n" {
  type    = number
  default = 1
}
variable "token" {
  type      = string
  sensitive = true
}
` + testkit.TwoHostsHCL + `application "app" {
  source = host.h1
  target = host.h2
  copy "c" {
    from        = var.dir
    to          = var.dir
    concurrency = var.n
  }
  cutover {
    approval {
      approvers = ["x"]
    }
    step "notify" {
      on   = "target"
      run  = "notify --token ${var.token}"
      undo = "true"
    }
    final_sync {}
  }
}
`

func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	vf1 := filepath.Join(dir, "one.hcl")
	vf2 := filepath.Join(dir, "two.hcl")
	os.WriteFile(vf1, []byte("dir = \"/file1\"\nn = 4\n"), 0o644)
	os.WriteFile(vf2, []byte("dir = \"/file2\"\n"), 0o644)
	base := []string{"UMZUG_VAR_token=s3cret-value"}
	cases := []struct {
		name string
		opts LoadOptions
		dir  string
		n    int
	}{
		{"default", LoadOptions{Environ: base}, "/default", 1},
		{"var-file", LoadOptions{Environ: base, VarFiles: []string{vf1}}, "/file1", 4},
		{"later var-file wins", LoadOptions{Environ: base, VarFiles: []string{vf1, vf2}}, "/file2", 4},
		{"env beats var-file", LoadOptions{Environ: append(base, "UMZUG_VAR_dir=/env", "UMZUG_VAR_n=7"), VarFiles: []string{vf1}}, "/env", 7},
		{"--var beats env", LoadOptions{Environ: append(base, "UMZUG_VAR_dir=/env"), Vars: map[string]string{"dir": "/flag", "n": "9"}}, "/flag", 9},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := mustLoad(t, "vars.hcl", varPlan, tc.opts)
			c := p.Applications[0].Copies[0]
			if c.From != tc.dir || c.Concurrency != tc.n {
				t.Fatalf("from %q concurrency %d, want %q %d", c.From, c.Concurrency, tc.dir, tc.n)
			}
		})
	}
}

func TestVariableValueErrors(t *testing.T) {
	dir := t.TempDir()
	vf := filepath.Join(dir, "vals.hcl")
	os.WriteFile(vf, []byte("dri = \"/x\"\n"), 0o644)
	p, diags := loadString(t, "vars.hcl", varPlan, LoadOptions{
		Vars:     map[string]string{"tokn": "x", "n": "many"},
		VarFiles: []string{vf},
		Environ:  []string{"UMZUG_VAR_dirr=/y"},
	})
	text := renderDiags(p, diags)
	for _, want := range []string{
		`--var tokn=... names no variable of this plan. Did you mean "token"?`,
		`The plan declares no variable "dri". Did you mean "dir"?`,
		vf + ":1:1:",
		`UMZUG_VAR_dirr is set, but the plan declares no variable "dirr". Did you mean "dir"?`,
		`--var n: variable "n" has type number`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, text)
		}
	}
	// token is sensitive: the workers supply it, so it needs no value here.
	if e, w := Counts(diags); e != 3 || w != 1 {
		t.Errorf("%d errors, %d warnings; want 3 and 1 (env is a warning):\n%s", e, w, text)
	}
}

func TestLocalsFunctionsAndFor(t *testing.T) {
	src := strings.Replace(varPlan, `datacenter "a" {}`, `datacenter "a" {}
locals {
  names    = ["Alpha", "beta"]
  excludes = [for n in local.names : "${lower(n)}/**"]
  joined   = join(",", concat(local.excludes, [format("%s.tmp", upper("x"))]))
}`, 1)
	src = strings.Replace(src, `concurrency = var.n`, `concurrency = var.n
    exclude     = split(",", local.joined)`, 1)
	p := mustLoad(t, "locals.hcl", src, LoadOptions{Vars: map[string]string{"token": "tok-1234"}})
	got := strings.Join(p.Applications[0].Copies[0].Exclude, " ")
	if got != "alpha/** beta/** X.tmp" {
		t.Fatalf("exclude %q", got)
	}
}

func TestEvaluationIsPure(t *testing.T) {
	for _, fn := range []string{"timestamp()", `file("/etc/passwd")`, `env("HOME")`} {
		src := strings.Replace(varPlan, `default = "/default"`, "default = \"/d\"\n}\nlocals {\n  x = "+fn, 1)
		_, diags := loadString(t, "pure.hcl", src, LoadOptions{Vars: map[string]string{"token": "tok-1234"}})
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "Call to unknown function") {
			t.Errorf("%s must be unknown, got %v", fn, diags)
		}
	}
}

func TestDirectoryPlanAndDigest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "q4")
	os.Mkdir(dir, 0o755)
	parts := strings.SplitN(varPlan, "application", 2)
	a := []byte(parts[0])
	b := []byte("application" + parts[1])
	os.WriteFile(filepath.Join(dir, "b_apps.hcl"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "a_hosts.hcl"), a, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	p, diags := Load([]string{dir}, LoadOptions{Vars: map[string]string{"token": "tok-1234"}})
	if len(diags) > 0 {
		t.Fatal(renderDiags(p, diags))
	}
	if p.Name != "q4" || len(p.Applications) != 1 || len(p.Hosts) != 2 {
		t.Fatalf("name %q, %d apps %d hosts", p.Name, len(p.Applications), len(p.Hosts))
	}
	h := sha256.New()
	for _, f := range []struct {
		name string
		src  []byte
	}{{"a_hosts.hcl", a}, {"b_apps.hcl", b}} {
		h.Write([]byte(f.name + "\x00"))
		h.Write(f.src)
		h.Write([]byte{0})
	}
	if want := hex.EncodeToString(h.Sum(nil)); p.SHA256 != want {
		t.Fatalf("sha256 %s, want %s", p.SHA256, want)
	}
	// Any change to any file changes the digest.
	os.WriteFile(filepath.Join(dir, "b_apps.hcl"), append(b, '\n'), 0o644)
	p2, _ := Load([]string{dir}, LoadOptions{Vars: map[string]string{"token": "tok-1234"}})
	if p2.SHA256 == p.SHA256 {
		t.Fatal("digest did not change with the content")
	}
}

func TestUnits(t *testing.T) {
	durs := map[string]time.Duration{"90s": 90 * time.Second, "3d": 72 * time.Hour, "1d12h": 36 * time.Hour, "2h30m": 150 * time.Minute}
	for s, want := range durs {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "4", "d", "-1h", "1d-2h", "2 minutes", "1x"} {
		if _, err := parseDuration(s); err == nil {
			t.Errorf("parseDuration(%q) accepted", s)
		}
	}
	bws := map[string]int64{"50MiB/s": 50 << 20, "800KB/s": 800000, "1Gbit/s": 125000000, "1.5MiB/s": 3 << 19, "10B/s": 10}
	for s, want := range bws {
		if got, err := parseBandwidth(s); err != nil || got != want {
			t.Errorf("parseBandwidth(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"50MiB", "fast/s", "MiB/s", "0B/s", "5 parsecs/s"} {
		if _, err := parseBandwidth(s); err == nil {
			t.Errorf("parseBandwidth(%q) accepted", s)
		}
	}
	addrs := map[string]string{"h": "h:22", "h:2222": "h:2222", "10.0.0.1": "10.0.0.1:22", "[::1]:22": "[::1]:22", "::1": "[::1]:22"}
	for s, want := range addrs {
		if got, err := normalizeAddress(s); err != nil || got != want {
			t.Errorf("normalizeAddress(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "h:0", "h:x", "h:70000", " h", "[::1]", ":22", "a b"} {
		if _, err := normalizeAddress(s); err == nil {
			t.Errorf("normalizeAddress(%q) accepted", s)
		}
	}
}

// TestJSONCutoverOrder: in JSON a block type may repeat as a property, so
// step, final_sync, step keeps its written order.
func TestJSONCutoverOrder(t *testing.T) {
	src := `{
  "datacenter": {"a": {}},
  "host": {
    "h1": {"datacenter": "datacenter.a", "address": "h1", "user": "m", "agent": true, "known_hosts": "/k"},
    "h2": {"datacenter": "datacenter.a", "address": "h2", "user": "m", "agent": true, "known_hosts": "/k"}
  },
  "application": {"app": {"source": "host.h1", "target": "host.h2",
    "copy": {"c": {"from": "/a", "to": "/a"}},
    "cutover": {
      "approval": {"approvers": ["x"]},
      "step": {"stop": {"on": "source", "run": "stop", "undo": "start"}},
      "final_sync": {},
      "step": {"start": {"on": "target", "run": "start", "undo": "stop"}},
      "check": {"up": {"on": "target", "run": "true"}}
    }}}
}`
	p, diags := loadString(t, "o.hcl.json", src, LoadOptions{})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	var got []string
	for _, b := range p.Applications[0].Cutover.Blocks {
		got = append(got, b.Kind+":"+b.Name)
	}
	if strings.Join(got, ",") != "step:stop,final_sync:final_sync,step:start,check:up" {
		t.Fatalf("JSON cutover order lost: %v", got)
	}
}

// A window that ended before LoadOptions.Now draws one warning at its
// not_before; without Now (tests, doc examples) or with a window ahead,
// none.
func TestWindowOverWarning(t *testing.T) {
	src, err := os.ReadFile("../examples/finance.hcl")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"window_start": "2026-12-01T09:00:00Z"}
	_, diags := loadString(t, "finance.hcl", string(src), LoadOptions{Vars: vars, Now: time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC)})
	if len(diags) != 1 || diags[0].Summary != "Cutover window is over" || diags[0].Severity != hcl.DiagWarning ||
		diags[0].Subject.Start.Line != 73 || !strings.Contains(diags[0].Detail, "ended at 2026-12-01T13:00:00Z") {
		t.Fatalf("window ended at now: %v", diags)
	}
	for _, now := range []time.Time{{}, time.Date(2026, 12, 1, 12, 59, 0, 0, time.UTC)} {
		if _, diags := loadString(t, "finance.hcl", string(src), LoadOptions{Vars: vars, Now: now}); len(diags) != 0 {
			t.Fatalf("now %v: %v", now, diags)
		}
	}
}

// A dependency that soaks past its dependant's window is flagged at the
// depends_on reference; a soak that ends inside the window is not.
func TestDependencySoakPastWindow(t *testing.T) {
	src, err := os.ReadFile("../examples/wave.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, diags := loadString(t, "wave.hcl", string(src), LoadOptions{})
	if len(diags) != 1 || diags[0].Summary != "Dependency soaks past this window" || diags[0].Subject.Start.Line != 140 ||
		!strings.Contains(diags[0].Detail, `"directory" soaks 12h`) || !strings.Contains(diags[0].Detail, `window of "finance" closes at 2030-06-07T22:00:00+02:00`) {
		t.Fatalf("wave.hcl: %v", diags)
	}
	short := strings.Replace(string(src), `soak = "12h"`, `soak = "3h"`, 1)
	if short == string(src) {
		t.Fatal("wave.hcl has no 12h soak to shorten")
	}
	if _, diags := loadString(t, "wave.hcl", short, LoadOptions{}); len(diags) != 0 {
		t.Fatalf("soak ending inside the window: %v", diags)
	}
}
