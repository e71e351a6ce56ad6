package main

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/umzug-dev/umzug/internal/testkit"
)

// TestMain gives every worker these tests start, in this process or in
// one they spawn, the agent for this machine through $UMZUG_AGENT_DIR (a
// test binary has none next to it): copies run on the default engine.
// Short runs copy nothing and skip the build.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(agentDirEnv) == "" && !testing.Short() {
		dir, err := testkit.BuildAgent()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv(agentDirEnv, dir)
	}
	os.Exit(m.Run())
}
