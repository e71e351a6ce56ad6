//go:build cluster

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// TestClusterSetupMoveWave is the cluster lane: on a fresh PostgreSQL
// cluster `umzug run` points to `umzug setup`; setup registers the
// namespace and search attributes once and changes nothing the second
// time; then the finance move commits through two worker processes and a
// wave of dependency chains commits.
func TestClusterSetupMoveWave(t *testing.T) {
	oc := startCluster(t, false, 0)
	waitFrontend(t, oc.Cluster)
	e := oc.demoOn(t, "cl_finance", 11)

	code, _, errOut := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...)
	if code == 0 || !strings.Contains(errOut, "namespace default does not exist") || !strings.Contains(errOut, "umzug setup") {
		t.Fatalf("run before setup: exit %d, stderr %q; want a pointer to umzug setup", code, errOut)
	}
	code, out, _ := cli(t, "setup", "--retention", "72h")
	for _, want := range []string{"Updates and current details supported", "namespace default: registered, retention 72h0m0s",
		"search attributes UmzugPlan, UmzugApplication, UmzugPhase: registered (keyword)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("first setup: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	code, out, _ = cli(t, "setup")
	if code != 0 || !strings.Contains(out, "namespace default: exists, retention 72h0m0s (unchanged)") ||
		!strings.Contains(out, "UmzugPhase: registered (unchanged)") || strings.Contains(out, "(keyword)") {
		t.Fatalf("second setup changed something or failed: exit %d\n%s", code, out)
	}
	oc.c = dial(t)
	e.c = oc.c
	oc.addWorkers(t, 2)

	const id = "umzug/cl_finance/finance"
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	approveAndCommit(t, e, id, "c.yilmaz")
	checkCommitted(t, e, id)
	// The search attributes setup registered are set and searchable.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := oc.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
		Query: "UmzugPlan = 'cl_finance' AND UmzugPhase = 'committed'"})
	if err != nil || len(resp.GetExecutions()) != 1 {
		t.Fatalf("visibility query by UmzugPlan/UmzugPhase: %d executions, %v", len(resp.GetExecutions()), err)
	}

	plan := chainPlan(t, e.env, "clwave", 3, 3, 4)
	if code, out, _ := cli(t, "run", plan, "--as", "lead", "--wait"); code != 0 || !strings.Contains(out, "wave clwave ended: committed") {
		t.Fatalf("wave: exit %d\n%s", code, out)
	}
	for _, app := range []string{"c00_000", "c02_002"} {
		if b, err := os.ReadFile(filepath.Join(e.env.Lemgo.Root, "srv/clwave", app, "data.txt")); err != nil || string(b) != app+"\n" {
			t.Errorf("%s did not arrive: %q %v", app, b, err)
		}
	}
}
