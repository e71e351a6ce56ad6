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
// Short runs build it too: the cluster lane copies with -short.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv(agentDirEnv) == "" {
		dir, err := testkit.BuildAgent()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Setenv(agentDirEnv, dir)
	}
	os.Exit(m.Run())
}
