package main

import (
	"strings"
	"testing"
	"time"
)

// --ssh-pool-idle turns the worker's SSH connection pool on; it is off
// unless given, and a negative duration stops the worker at start.
func TestWorkerPoolFlag(t *testing.T) {
	acts, err := workerActivities("", 45*time.Second)
	if err != nil || acts.Pool.IdleTimeout != 45*time.Second {
		t.Fatalf("pool %v, err %v; want an idle timeout of 45s", acts.Pool, err)
	}
	if acts, _ := workerActivities("", 0); acts.Pool.IdleTimeout != 0 {
		t.Errorf("without the flag the pool is on: %v", acts.Pool)
	}
	for _, cmd := range []string{"worker", "dev"} {
		code, _, stderr := cli(t, cmd, "--ssh-pool-idle", "-1s")
		if code != 1 || !strings.Contains(stderr, "--ssh-pool-idle -1s: must be 0 (no pool) or a positive duration") {
			t.Errorf("umzug %s --ssh-pool-idle -1s: exit %d, %q", cmd, code, stderr)
		}
	}
}
