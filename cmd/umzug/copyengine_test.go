package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/activities"
)

// --copy-engine defaults to agent, takes classic, and stops the worker at
// start on anything else; --agent-dir defaults to $UMZUG_AGENT_DIR.
func TestWorkerCopyEngineFlag(t *testing.T) {
	t.Setenv(agentDirEnv, "/opt/umzug-agents")
	cmd := newWorkerCmd()
	if f := cmd.Flags().Lookup("copy-engine"); f == nil || f.DefValue != activities.CopyEngineAgent {
		t.Fatalf("--copy-engine default: %v", f)
	}
	if f := cmd.Flags().Lookup("agent-dir"); f == nil || f.DefValue != "/opt/umzug-agents" {
		t.Fatalf("--agent-dir default: %v", f)
	}
	for _, c := range []*cobra.Command{newDevCmd(), newDemoCmd()} {
		if f := c.Flags().Lookup("copy-engine"); f == nil || f.DefValue != activities.CopyEngineAgent {
			t.Errorf("umzug %s --copy-engine: %v", c.Name(), f)
		}
	}
	a := &activities.Activities{}
	if err := (copyEngineOptions{engine: "classic", agentDir: "/opt/umzug"}).apply(a); err != nil || a.CopyEngine != activities.CopyEngineClassic || a.AgentDir != "/opt/umzug" {
		t.Fatalf("classic: %+v %v", a, err)
	}
	code, _, stderr := cli(t, "worker", "--copy-engine", "rsync")
	if code != 1 || !strings.Contains(stderr, `--copy-engine "rsync": want agent or classic`) {
		t.Errorf("umzug worker --copy-engine rsync: exit %d, %q", code, stderr)
	}
}

// The worker warns at start when it has no agent for its own machine,
// with the command that builds one.
func TestWorkerWarnsWithoutAgent(t *testing.T) {
	var w bytes.Buffer
	warnNoLocalAgent(&activities.Activities{AgentDir: t.TempDir()}, &w)
	if !strings.Contains(w.String(), "go build -o") || !strings.Contains(w.String(), "./cmd/umzug-agent") || !strings.Contains(w.String(), "GOARCH="+runtime.GOARCH) {
		t.Errorf("warning: %q", w.String())
	}
	w.Reset()
	warnNoLocalAgent(&activities.Activities{CopyEngine: activities.CopyEngineClassic}, &w)
	if w.Len() != 0 {
		t.Errorf("classic engine warned: %q", w.String())
	}
}

// Without an agent next to the executable (go run), dev and demo build
// it from the module source when they can, and otherwise copy with the
// classic engine after a one-line notice.
func TestDevAgentBuildsOrFallsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/umzug-agent")
	}
	var w bytes.Buffer
	a := &activities.Activities{AgentDir: t.TempDir()}
	cleanup := devAgent(context.Background(), a, &w)
	if a.CopyEngine == activities.CopyEngineClassic {
		t.Fatalf("fell back inside the module: %s", w.String())
	}
	bin := filepath.Join(a.AgentDir, "umzug-agent-linux-"+runtime.GOARCH)
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("built agent %s: %v", bin, err)
	}
	cleanup()
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Errorf("the built agent was left: %v", err)
	}

	// Outside any module (and so without its source) it falls back.
	t.Chdir(t.TempDir())
	t.Setenv("GOFLAGS", "-mod=mod")
	w.Reset()
	a = &activities.Activities{AgentDir: t.TempDir()}
	devAgent(context.Background(), a, &w)()
	if a.CopyEngine != activities.CopyEngineClassic || strings.Count(w.String(), "copies use the classic engine") != 1 {
		t.Errorf("engine %q, notice %q", a.CopyEngine, w.String())
	}
}
