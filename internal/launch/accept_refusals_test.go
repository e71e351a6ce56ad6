package launch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/umzug-dev/umzug/plans"
)

const acceptPlan = `
datacenter "a" {}
host "h1" {
  datacenter  = datacenter.a
  address     = "h1"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
}
host "h2" {
  datacenter  = datacenter.a
  address     = "h2"
  user        = "m"
  agent       = true
  known_hosts = "/kh"
}
application "app" {
  source = host.h1
  target = host.h2
  copy "data" {
    from            = "/srv/data"
    to              = "/srv/data"
    accept_refusals = ["socket", "fifo", "unsafe_target"]
  }
}
`

// The kinds a plan accepts reach the copy activity's input unchanged.
func TestMoveInputCarriesAcceptedRefusals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.hcl")
	if err := os.WriteFile(path, []byte(acceptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := plans.Load([]string{path}, plans.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	in := MoveInput(p, p.Applications[0], "ops")
	if got := in.Copies[0].AcceptRefusals; !slices.Equal(got, []string{"socket", "fifo", "unsafe_target"}) {
		t.Fatalf("CopySet.AcceptRefusals = %v, want [socket fifo unsafe_target]", got)
	}
}
