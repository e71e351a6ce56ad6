package launch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/plans"
)

// The plan language and the activities name the worker's variables alike.
func TestSecretPrefixesAgree(t *testing.T) {
	if plans.SecretEnvPrefix != contract.SecretEnvPrefix {
		t.Fatalf("plans %q, activities %q", plans.SecretEnvPrefix, contract.SecretEnvPrefix)
	}
}

const secretPlan = `
variable "pg_password" {
  sensitive = true
}
` + testkit.TwoHostsHCL + `application "db" {
  source = host.h1
  target = host.h2
  cutover {
    step "load" {
      on   = "target"
      run  = "PGPASSWORD=\"${var.pg_password}\" psql -f dump.sql"
      undo = "dropdb app"
    }
  }
}
`

// TestMoveInputCarriesNoSecret: a sensitive value given to `umzug run`
// stays out of the workflow input; the step names the variable instead.
func TestMoveInputCarriesNoSecret(t *testing.T) {
	const secret = "S3cr3t-'; rm -rf / #"
	f := filepath.Join(t.TempDir(), "db.hcl")
	if err := os.WriteFile(f, []byte(secretPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := plans.Load([]string{f}, plans.LoadOptions{Vars: map[string]string{"pg_password": secret}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	in := MoveInput(p, p.Applications[0], "a.meier")
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "S3cr3t") {
		t.Fatalf("the workflow input holds the secret: %s", b)
	}
	step := in.Cutover.Blocks[0]
	if step.Run != `PGPASSWORD="${UMZUG_SECRET_pg_password}" psql -f dump.sql` || !reflect.DeepEqual(step.Secrets, []string{"pg_password"}) || step.KeepOutput {
		t.Fatalf("step %+v", step)
	}
}

// output = "keep" reaches the workflow input as the step's KeepOutput.
func TestMoveInputCarriesKeepOutput(t *testing.T) {
	f := filepath.Join(t.TempDir(), "db.hcl")
	src := strings.Replace(secretPlan, `undo = "dropdb app"`, `undo = "dropdb app"
      output = "keep"`, 1)
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := plans.Load([]string{f}, plans.LoadOptions{})
	warned := false
	for _, d := range diags {
		warned = warned || d.Summary == "Output of a command with secrets kept"
	}
	if diags.HasErrors() || !warned {
		t.Fatal(diags)
	}
	if step := MoveInput(p, p.Applications[0], "a.meier").Cutover.Blocks[0]; !step.KeepOutput {
		t.Fatalf("step %+v", step)
	}
}

// become = "sudo" on a host and become = false on a step reach the
// workflow input.
func TestMoveInputCarriesBecome(t *testing.T) {
	f := filepath.Join(t.TempDir(), "db.hcl")
	src := strings.Replace(secretPlan, `undo = "dropdb app"`, `undo = "dropdb app"
      become = false`, 1)
	src = strings.Replace(src, `  address     = "h2"`, `  address     = "h2"
  become      = "sudo"`, 1)
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := plans.Load([]string{f}, plans.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	in := MoveInput(p, p.Applications[0], "a.meier")
	if in.Target.Become != contract.BecomeSudo || in.Source.Become != "" || !in.Cutover.Blocks[0].NoBecome {
		t.Fatalf("target become %q, source become %q, step %+v", in.Target.Become, in.Source.Become, in.Cutover.Blocks[0])
	}
}
