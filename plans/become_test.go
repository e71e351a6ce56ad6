package plans

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// allDiags is every diagnostic's summary and detail.
func allDiags(d hcl.Diagnostics) string {
	var b strings.Builder
	for _, x := range d {
		b.WriteString(x.Summary + ": " + x.Detail + "\n")
	}
	return b.String()
}

func becomePlan(hostBecome, stepBecome string) string {
	return `
datacenter "a" {}
host "h1" {
  datacenter  = datacenter.a
  address     = "h1"
  user        = "fin-ops"
  agent       = true
  known_hosts = "/k"
  ` + hostBecome + `
}
host "h2" {
  datacenter  = datacenter.a
  address     = "h2"
  user        = "fin-ops"
  agent       = true
  known_hosts = "/k"
}
application "app" {
  source = host.h1
  target = host.h2
  cutover {
    step "stop" {
      on   = "source"
      run  = "systemctl stop app"
      undo = "systemctl start app"
      ` + stepBecome + `
    }
    check "as_root" {
      on  = "source"
      run = "true"
    }
  }
}
`
}

func TestHostBecome(t *testing.T) {
	p, diags := loadString(t, "a.hcl", becomePlan(`become = "sudo"`, `become = false`), LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := map[string]string{}
	for _, h := range p.Hosts {
		got[h.Name] = h.Become
	}
	if got["h1"] != "sudo" || got["h2"] != "" {
		t.Fatalf("become per host: %v", got)
	}
	blocks := p.Applications[0].Cutover.Blocks
	if !blocks[0].NoBecome || blocks[1].NoBecome {
		t.Fatalf("NoBecome of step %v, check %v", blocks[0].NoBecome, blocks[1].NoBecome)
	}
	if strings.Contains(allDiags(diags), "become = false without become") {
		t.Fatalf("warned on a become host: %v", diags)
	}

	for _, c := range []struct{ host, step, want string }{
		{`become = "doas"`, ``, `Invalid become`},
		{`become = "root"`, ``, `only "sudo"`},
		{`become = "sudo"`, `become = true`, `only become = false`},
	} {
		_, diags := loadString(t, "a.hcl", becomePlan(c.host, c.step), LoadOptions{})
		if !diags.HasErrors() || !strings.Contains(allDiags(diags), c.want) {
			t.Errorf("%s / %s: want %q, got %v", c.host, c.step, c.want, diags)
		}
	}

	// become = false on a host without become is allowed, and said to do
	// nothing.
	_, diags = loadString(t, "a.hcl", becomePlan(``, `become = false`), LoadOptions{})
	if diags.HasErrors() || !strings.Contains(allDiags(diags), "become = false without become") {
		t.Fatalf("want the warning only: %v", diags)
	}
}
