//go:build interop

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

const payrollRecord = "umzug/payroll/payroll/standby/record"

// standbyPlan is the interop plan with a standby and an emergency rule.
func (it *interop) standbyPlan(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(it.plan(t, true))
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "  soak = \"2s\"\n", `  soak = "2s"

  standby {
    interval = "1h"
  }

  emergency {
    approvers      = ["ops.one", "ops.two"]
    confirm_within = "2h"
  }
`, 1)
	p := filepath.Join(it.dir, "payroll.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// standbySynced starts the standby and waits for its first verified sync.
func (it *interop) standbySynced(t *testing.T, plan string) workflows.StandbyStatus {
	t.Helper()
	if code, _, _ := cli(t, "standby", "start", plan, "--app", "payroll", "--as", "ops.one"); code != 0 {
		t.Fatalf("standby start: exit %d", code)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		v, err := it.e.c.QueryWorkflow(context.Background(), payrollRecord, "", workflows.QueryStatus)
		var st workflows.StandbyStatus
		if err == nil && v.Get(&st) == nil && st.LastVerified != nil {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verified standby sync: %v %+v", err, st)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (it *interop) failover(t *testing.T, plan, who string) string {
	t.Helper()
	code, out, _ := cli(t, "failover", plan, "--app", "payroll", "--as", who, "--reason", "interop")
	var id string
	if _, err := fmt.Sscanf(out, "failover %s started", &id); code != 0 || err != nil {
		t.Fatalf("failover: exit %d %q", code, out)
	}
	return id
}

func TestInteropFailoverSourceUnreachable(t *testing.T) {
	it := startInterop(t)
	plan := it.standbyPlan(t)
	sb := it.standbySynced(t, plan)
	if _, err := treecmp.Equal(it.srcData, it.dstData, treecmp.Options{Skip: []string{"tmp/scratch.tmp"}}); err != nil {
		t.Fatal(err)
	}
	if err := it.src.Close(); err != nil {
		t.Fatal(err)
	}
	id := it.failover(t, plan, "ops.two")
	st := it.e.waitPhase(t, id, workflows.PhaseCommitted)
	f := st.Failover
	if !f.SourceUnreachable || f.StandbyCopy == nil || f.StandbyCopy.WorkflowID != sb.LastVerified.WorkflowID || len(f.Skipped) != 2 {
		t.Fatalf("failover state %+v", f)
	}
	if got := state(t, it.dstState); got != "running" {
		t.Fatalf("target state %q", got)
	}
	if got := state(t, it.srcState); got != "running" {
		t.Fatalf("source state %q: the unreachable source was touched", got)
	}
	code, out, _ := cli(t, "status", id)
	if code != 0 || !strings.Contains(out, "proceeded from the last verified standby copy of "+sb.LastVerified.Finished.UTC().Format(time.RFC3339)) {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
}

func TestInteropFailoverRunsLastDelta(t *testing.T) {
	it := startInterop(t)
	plan := it.standbyPlan(t)
	it.standbySynced(t, plan)
	if err := os.WriteFile(filepath.Join(it.srcData, "db/journal/2026-12.log"), []byte("after the last sync\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := it.failover(t, plan, "ops.one")
	st := it.e.waitPhase(t, id, workflows.PhaseCommitted)
	if st.Failover.SourceUnreachable {
		t.Fatalf("failover state %+v", st.Failover)
	}
	if _, err := treecmp.Equal(it.srcData, it.dstData, treecmp.Options{Skip: []string{"tmp/scratch.tmp"}}); err != nil {
		t.Fatal(err)
	}
	if got := state(t, it.srcState); got != "stopped" {
		t.Fatalf("source state %q", got)
	}
	if code, _, _ := cli(t, "confirm", id, "--as", "ops.two"); code != 0 {
		t.Fatalf("confirm: exit %d", code)
	}
}
