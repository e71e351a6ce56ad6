package main

import (
	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/workflows"
)

// addQueueFlag registers --queue, the one name run and worker use for a
// task queue, and the older --task-queue as a deprecated alias.
func addQueueFlag(cmd *cobra.Command, queue *string, usage string) {
	f := cmd.Flags()
	f.StringVar(queue, "queue", workflows.DefaultTaskQueue, usage)
	f.StringVar(queue, "task-queue", workflows.DefaultTaskQueue, usage)
	_ = f.MarkDeprecated("task-queue", "use --queue")
}
