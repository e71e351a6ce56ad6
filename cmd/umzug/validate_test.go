package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/plans"
)

const faultPlan = "../../plans/testdata/faults/allfaults.hcl"

func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.hcl")
	if len(files) < 3 {
		t.Fatalf("examples: %v", files)
	}
	for _, f := range files {
		code, out, errOut := cli(t, "validate", f)
		if code != 0 {
			t.Fatalf("validate %s: exit %d\n%s", f, code, errOut)
		}
		p, _ := plans.Load([]string{f}, plans.LoadOptions{})
		want := regexp.MustCompile(`^plan ` + p.Name + ` is valid: \d+ applications?, \d+ hosts?, sha256 ` + p.SHA256 + "\n$")
		if !want.MatchString(out) {
			t.Errorf("validate %s printed %q", f, out)
		}
	}
	code, out, errOut := cli(t, "validate", "../../examples/wave.hcl")
	if code != 0 || !strings.Contains(out, "plan wave is valid: 3 applications, 7 hosts, sha256 ") {
		t.Errorf("wave: exit %d, %q", code, out)
	}
	if !strings.Contains(errOut, "wave.hcl:140:18:\nWarning: Dependency soaks past this window") {
		t.Errorf("wave: the 12h soak of directory before the 4h window of finance is not flagged:\n%s", errOut)
	}
}

func TestValidateReportsEveryFault(t *testing.T) {
	code, out, errOut := cli(t, "validate", faultPlan)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if strings.Contains(out, "is valid") {
		t.Fatalf("claims valid: %s", out)
	}
	// Each fault with its file:line:col and its snippet.
	for _, want := range []string{
		"allfaults.hcl:27:19:\nError: Reference to undefined datacenter",
		`Did you mean "lemgo"?`,
		"allfaults.hcl:36:16:\nError: Reference to undefined host",
		"allfaults.hcl:40:15:\nError: Reference to undeclared variable",
		"allfaults.hcl:41:12:\nError: Relative path",
		"allfaults.hcl:44:3:\nError: Missing final_sync",
		"allfaults.hcl:47:19:\nError: Quorum larger than approver list",
		"allfaults.hcl:53:17:\nError: Invalid duration",
		"allfaults.hcl:57:10:\nError: Invalid duration",
		"allfaults.hcl:62:16:\nError: Source equals target",
		"depends_on cycle: application.ledger -> application.reports -> application.ledger",
		"allfaults.hcl:64:3:\nError: Unsupported argument",
		`  36:   target     = host.lgg`,
		"umzug: plan " + faultPlan + " has 12 error(s)\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(errOut)
	}
}

func TestValidateWarningsDoNotFail(t *testing.T) {
	code, out, errOut := cli(t, "validate", "../../plans/testdata/faults/warnings.hcl")
	if code != 0 || !strings.HasPrefix(out, "plan warnings is valid") {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	for _, want := range []string{"Warning: Weak verification", "Warning: No approval", "warnings.hcl:28:14:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestValidateSeveralPlans(t *testing.T) {
	code, out, errOut := cli(t, "validate", "../../examples/finance.hcl", faultPlan)
	if code != 1 || !strings.Contains(out, "plan finance is valid") || !strings.Contains(errOut, "1 of 2 plan(s) have errors") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestValidateJSON(t *testing.T) {
	code, out, errOut := cli(t, "validate", "--json", faultPlan)
	if code != 1 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var diags []struct {
		Severity string `json:"severity"`
		Summary  string `json:"summary"`
		Detail   string `json:"detail"`
		Filename string `json:"filename"`
		Start    struct{ Line, Column, Byte int }
		End      struct{ Line, Column, Byte int }
	}
	if err := json.Unmarshal([]byte(out), &diags); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(diags) != 12 {
		t.Fatalf("%d diagnostics, want 12", len(diags))
	}
	found := false
	for _, d := range diags {
		if d.Severity != "error" || d.Filename != faultPlan || d.Start.Line == 0 || d.End.Byte <= d.Start.Byte {
			t.Errorf("incomplete diagnostic %+v", d)
		}
		if d.Summary == "Source equals target" && d.Start.Line == 62 && d.Start.Column == 16 {
			found = true
		}
	}
	if !found {
		t.Error("source == target not reported at 62:16")
	}
	code, out, _ = cli(t, "validate", "--json", "../../examples/finance.hcl")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("clean plan: exit %d, %q", code, out)
	}
}

func TestValidateVariables(t *testing.T) {
	finance := "../../examples/finance.hcl"
	code, _, errOut := cli(t, "validate", finance, "--var", "window_strat=2026-12-05T18:00:00Z")
	if code != 1 || !strings.Contains(errOut, `Did you mean "window_start"?`) {
		t.Fatalf("undeclared --var: exit %d\n%s", code, errOut)
	}
	code, _, errOut = cli(t, "validate", finance, "--var", "window_start=next friday")
	if code != 1 || !strings.Contains(errOut, "Error: Invalid time") || !strings.Contains(errOut, "finance.hcl:73:20:") {
		t.Fatalf("bad window: exit %d\n%s", code, errOut)
	}
	code, _, errOut = cli(t, "validate", finance, "--var", "novalue")
	if code != 1 || !strings.Contains(errOut, "write --var NAME=VALUE") {
		t.Fatalf("--var without =: exit %d\n%s", code, errOut)
	}
	// The environment is read, and --var beats it.
	t.Setenv("UMZUG_VAR_window_start", "soon")
	if code, _, errOut = cli(t, "validate", finance); code != 1 || !strings.Contains(errOut, `"soon" is not an RFC 3339 time`) {
		t.Fatalf("UMZUG_VAR_: exit %d\n%s", code, errOut)
	}
	if code, _, errOut = cli(t, "validate", finance, "--var", "window_start=2026-12-24T18:00:00Z"); code != 0 {
		t.Fatalf("--var over env: exit %d\n%s", code, errOut)
	}
	vf := filepath.Join(t.TempDir(), "vals.hcl")
	os.WriteFile(vf, []byte(`lemgo_address = "10.40.7.21:22"`+"\n"), 0o644)
	if code, _, errOut = cli(t, "validate", finance, "--var-file", vf, "--var", "window_start=2026-12-24T18:00:00Z"); code != 0 {
		t.Fatalf("--var-file: exit %d\n%s", code, errOut)
	}
}

// A plan that does not exist is one line naming it and what to do, not
// "stat p: stat p: no such file".
func TestValidateMissingFile(t *testing.T) {
	code, _, errOut := cli(t, "validate", "no/such/plan.hcl")
	want := "umzug: plan no/such/plan.hcl does not exist: give the path of a plan file (*.hcl, *.hcl.json) or of a directory of them\n"
	if code != 1 || errOut != want {
		t.Fatalf("exit %d\n%q\nwant %q", code, errOut, want)
	}
}

// A window that is over: validate warns at not_before and exits 0, run
// refuses before it dials anything unless --past-window is given.
func TestWindowOver(t *testing.T) {
	finance := "../../examples/finance.hcl"
	code, _, errOut := cli(t, "validate", finance, "--var", "window_start=2020-01-05T18:00:00+01:00")
	if code != 0 || !strings.Contains(errOut, "finance.hcl:73:20:\nWarning: Cutover window is over") ||
		!strings.Contains(errOut, "ended at 2020-01-05T22:00:00+01:00") {
		t.Fatalf("validate, window over: exit %d\n%s", code, errOut)
	}
	code, _, errOut = cli(t, "validate", finance, "--var", "window_start="+time.Now().Add(time.Hour).Format(time.RFC3339))
	if code != 0 || strings.Contains(errOut, "Warning") {
		t.Fatalf("validate, window ahead: exit %d\n%s", code, errOut)
	}
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1") // nothing listens: a dial fails
	code, _, errOut = cli(t, "run", finance, "--as", "a.meier", "--var", "window_start=2020-01-05T18:00:00+01:00")
	if code != 1 || !strings.Contains(errOut, "umzug: the cutover window of finance is over") || !strings.Contains(errOut, "--past-window") {
		t.Fatalf("run, window over: exit %d\n%s", code, errOut)
	}
	code, _, errOut = cli(t, "run", finance, "--as", "a.meier", "--past-window", "--var", "window_start=2020-01-05T18:00:00+01:00")
	if code == 0 || strings.Contains(errOut, "the cutover window of finance is over") {
		t.Fatalf("run --past-window: exit %d (want a dial failure, not the window refusal)\n%s", code, errOut)
	}
}
