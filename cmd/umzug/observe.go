package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/umzug-dev/umzug/internal/metrics"
	"github.com/umzug-dev/umzug/internal/workers"
)

// observeOptions are the logging and metrics flags of worker and dev.
type observeOptions struct {
	metricsAddr string
	logFormat   string
	// level is the least severe level logged (worker: info, dev: warn).
	level slog.Level
}

func addObserveFlags(cmd *cobra.Command, o *observeOptions) {
	cmd.Flags().StringVar(&o.metricsAddr, "metrics-address", "", "serve Prometheus /metrics and /healthz on HOST:PORT")
	cmd.Flags().StringVar(&o.logFormat, "log-format", "text", "log format on stderr: text or json")
}

// logger is the process's slog logger on stderr, in the chosen format.
func (o observeOptions) logger() (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: o.level}
	switch o.logFormat {
	case "", "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", o.logFormat)
}

// instrument sets the SDK logger and, with --metrics-address, a metrics
// registry whose SDK handler goes into the client options.
func (o observeOptions) instrument(co *client.Options) (*metrics.Umzug, error) {
	if o.logFormat == "" {
		co.Logger = quietLogger() // demo: no flag, keep the terminal clean
	} else {
		l, err := o.logger()
		if err != nil {
			return nil, err
		}
		co.Logger = sdklog.NewStructuredLogger(l)
	}
	if o.metricsAddr == "" {
		return nil, nil
	}
	u := metrics.New()
	co.MetricsHandler = metrics.NewSDKHandler(u.Registry)
	return u, nil
}

// serve starts /metrics and /healthz for a worker on queue.
func (o observeOptions) serve(u *metrics.Umzug, c client.Client, namespace string, health metrics.Health) (*metrics.Server, error) {
	if u == nil {
		return nil, nil
	}
	u.CountFunc("umzug_moves_awaiting_approval", "Running moves waiting for approval (from the cluster; -1 when it cannot be asked).",
		workers.AwaitingApproval(c, namespace))
	return metrics.Serve(o.metricsAddr, u.Registry, health)
}

// frontendHealth is the health of a process without a worker: whether
// the cluster answers.
func frontendHealth(c client.Client) metrics.Health {
	return func(ctx context.Context) (bool, string) {
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			return false, "not ok: Temporal frontend: " + err.Error()
		}
		return true, "ok: Temporal frontend answers; no worker in this process"
	}
}
