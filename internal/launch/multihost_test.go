package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// A multi-host plan becomes one move whose input names every further
// host once, each copy set's own pair, the blocks' hosts and groups; a
// failback swaps every pair and keeps the named hosts; the Details panel
// lists all of it.
func TestMultiHostInputAndDetails(t *testing.T) {
	p, diags := plans.Load([]string{"../../plans/testdata/multihost.hcl"}, plans.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	in := MoveInput(p, p.Application("finance"), "ops")
	var hosts []string
	for _, h := range in.Hosts {
		hosts = append(hosts, h.Name+"@"+h.Queue)
	}
	if strings.Join(hosts, ",") != "db_pb@umzug-pb,db_lg@umzug-lg,dns_lg@umzug-lg" {
		t.Fatalf("hosts %v", hosts)
	}
	if c := in.Copies[0]; c.SourceHost != "" || c.TargetHost != "" {
		t.Fatalf("copy app names its own hosts: %+v", c)
	}
	if c := in.Copies[1]; c.SourceHost != "db_pb" || c.TargetHost != "db_lg" {
		t.Fatalf("copy db: %+v", c)
	}
	if b := in.Cutover.Blocks[1]; b.On != "host.db_pb" || b.Group != 1 {
		t.Fatalf("stop_db: %+v", b)
	}
	d := StaticDetails(in)
	for _, want := range []string{"- host: dns_lg (10.2.0.53:22)", "- copy db: db_pb → db_lg: /var/lib/postgresql",
		"stop_db on host.db_pb (parallel group 1)"} {
		if !strings.Contains(d, want) {
			t.Errorf("details lack %q:\n%s", want, d)
		}
	}
	in.FailbackBlocks = undoBlocks(in.Cutover.Blocks)
	fb, err := workflows.FailbackInput(in, workflows.Status{Phase: workflows.PhaseCommitted}, "umzug/multihost/finance", "ops")
	if err != nil {
		t.Fatal(err)
	}
	if c := fb.Copies[1]; c.SourceHost != "db_lg" || c.TargetHost != "db_pb" || c.From != "/var/lib/postgresql" {
		t.Fatalf("failback copy db: %+v", c)
	}
	var ons []string
	for _, b := range fb.Cutover.Blocks {
		ons = append(ons, b.Name+"@"+b.On)
	}
	if got := strings.Join(ons, ","); got != "undo_switch_dns@host.dns_lg,undo_start_db@host.db_lg,final_sync@,undo_stop_db@host.db_pb,undo_stop_app@target" {
		t.Fatalf("failback blocks %s", got)
	}
}

// A rehearsal of a multi-host application on one scratch host puts each
// copy set under the root, a set with its own target in a directory
// named after that host, so sets with equal `to` paths on different
// hosts do not meet; without a scratch host each set stays on its own.
func TestMultiHostRehearsalRoots(t *testing.T) {
	src, err := os.ReadFile("../../plans/testdata/multihost.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target, wantDB, wantDBHost string
	}{
		{"\n    target = host.dns_lg", "/scratch/db_lg/var/lib/postgresql", ""},
		{"", "/scratch/var/lib/postgresql", "db_lg"},
	} {
		plan := strings.Replace(string(src), "  cutover {", "  rehearsal {\n    root = \"/scratch\""+c.target+"\n  }\n  cutover {", 1)
		path := filepath.Join(t.TempDir(), "multihost.hcl")
		if err := os.WriteFile(path, []byte(plan), 0o600); err != nil {
			t.Fatal(err)
		}
		p, diags := plans.Load([]string{path}, plans.LoadOptions{})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		in, err := RehearsalInput(p, p.Application("finance"), "ops")
		if err != nil {
			t.Fatal(err)
		}
		if db := in.Copies[1]; db.To != c.wantDB || db.TargetHost != c.wantDBHost {
			t.Errorf("rehearsal target %q: copy db to %s on %q, want %s on %q", c.target, db.To, db.TargetHost, c.wantDB, c.wantDBHost)
		}
		if app := in.Copies[0]; app.To != "/scratch/srv/finance" {
			t.Errorf("copy app to %s", app.To)
		}
	}
}
