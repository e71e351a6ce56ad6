//go:build cluster

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/cluster"
	"github.com/umzug-dev/umzug/internal/demo"
)

// The test binary doubles as the umzug binary for the worker processes
// the cluster tests start: with UMZUG_TEST_MAIN=1 it runs the CLI.
func init() {
	if os.Getenv("UMZUG_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
}

// onCluster is a PostgreSQL-backed Temporal cluster with umzug workers as
// processes of their own; the CLI runs in this process against it.
type onCluster struct {
	*cluster.Cluster
	c       client.Client
	workers int
}

// startCluster starts the cluster; with setup it also runs `umzug setup`
// and starts n worker processes.
func startCluster(t *testing.T, setup bool, n int) *onCluster {
	t.Helper()
	ctx := context.Background()
	cl, err := cluster.Start(ctx, cluster.Options{Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, cl.Dir())
		}
		cl.Stop()
	})
	t.Setenv("TEMPORAL_ADDRESS", cl.Address())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	oc := &onCluster{Cluster: cl}
	if !setup {
		return oc
	}
	waitFrontend(t, cl)
	if code, _, _ := cli(t, "setup"); code != 0 {
		t.Fatalf("umzug setup: exit %d", code)
	}
	oc.c = dial(t)
	oc.addWorkers(t, n)
	return oc
}

// waitFrontend waits until the frontend answers; the services join their
// membership ring for a while after they start.
func waitFrontend(t *testing.T, cl *cluster.Cluster) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c, err := dialFromEnv(context.Background(), "umzug-test")
		if err == nil {
			c.Close()
			return
		}
		if dead := cl.Exited(); len(dead) > 0 {
			t.Fatalf("%s exited while the frontend was awaited (logs in %s)", strings.Join(dead, ", "), cl.Dir())
		}
		if time.Now().After(deadline) {
			t.Fatalf("frontend never answered: %v", err)
		}
		time.Sleep(time.Second)
	}
}

func dial(t *testing.T) client.Client {
	t.Helper()
	c, err := dialFromEnv(context.Background(), "umzug-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// addWorkers starts n more `umzug worker` processes against the frontend.
func (oc *onCluster) addWorkers(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		oc.workers++
		env := []string{"UMZUG_TEST_MAIN=1", "TEMPORAL_ADDRESS=" + oc.Address(), "TEMPORAL_NAMESPACE=default"}
		if err := oc.StartProcess(fmt.Sprintf("umzug-worker-%d", oc.workers), os.Args[0], []string{"worker"}, env); err != nil {
			t.Fatal(err)
		}
	}
}

// demoOn sets up the two demo data centers and a copy of the finance plan
// named name, so each move on the shared cluster has its own workflow ID.
func (oc *onCluster) demoOn(t *testing.T, name string, seed uint64) *e2e {
	t.Helper()
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(t.TempDir(), "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	b, err := os.ReadFile(env.PlanFile)
	if err != nil {
		t.Fatal(err)
	}
	env.PlanFile = filepath.Join(filepath.Dir(env.PlanFile), name+".hcl")
	if err := os.WriteFile(env.PlanFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return &e2e{env: env, c: oc.c}
}

func dumpLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		s := string(b)
		if len(s) > 4000 {
			s = s[len(s)-4000:]
		}
		t.Logf("--- tail of %s\n%s", filepath.Base(l), strings.TrimSpace(s))
	}
}
