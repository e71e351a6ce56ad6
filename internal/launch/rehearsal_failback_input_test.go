package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

func loadExample(t *testing.T) *plans.Plan {
	t.Helper()
	p, diags := plans.Load([]string{"../../examples/print-center.hcl"}, plans.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return p
}

// A rehearsal's input targets the scratch host under the root, keeps only
// the steps that rehearse and the checks that do not opt out, and waits
// for no approval, window or soak.
func TestRehearsalInputReRootsAndFilters(t *testing.T) {
	p := loadExample(t)
	in, err := RehearsalInput(p, p.Application("print"), "k.meier")
	if err != nil {
		t.Fatal(err)
	}
	if in.Mode != workflows.ModeRehearsal || in.Target.Name != "akdb_print" || in.RehearsalRoot != "/tmp/umzug-demo/rehearsal" {
		t.Fatalf("mode %q target %s root %q", in.Mode, in.Target.Name, in.RehearsalRoot)
	}
	if in.Copies[0].To != "/tmp/umzug-demo/rehearsal/tmp/umzug-demo/akdb/srv/print" || in.Copies[0].From != "/tmp/umzug-demo/owl/srv/print" {
		t.Fatalf("copy %s → %s", in.Copies[0].From, in.Copies[0].To)
	}
	var names []string
	for _, b := range in.Cutover.Blocks {
		names = append(names, b.Kind+":"+b.Name)
	}
	if got := strings.Join(names, " "); got != "step:announce final_sync:final_sync check:tools_ready" {
		t.Fatalf("rehearsal blocks: %s", got)
	}
	if in.Cutover.Approval != nil || in.Cutover.Window != nil || in.Soak != 0 || in.RehearsalRequired != 0 || in.FailbackBlocks != nil {
		t.Fatalf("rehearsal waits for something: %+v", in.Cutover)
	}
	// The real move carries the requirement and the derived failback.
	mv := MoveInput(p, p.Application("print"), "k.meier")
	if mv.RehearsalRequired != 30*24*60*60*1e9 || len(mv.FailbackBlocks) != 4 {
		t.Fatalf("move: required %v, failback %+v", mv.RehearsalRequired, mv.FailbackBlocks)
	}
}

// from_undo reverses the cutover around final_sync; FailbackInput swaps
// the hosts, reverses the copies, flips `on` and keeps the approval rule.
func TestFailbackInputFromUndo(t *testing.T) {
	p := loadExample(t)
	mv := MoveInput(p, p.Application("print"), "k.meier")
	st := workflows.Status{Phase: workflows.PhaseCommitted}
	in, err := workflows.FailbackInput(mv, st, "umzug/print-center/print", "s.wolf")
	if err != nil {
		t.Fatal(err)
	}
	if in.Source.Name != "akdb_print" || in.Target.Name != "owl_print" || in.Copies[0].From != mv.Copies[0].To || in.Copies[0].To != mv.Copies[0].From {
		t.Fatalf("failback %s → %s, copy %+v", in.Source.Name, in.Target.Name, in.Copies[0])
	}
	var got []string
	for _, b := range in.Cutover.Blocks {
		got = append(got, b.Name+"@"+b.On+":"+b.Run)
	}
	want := "undo_start_spool@source:echo stopped > /tmp/umzug-demo/akdb/run/print.state final_sync@: " +
		"undo_stop_spool@target:echo running > /tmp/umzug-demo/owl/run/print.state " +
		"undo_announce@target:echo 'print production back at OWL-IT' >> /tmp/umzug-demo/owl/run/print.log"
	if strings.Join(got, " ") != want {
		t.Fatalf("failback blocks\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if in.Cutover.Approval == nil || in.Cutover.Approval.Quorum != 2 || in.Cutover.Window != nil || in.FailbackOf != "umzug/print-center/print" {
		t.Fatalf("failback approval %+v window %v of %q", in.Cutover.Approval, in.Cutover.Window, in.FailbackOf)
	}
	for _, phase := range []string{workflows.PhaseRolledBack, workflows.PhaseSoak} {
		if _, err := workflows.FailbackInput(mv, workflows.Status{Phase: phase}, "x", "s.wolf"); err == nil || !strings.Contains(err.Error(), "only a committed move") {
			t.Errorf("failback of a move in %s: %v", phase, err)
		}
	}
	mv.FailbackBlocks = nil
	if _, err := workflows.FailbackInput(mv, st, "x", "s.wolf"); err == nil || !strings.Contains(err.Error(), "without a failback block") {
		t.Errorf("failback without a planned failback: %v", err)
	}
}

// A plan without a rehearsal block cannot be rehearsed.
func TestRehearsalInputNeedsTheBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.hcl")
	if err := os.WriteFile(path, []byte(acceptPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := plans.Load([]string{path}, plans.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := RehearsalInput(p, p.Applications[0], "ops"); err == nil || !strings.Contains(err.Error(), "no rehearsal block") {
		t.Fatalf("rehearsal without block: %v", err)
	}
}
