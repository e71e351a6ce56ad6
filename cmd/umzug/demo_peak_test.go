package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPeakDemoHandsOverBothWays plays `umzug demo --scenario peak
// --auto`: OWL-IT's first hand-over is refused and its jobs are back in
// its queue, the second is produced at AKDB, and AKDB's is produced at
// OWL-IT; each accepted one is archived with its record.
func TestPeakDemoHandsOverBothWays(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	o := demoOptions{
		embedded: embeddedOptions{port: 0, noUI: true},
		dir:      dir, paderbornAddr: "127.0.0.1:0", lemgoAddr: "127.0.0.1:0",
		scale: 1, autoApprove: true, scenario: "peak",
	}
	out := &lockedBuffer{}
	stderr := captureStderr(t)
	err := runFailoverDemo(context.Background(), out, o)
	stderr()
	got := out.String()
	if err != nil {
		t.Fatalf("peak demo: %v\n%s", err, got)
	}
	for _, want := range []string{
		"refuse by j.bauer",
		"refused: refused by j.bauer: no capacity on shift A; every job is back in the source's queue",
		"OWL-IT → AKDB: 10 job(s) produced at akdb (akdb_print) and archived at owl (owl_print)",
		"AKDB → OWL-IT: 10 job(s) produced at owl (owl_print) and archived at akdb (akdb_print)",
		"accepted by m.huber", "accepted by s.wolf",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	// The refused Bielefeld jobs are all back in OWL-IT's queue.
	ents, err := os.ReadDir(filepath.Join(dir, "owl/srv/print/spool/bielefeld"))
	if err != nil || len(ents) != 40 {
		t.Fatalf("OWL-IT's Bielefeld queue holds %d jobs (%v), want all 40 back", len(ents), err)
	}
	for _, log := range []string{"akdb/srv/partner-queue/intake.log", "owl/srv/partner-queue/intake.log"} {
		b, err := os.ReadFile(filepath.Join(dir, log))
		seen := map[string]bool{}
		for _, l := range strings.Fields(string(b)) {
			if seen[l] {
				t.Errorf("%s takes %s in twice", log, l)
			}
			seen[l] = true
		}
		if err != nil || len(seen) != 10 {
			t.Errorf("%s: %d jobs (%v), want 10", log, len(seen), err)
		}
	}
}
