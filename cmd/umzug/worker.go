package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/internal/memlimit"
	"github.com/umzug-dev/umzug/internal/workers"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newWorkerCmd) }

type workerOptions struct {
	queue, secretsFile string
	stopTimeout        time.Duration
	poolIdle           time.Duration
	observe            observeOptions
	copy               copyEngineOptions
}

func newWorkerCmd() *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker against an existing Temporal cluster",
		Long: `worker serves umzug workflows and activities for a Temporal cluster,
connected as the Temporal CLI connects (flags, TEMPORAL_* variables, the
profile in ~/.config/temporalio/temporal.toml).

With --queue SITE it runs only the activities for hosts in data centers whose
worker_queue is SITE; start it inside that site's network. Without it, it
serves the workflows (queue "umzug") and the activities of hosts without a
worker_queue. SIGTERM or SIGINT stops it gracefully: it stops polling and
gives running activities --stop-timeout to finish.

Sensitive plan variables never travel through Temporal: the worker reads
their values from its environment (UMZUG_SECRET_<name>) or from
--secrets-file, and hands them to the remote commands.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runWorker(cmd, o) },
	}
	addQueueFlag(cmd, &o.queue, "task queue to serve (a datacenter's worker_queue)")
	cmd.Flags().DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "on SIGTERM, how long running activities may finish before they are cancelled")
	addSecretsFileFlag(cmd, &o.secretsFile)
	addPoolFlag(cmd, &o.poolIdle)
	addCopyEngineFlags(cmd, &o.copy)
	addObserveFlags(cmd, &o.observe)
	o.observe.level = slog.LevelInfo
	return cmd
}

func runWorker(cmd *cobra.Command, o workerOptions) error {
	memlimit.Apply(memlimit.Worker)
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	acts, err := workerActivities(o.secretsFile, o.poolIdle)
	if err != nil {
		return err
	}
	if err := o.copy.apply(acts); err != nil {
		return err
	}
	warnNoLocalAgent(acts, cmd.ErrOrStderr())
	co, err := connectionOptions()
	if err != nil {
		return err
	}
	u, err := o.observe.instrument(&co)
	if err != nil {
		return err
	}
	id := workerIdentity(o.queue)
	c, err := dialWith(ctx, co, id)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := checkSetup(ctx, c, cmd.ErrOrStderr()); err != nil {
		return err
	}
	wo := workers.Options{TaskQueue: o.queue, Activities: acts, StopTimeout: o.stopTimeout, Metrics: u,
		ActivitiesOnly: o.queue != workflows.DefaultTaskQueue}
	w := workers.New(c, wo)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %s: %w", o.queue, err)
	}
	out := cmd.OutOrStdout()
	ms, err := o.observe.serve(u, c, co.Namespace, workers.PollingHealth(c, co.Namespace, o.queue, id, wo.ActivitiesOnly))
	if err != nil {
		w.Stop()
		return err
	}
	if ms != nil {
		defer ms.Close()
		fmt.Fprintf(out, "metrics on http://%s/metrics, health on /healthz\n", ms.Addr())
	}
	fmt.Fprintf(out, "worker %s on %s namespace %s, task queue %s; SIGTERM or Ctrl-C stops\n",
		workerIdentity(o.queue), temporalAddress(), temporalNamespace(), o.queue)
	<-ctx.Done()
	fmt.Fprintf(out, "stopping: no new tasks; running activities get %s\n", o.stopTimeout)
	w.Stop()
	fmt.Fprintln(out, "worker stopped")
	return nil
}

// workerIdentity names the worker in history (who ran each activity):
// queue and host, so the audit can tell the sites' workers apart.
func workerIdentity(queue string) string {
	return "umzug-worker/" + queue + "@" + hostname()
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
