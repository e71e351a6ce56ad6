package launch

import (
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
