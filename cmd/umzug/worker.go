package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/internal/workers"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newWorkerCmd) }

func newWorkerCmd() *cobra.Command {
	var queue, secretsFile string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker against an existing Temporal cluster",
		Long: `worker serves umzug workflows and activities for the cluster at
TEMPORAL_ADDRESS (default 127.0.0.1:7233), namespace TEMPORAL_NAMESPACE.
With --queue SITE it runs only the activities for hosts in data centers whose
worker_queue is SITE; start it inside that site's network.

Sensitive plan variables never travel through Temporal: the worker reads
their values from its environment (UMZUG_SECRET_<name>) or from
--secrets-file, and hands them to the remote commands.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			acts, err := workerActivities(secretsFile)
			if err != nil {
				return err
			}
			c, err := dialChecked(ctx, "umzug-worker@"+hostname(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer c.Close()
			o := workers.Options{TaskQueue: queue, Activities: acts}
			if queue != workflows.DefaultTaskQueue {
				o.ActivitiesOnly = true
			}
			w := workers.New(c, o)
			fmt.Fprintf(cmd.OutOrStdout(), "worker on %s namespace %s, task queue %s; Ctrl-C stops\n",
				temporalAddress(), temporalNamespace(), queue)
			return w.Run(worker.InterruptCh())
		},
	}
	cmd.Flags().StringVar(&queue, "queue", workflows.DefaultTaskQueue, "task queue to serve (a datacenter's worker_queue)")
	addSecretsFileFlag(cmd, &secretsFile)
	return cmd
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
