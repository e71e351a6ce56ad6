package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/activities"
)

// copyEngineOptions choose how the worker's CopyTree moves data.
type copyEngineOptions struct {
	engine, agentDir string
}

// addCopyEngineFlags adds --copy-engine and --agent-dir to a command that
// runs a worker.
func addCopyEngineFlags(cmd *cobra.Command, o *copyEngineOptions) {
	cmd.Flags().StringVar(&o.engine, "copy-engine", activities.CopyEngineClassic,
		"how copies move data: classic (SFTP, tar, find, sha256sum) or agent (umzug-agent uploaded to both hosts; hosts without exec keep classic)")
	cmd.Flags().StringVar(&o.agentDir, "agent-dir", "",
		"`DIR` holding umzug-agent-linux-<arch> binaries for --copy-engine agent (searched before the directory of this executable)")
}

// apply sets the engine on the worker's activities.
func (o copyEngineOptions) apply(a *activities.Activities) error {
	switch o.engine {
	case "", activities.CopyEngineClassic, activities.CopyEngineAgent:
	default:
		return &exitError{code: 1, err: fmt.Errorf("--copy-engine %q: want %s or %s", o.engine, activities.CopyEngineClassic, activities.CopyEngineAgent)}
	}
	a.CopyEngine, a.AgentDir = o.engine, o.agentDir
	return nil
}
