//go:build cluster

package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/umzug-dev/umzug/workflows"
)

var (
	clusterScale = flag.Bool("cluster.scale", false, "measure wave throughput on the cluster (100-move wave with 2 and 4 workers)")
	clusterBig   = flag.Bool("cluster.big", false, "with -cluster.scale, also the 1,000-move wave (100 chains of 10, max_parallel 50)")
)

// TestClusterScale measures moves per minute and history events per move
// for waves of trivial moves on the PostgreSQL cluster with two and four
// worker processes. Figures go to bench/README.md.
func TestClusterScale(t *testing.T) {
	if !*clusterScale {
		t.Skip("run with -cluster.scale")
	}
	oc := startCluster(t, true, 2)
	e := oc.demoOn(t, "scale_finance", 31)
	type wave struct{ chains, length, maxParallel int }
	waves := []wave{{10, 10, 20}}
	if *clusterBig {
		waves = append(waves, wave{100, 10, 50})
	}
	for _, workers := range []int{2, 4} {
		if workers > oc.workers {
			oc.addWorkers(t, workers-oc.workers)
		}
		for _, w := range waves {
			n := w.chains * w.length
			name := fmt.Sprintf("s%dw%d", n, workers)
			plan := chainPlan(t, e.env, name, w.chains, w.length, w.maxParallel)
			began := time.Now()
			code, out, _ := cli(t, "run", plan, "--as", "lead", "--wait")
			took := time.Since(began)
			if code != 0 || !strings.Contains(out, "ended: committed") {
				t.Fatalf("%s: exit %d", name, code)
			}
			events := historyLengths(t, oc, name, w.chains, w.length)
			wv := describeLength(t, oc, workflows.WaveID(name, name))
			t.Logf("SCALE %d moves (%d chains of %d, max_parallel %d), %d workers: %s, %.1f moves/min, %.1f history events/move, wave workflow %d events",
				n, w.chains, w.length, w.maxParallel, workers, took.Round(time.Second), float64(n)/took.Minutes(), float64(events)/float64(n), wv)
		}
	}
}

func historyLengths(t *testing.T, oc *onCluster, plan string, chains, length int) int64 {
	t.Helper()
	var total int64
	for c := 0; c < chains; c++ {
		for i := 0; i < length; i++ {
			total += describeLength(t, oc, workflows.MoveID(plan, fmt.Sprintf("c%02d_%03d", c, i)))
		}
	}
	return total
}

func describeLength(t *testing.T, oc *onCluster, id string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := oc.c.WorkflowService().DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: "default", Execution: &commonpb.WorkflowExecution{WorkflowId: id}})
	if err != nil {
		t.Fatalf("describe %s: %v", id, err)
	}
	return d.GetWorkflowExecutionInfo().GetHistoryLength()
}
