package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/internal/agentdeploy"
)

// agentDirEnv is the default of --agent-dir.
const agentDirEnv = "UMZUG_AGENT_DIR"

// copyEngineOptions choose how the worker's CopyTree moves data.
type copyEngineOptions struct {
	engine, agentDir string
}

// addCopyEngineFlags adds --copy-engine and --agent-dir to a command that
// runs a worker.
func addCopyEngineFlags(cmd *cobra.Command, o *copyEngineOptions) {
	cmd.Flags().StringVar(&o.engine, "copy-engine", activities.CopyEngineAgent,
		"how copies move data: agent (umzug-agent uploaded to each host, every file operation bound to the copy roots; a host that allows SFTP only is copied by the classic engine, which refuses target trees others can write) or classic (SFTP, tar, find, sha256sum by path)")
	cmd.Flags().StringVar(&o.agentDir, "agent-dir", os.Getenv(agentDirEnv),
		"`DIR` holding umzug-agent-linux-<arch> binaries, searched before the directory of this executable (default $"+agentDirEnv+")")
}

// apply sets the engine on the worker's activities.
func (o copyEngineOptions) apply(a *activities.Activities) error {
	switch o.engine {
	case "", activities.CopyEngineClassic, activities.CopyEngineAgent:
	default:
		return &exitError{code: 1, err: fmt.Errorf("--copy-engine %q: want %s or %s", o.engine, activities.CopyEngineAgent, activities.CopyEngineClassic)}
	}
	a.CopyEngine, a.AgentDir = o.engine, o.agentDir
	return nil
}

// warnNoLocalAgent tells a worker's operator at start that no agent for
// this machine's architecture was found: copies would fail later with
// the same advice. Hosts of other architectures are only checked when a
// copy reaches them.
func warnNoLocalAgent(a *activities.Activities, w io.Writer) {
	if a.CopyEngine == activities.CopyEngineClassic {
		return
	}
	if _, err := (agentdeploy.Locator{Dir: a.AgentDir}).Find("this machine", runtime.GOARCH); err != nil {
		fmt.Fprintf(w, "umzug worker: warning: %v (or install both: go install ./cmd/umzug ./cmd/umzug-agent)\n", err)
	}
}

// devAgent gives the in-process worker of `umzug dev` and `umzug demo` an
// agent for this machine. Installed with the README's command the agent
// sits next to the executable; under `go run` it does not, and when the
// go toolchain can build it from the module source in the working
// directory it is built into a temporary directory (removed by the
// returned function). Otherwise the worker copies with the classic
// engine, and says so in one line.
func devAgent(ctx context.Context, a *activities.Activities, w io.Writer) (cleanup func()) {
	cleanup = func() {}
	if a.CopyEngine == activities.CopyEngineClassic {
		return cleanup
	}
	if _, err := (agentdeploy.Locator{Dir: a.AgentDir}).Find("this machine", runtime.GOARCH); err == nil {
		return cleanup
	}
	fallback := func(why string) func() {
		a.CopyEngine = activities.CopyEngineClassic
		fmt.Fprintf(w, "umzug: no umzug-agent next to this executable and %s: copies use the classic engine (go install ./cmd/umzug ./cmd/umzug-agent gives the agent engine)\n", why)
		return cleanup
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fallback("no go toolchain to build one")
	}
	dir, err := os.MkdirTemp("", "umzug-agent-")
	if err != nil {
		return fallback(fmt.Sprintf("no directory to build one in (%v)", err))
	}
	fmt.Fprintln(w, "umzug: no umzug-agent next to this executable (go run?): building it from the module source …")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", filepath.Join(dir, "umzug-agent-linux-"+runtime.GOARCH), "github.com/umzug-dev/umzug/cmd/umzug-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		msg := strings.TrimSpace(string(out))
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		return fallback(fmt.Sprintf("go build ./cmd/umzug-agent failed here (%s)", msg))
	}
	a.AgentDir = dir
	return func() { os.RemoveAll(dir) }
}
