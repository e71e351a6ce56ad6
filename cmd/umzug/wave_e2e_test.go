package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

// TestWaveBlocksDependantsOfAFailure runs a wave of four applications on
// the demo data centers: directory fails its check and rolls back, so
// finance (needs directory) and reports (needs finance) are blocked, while
// print, which needs nothing, still commits.
func TestWaveBlocksDependantsOfAFailure(t *testing.T) {
	e := startE2E(t)
	apps := []struct{ name, dependsOn, check string }{
		{"directory", "", "exit 1"},
		{"finance", "directory", "true"},
		{"reports", "finance", "true"},
		{"print", "", "true"},
	}
	var b strings.Builder
	b.WriteString(demoHostsHCL(e.env))
	var members []string
	for _, a := range apps {
		b.WriteString(demoAppHCL(t, e.env, a.name, a.name, a.dependsOn, a.check))
		members = append(members, "application."+a.name)
	}
	fmt.Fprintf(&b, "wave \"q4\" {\n  applications = [%s]\n  max_parallel = 2\n}\n", strings.Join(members, ", "))
	plan := filepath.Join(t.TempDir(), "q4.hcl")
	if err := os.WriteFile(plan, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, _ := cli(t, "run", plan, "--as", "lead", "--wait")
	if code != 1 || !strings.Contains(out, "umzug/q4/wave/q4") {
		t.Fatalf("run --wait: exit %d (want 1: not everything committed), output %q", code, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ws workflows.WaveStatus
	if err := e.c.GetWorkflow(ctx, "umzug/q4/wave/q4", "").Get(ctx, &ws); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"directory": workflows.PhaseRolledBack,
		"finance":   "blocked",
		"reports":   "blocked",
		"print":     workflows.PhaseCommitted,
	}
	for app, phase := range want {
		if ws.Phases[app] != phase {
			t.Errorf("%s: phase %q, want %q", app, ws.Phases[app], phase)
		}
	}
	if ws.BlockedBy["finance"] != "directory" || ws.BlockedBy["reports"] != "directory" {
		t.Errorf("blocked by: %v", ws.BlockedBy)
	}
	// Blocked moves never started: nothing reached their targets.
	lg := e.env.Lemgo.Root
	for _, app := range []string{"finance", "reports"} {
		if _, err := os.Stat(filepath.Join(lg, "srv", app, "data.txt")); !os.IsNotExist(err) {
			t.Errorf("%s was blocked but its target exists: %v", app, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(lg, "srv/print/data.txt")); err != nil || string(b) != "print\n" {
		t.Errorf("print did not arrive: %q %v", b, err)
	}
	if code, out, _ := cli(t, "status", "umzug/q4/wave/q4"); code != 0 || !strings.Contains(out, "blocked") {
		t.Errorf("wave status: exit %d %q", code, out)
	}
}
