package plans

import (
	"strings"
	"testing"
)

const offloadBase = `
datacenter "owl" {}
datacenter "akdb" {}
host "owl" {
  datacenter = datacenter.owl
  address    = "10.0.0.1"
  user       = "print"
  agent      = true
  known_hosts = "/k"
}
host "akdb" {
  datacenter = datacenter.akdb
  address    = "10.0.0.2"
  user       = "print"
  agent      = true
  known_hosts = "/k"
}
application "print_owl" {
  source = host.owl
  target = host.akdb
  copy "print" {
    from = "/srv/owl-print"
    to   = "/srv/standby/owl-print"
  }
  standby { interval = "15m" }
  offload "peak" {
    select = ["queue/*"]
    to     = "TO"
    accept {
      approvers = ["m.huber", "j.bauer"]
      quorum    = 2
    }
    intake { run = "echo in" }
    done {
      run      = "true"
      interval = "30s"
      within   = "2h"
    }
  }
}
application "print_akdb" {
  source = host.akdb
  target = host.owl
  copy "print" {
    from = "/srv/akdb-print"
    to   = "/srv/standby/akdb-print"
  }
  standby { interval = "15m" }
}
`

func loadOffload(t *testing.T, src string) (*Plan, string) {
	t.Helper()
	p, diags := loadSources("o.hcl", []source{{path: "o.hcl", src: []byte(src)}}, LoadOptions{})
	var errs []string
	for _, d := range diags {
		if d.Severity == 1 { // hcl.DiagError
			errs = append(errs, d.Subject.String()+": "+d.Summary+": "+d.Detail)
		}
	}
	return p, strings.Join(errs, "\n")
}

func TestOffloadDecodes(t *testing.T) {
	p, errs := loadOffload(t, strings.Replace(offloadBase, "TO", "/srv/offload-in/owl", 1))
	if errs != "" {
		t.Fatal(errs)
	}
	o := p.Application("print_owl").Offloads[0]
	if o.Copy == nil || o.Copy.Name != "print" || o.To != "/srv/offload-in/owl" || o.Accept.Quorum != 2 || !o.Accept.FourEyes ||
		o.Poll.Seconds() != 30 || o.Within.Hours() != 2 || o.MaxJobs != DefaultOffloadJob || o.Intake.Run != "echo in" {
		t.Fatalf("decoded %+v", o)
	}
}

// The landing directory must stay out of the partner's copy targets and
// of the copy sets the partner keeps on standby; errors point at `to`.
func TestOffloadOverlapsStandby(t *testing.T) {
	for _, tc := range []struct{ to, want string }{
		{"/srv/standby/owl-print/inbox", "overlaps copy \"print\" of application \"print_owl\""},
		{"/srv/akdb-print/inbox", "inside copy \"print\" of application \"print_akdb\""},
	} {
		_, errs := loadOffload(t, strings.Replace(offloadBase, "TO", tc.to, 1))
		if !strings.Contains(errs, "Offload overlaps a standby copy") || !strings.Contains(errs, tc.want) || !strings.Contains(errs, "o.hcl:28,") {
			t.Errorf("to = %s: errors %q", tc.to, errs)
		}
	}
}

func TestOffloadRefusals(t *testing.T) {
	ok := strings.Replace(offloadBase, "TO", "/srv/offload-in/owl", 1)
	for _, tc := range []struct{ old, new, want string }{
		{`select = ["queue/*"]`, `select = ["../etc/*"]`, "Invalid select"},
		{`select = ["queue/*"]`, `select = [".umzug-offload/*"]`, "Invalid select"},
		{`select = ["queue/*"]`, ``, "Offload without select"},
		{`quorum    = 2`, `quorum    = 3`, "Invalid quorum"},
		{`intake { run = "echo in" }`, ``, "Offload without intake"},
		{`select = ["queue/*"]`, `select = ["queue/*"]
    copy = "nope"`, "Unknown copy set"},
	} {
		_, errs := loadOffload(t, strings.Replace(ok, tc.old, tc.new, 1))
		if !strings.Contains(errs, tc.want) {
			t.Errorf("%s -> %s: errors %q, want %q", tc.old, tc.new, errs, tc.want)
		}
	}
}

// An acceptor who also approves the application's own cutover is warned
// about: the acceptance should come from the partner's people.
func TestOffloadWarnsAboutOwnAcceptors(t *testing.T) {
	src := strings.Replace(offloadBase, "TO", "/srv/offload-in/owl", 1)
	src = strings.Replace(src, `  standby { interval = "15m" }
  offload`, `  standby { interval = "15m" }
  cutover {
    approval { approvers = ["j.bauer", "k.meier"] }
    final_sync {}
  }
  offload`, 1)
	_, diags := loadSources("o.hcl", []source{{path: "o.hcl", src: []byte(src)}}, LoadOptions{})
	var warned []string
	for _, d := range diags {
		if d.Summary == "Acceptor of the handing-over site" {
			warned = append(warned, d.Detail)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "lets j.bauer accept") {
		t.Fatalf("warnings %q", warned)
	}
}
