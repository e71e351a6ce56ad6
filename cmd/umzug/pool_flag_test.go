package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/activities"
)

// The worker's SSH connection pool is on with the default idle timeout
// unless --ssh-pool-idle 0 turns it off; a negative duration stops the
// worker at start.
func TestWorkerPoolFlag(t *testing.T) {
	acts, err := workerActivities("", 45*time.Second)
	if err != nil || acts.Pool.IdleTimeout != 45*time.Second {
		t.Fatalf("pool %v, err %v; want an idle timeout of 45s", acts.Pool, err)
	}
	if acts, _ := workerActivities("", 0); acts.Pool.IdleTimeout != 0 {
		t.Errorf("--ssh-pool-idle 0 leaves the pool on: %v", acts.Pool)
	}
	for _, c := range []*cobra.Command{newWorkerCmd(), newDevCmd()} {
		if f := c.Flags().Lookup("ssh-pool-idle"); f == nil || f.DefValue != activities.DefaultPoolIdleTimeout.String() {
			t.Errorf("umzug %s: --ssh-pool-idle default %v, want %v", c.Name(), f, activities.DefaultPoolIdleTimeout)
		}
	}
	for _, cmd := range []string{"worker", "dev"} {
		code, _, stderr := cli(t, cmd, "--ssh-pool-idle", "-1s")
		if code != 1 || !strings.Contains(stderr, "--ssh-pool-idle -1s: must be 0 (no pool) or a positive duration") {
			t.Errorf("umzug %s --ssh-pool-idle -1s: exit %d, %q", cmd, code, stderr)
		}
	}
}
