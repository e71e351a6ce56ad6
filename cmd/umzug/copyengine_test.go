package main

import (
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities"
)

// --copy-engine defaults to classic, takes agent with --agent-dir, and
// stops the worker at start on anything else.
func TestWorkerCopyEngineFlag(t *testing.T) {
	if f := newWorkerCmd().Flags().Lookup("copy-engine"); f == nil || f.DefValue != activities.CopyEngineClassic {
		t.Fatalf("--copy-engine default: %v", f)
	}
	a := &activities.Activities{}
	if err := (copyEngineOptions{engine: "agent", agentDir: "/opt/umzug"}).apply(a); err != nil || a.CopyEngine != activities.CopyEngineAgent || a.AgentDir != "/opt/umzug" {
		t.Fatalf("agent: %+v %v", a, err)
	}
	code, _, stderr := cli(t, "worker", "--copy-engine", "rsync")
	if code != 1 || !strings.Contains(stderr, `--copy-engine "rsync": want classic or agent`) {
		t.Errorf("umzug worker --copy-engine rsync: exit %d, %q", code, stderr)
	}
}
