package plans

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const digestPlan = `
variable "window_start" {
  type    = string
  default = "2030-01-05T18:00:00+01:00"
}
variable "db_password" {
  type      = string
  sensitive = true
  default   = "S3cr3t-default"
}
datacenter "a" {}
datacenter "b" {}
host "src" {
  datacenter  = datacenter.a
  address     = "10.0.0.1"
  user        = "root"
  known_hosts = "/etc/ssh/ssh_known_hosts"
  agent       = true
}
host "dst" {
  datacenter  = datacenter.b
  address     = "10.0.0.2"
  user        = "root"
  known_hosts = "/etc/ssh/ssh_known_hosts"
  agent       = true
}
application "app" {
  source = host.src
  target = host.dst
  copy "data" {
    from = "/srv/data"
    to   = "/srv/data"
  }
  cutover {
    window {
      not_before = var.window_start
      duration   = "4h"
    }
    approval {
      approvers          = ["a.meier", "b.schulz"]
      operators          = ["ops.oncall"]
      require_run_digest = true
    }
    step "stop" {
      on   = "source"
      run  = "systemctl stop app"
      undo = "systemctl start app"
    }
    final_sync {}
  }
}
`

func loadDigestPlan(t testing.TB, vars map[string]string) *Plan {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.hcl")
	if err := os.WriteFile(path, []byte(digestPlan), 0o600); err != nil {
		t.Fatal(err)
	}
	p, diags := Load([]string{path}, LoadOptions{Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	return p
}

// The plan SHA-256 ignores variable values; the run digest does not, and
// it never contains a sensitive value.
func TestRunDigestCoversVariables(t *testing.T) {
	base := loadDigestPlan(t, nil)
	same := loadDigestPlan(t, nil)
	window := loadDigestPlan(t, map[string]string{"window_start": "2026-12-01T09:00:00Z"})
	secret := loadDigestPlan(t, map[string]string{"db_password": "other"})
	if base.SHA256 != window.SHA256 {
		t.Fatal("plan sha256 changed with a variable; the test premise is wrong")
	}
	d := base.RunDigest()
	if len(d) != 64 || d != same.RunDigest() {
		t.Fatalf("digest %q not stable (%q)", d, same.RunDigest())
	}
	if d == window.RunDigest() || d == secret.RunDigest() || window.RunDigest() == secret.RunDigest() {
		t.Fatalf("digests equal across variable values: %s %s %s", d, window.RunDigest(), secret.RunDigest())
	}
	if strings.Contains(d, "S3cr3t") {
		t.Fatal("digest contains the secret")
	}
}

func TestApprovalOperatorsAndDigestRule(t *testing.T) {
	p := loadDigestPlan(t, nil)
	a := p.Applications[0].Cutover.Approval
	if !a.RequireRunDigest || len(a.Operators) != 1 || a.Operators[0] != "ops.oncall" {
		t.Fatalf("approval = %+v", a)
	}
}

// BenchmarkRunDigest measures the digest of a plan with one sensitive
// value: the Argon2id stretch is what a guess at the secret costs.
func BenchmarkRunDigest(b *testing.B) {
	p := loadDigestPlan(b, nil)
	b.ResetTimer()
	for b.Loop() {
		_ = p.RunDigest()
	}
}
