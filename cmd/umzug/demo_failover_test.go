package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// TestFailoverDemoEndsWithBothSitesEqual plays `umzug demo --scenario
// failover --auto-approve`: a standby keeps AKDB warm, OWL-IT goes down,
// the failover proceeds from the last verified copy, AKDB takes new jobs,
// and the failback copies back only those; both sites end equal and both
// audits replay.
func TestFailoverDemoEndsWithBothSitesEqual(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	o := demoOptions{
		embedded: embeddedOptions{port: 0, noUI: true}, // any free port, bound by the server
		dir:      dir, paderbornAddr: "127.0.0.1:0", lemgoAddr: "127.0.0.1:0",
		scale: 1, autoApprove: true, scenario: "failover",
	}
	out := &lockedBuffer{}
	if err := runFailoverDemo(context.Background(), out, o); err != nil {
		t.Fatalf("failover demo: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"standby: the next sync copied 4 files",
		"failover committed: the source did not answer; proceeded from the last verified standby copy of",
		"step stop_spool on owl_print: skipped, the source is unreachable",
		"second confirmation by s.wolf recorded",
		"failback committed: 3 files copied back from AKDB (only what changed there)",
		"OWL-IT equals AKDB:",
		"audit-failover/report.md", "audit-failback/report.md", "replay consistent",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "replay inconsistent") {
		t.Errorf("an audit replay failed:\n%s", got)
	}
	if _, err := treecmp.Equal(filepath.Join(dir, "owl/srv/print"), filepath.Join(dir, "akdb/srv/print"), treecmp.Options{}); err != nil {
		t.Fatalf("sites differ after the demo: %v", err)
	}
	for _, f := range []string{"audit-failover/report.md", "audit-failback/report.md"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "ailback of") && !strings.Contains(string(b), "ailed back by") {
			t.Errorf("%s does not link the other move:\n%s", f, b)
		}
	}
}
