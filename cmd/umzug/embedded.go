package main

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/internal/devserver"
	"github.com/umzug-dev/umzug/internal/workers"
	"github.com/umzug-dev/umzug/workflows"
)

// embeddedOptions are the flags shared by `dev` and `demo`.
type embeddedOptions struct {
	db     string
	port   int
	uiPort int
	noUI   bool
	// secretsFile is the worker's secrets file (dev only).
	secretsFile string
}

// stack is a running embedded server, a client and a worker.
type stack struct {
	server *devserver.Server
	client client.Client
	worker worker.Worker
}

// startStack starts the embedded Temporal server (with the umzug search
// attributes), connects a client and starts a worker in this process.
func startStack(ctx context.Context, o embeddedOptions, acts *activities.Activities) (*stack, error) {
	ui := o.uiPort
	if o.noUI {
		ui = 0
	}
	srv, err := devserver.Start(devserver.Options{
		FrontendPort: o.port,
		UIPort:       ui,
		DBFile:       o.db,
		Namespace:    "default",
		SearchAttributes: map[string]enumspb.IndexedValueType{
			workflows.SearchAttrPlan:        enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			workflows.SearchAttrApplication: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			workflows.SearchAttrPhase:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
	})
	if err != nil {
		return nil, err
	}
	c, err := dialTemporal(ctx, srv.Address(), srv.Namespace(), "umzug-worker@"+hostname())
	if err != nil {
		srv.Stop()
		return nil, err
	}
	w := workers.New(c, workers.Options{Activities: acts})
	if err := w.Start(); err != nil {
		c.Close()
		srv.Stop()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return &stack{server: srv, client: c, worker: w}, nil
}

// Stop stops the worker, the client and the server, in that order.
func (s *stack) Stop() {
	s.worker.Stop()
	s.client.Close()
	s.server.Stop()
}
