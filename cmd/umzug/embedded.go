package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/internal/devserver"
	"github.com/umzug-dev/umzug/internal/metrics"
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
	// poolIdle keeps the worker's SSH connections between activities
	// (dev only; 0: none).
	poolIdle time.Duration
	// tlsCert, tlsKey make the frontend serve TLS; tlsClientCA makes it
	// require client certificates (dev only).
	tlsCert, tlsKey, tlsClientCA string
	// noWorker leaves the workers to `umzug worker` processes.
	noWorker bool
	// observe sets logging and metrics (dev only).
	observe observeOptions
	// sdkLog, when set and no --log-format asks otherwise, takes the
	// in-process worker's SDK log (the demos: a file, not the terminal).
	sdkLog io.Writer
	// identStateDir is where the demos' worker keeps identity states
	// (Activities.IdentStateDir): their in-process hosts' SFTP starts in
	// the process's working directory, not a home, which must not fill up.
	// The agent it uploads to those hosts goes next to it, to agent-home
	// (Activities.AgentHome).
	identStateDir string
	// copy is the in-process worker's copy engine (--copy-engine,
	// --agent-dir); see devAgent.
	copy copyEngineOptions
	// notice receives the one-line notices about the worker's agent
	// (nil: standard error).
	notice io.Writer
}

// serverTLS is the frontend TLS the options ask for, or nil.
func (o embeddedOptions) serverTLS() (*devserver.TLSOptions, error) {
	if o.tlsCert == "" && o.tlsKey == "" && o.tlsClientCA == "" {
		return nil, nil
	}
	if o.tlsCert == "" || o.tlsKey == "" {
		return nil, fmt.Errorf("serving TLS needs both --tls-cert-path and --tls-key-path")
	}
	return &devserver.TLSOptions{CertFile: o.tlsCert, KeyFile: o.tlsKey, ClientCAFile: o.tlsClientCA}, nil
}

// stack is a running embedded server, a client and a worker.
type stack struct {
	server  *devserver.Server
	client  client.Client
	worker  worker.Worker
	metrics *metrics.Server
	cleanup func() // removes the agent devAgent built
}

// startStack starts the embedded Temporal server (with the umzug search
// attributes), connects a client and starts a worker in this process.
func startStack(ctx context.Context, o embeddedOptions, acts *activities.Activities) (*stack, error) {
	if acts == nil { // the demos: a worker's defaults
		acts, _ = workerActivities("", activities.DefaultPoolIdleTimeout) // no file, a valid duration: no error
		acts.IdentStateDir = o.identStateDir
		if o.identStateDir != "" {
			acts.AgentHome = filepath.Join(filepath.Dir(o.identStateDir), "agent-home")
			if err := os.MkdirAll(acts.AgentHome, 0o700); err != nil {
				return nil, err
			}
		}
	}
	if o.copy.agentDir == "" {
		o.copy.agentDir = os.Getenv(agentDirEnv)
	}
	if err := o.copy.apply(acts); err != nil {
		return nil, err
	}
	cleanup := func() {}
	if !o.noWorker {
		notice := o.notice
		if notice == nil {
			notice = os.Stderr
		}
		cleanup = devAgent(ctx, acts, notice)
	}
	ui := o.uiPort
	if o.noUI {
		ui = 0
	}
	serverTLS, err := o.serverTLS()
	if err != nil {
		cleanup()
		return nil, err
	}
	srv, err := devserver.Start(devserver.Options{
		TLS:          serverTLS,
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
	st := &stack{server: srv, cleanup: cleanup}
	if err := st.startClientAndWorker(ctx, o, acts); err != nil {
		st.Stop()
		return nil, err
	}
	return st, nil
}

// startClientAndWorker connects to the embedded server, starts the
// in-process worker (unless --no-worker) and the metrics endpoint.
func (s *stack) startClientAndWorker(ctx context.Context, o embeddedOptions, acts *activities.Activities) error {
	co, err := embeddedClientOptions(s.server)
	if err != nil {
		return err
	}
	u, err := o.observe.instrument(&co)
	if err != nil {
		return err
	}
	if o.sdkLog != nil && o.observe.logFormat == "" {
		co.Logger = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(o.sdkLog, &slog.HandlerOptions{Level: slog.LevelInfo})))
	}
	id := workerIdentity(workflows.DefaultTaskQueue)
	if s.client, err = dialWith(ctx, co, id); err != nil {
		return err
	}
	if err := announceUI(ctx, s.client, co.Namespace, s.server.UIURL()); err != nil {
		return err
	}
	health := frontendHealth(s.client)
	if !o.noWorker {
		s.worker = workers.New(s.client, workers.Options{Activities: acts, Metrics: u})
		if err := s.worker.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		health = workers.PollingHealth(s.client, co.Namespace, workflows.DefaultTaskQueue, id, false)
	}
	s.metrics, err = o.observe.serve(u, s.client, co.Namespace, health)
	return err
}

// embeddedClientOptions reach the embedded frontend, over TLS with the
// server's internal identity when it serves TLS.
func embeddedClientOptions(srv *devserver.Server) (client.Options, error) {
	t, err := srv.ClientTLS()
	if err != nil {
		return client.Options{}, err
	}
	o := client.Options{HostPort: srv.Address(), Namespace: srv.Namespace()}
	o.ConnectionOptions.TLS = t
	return o, nil
}

// Stop stops the worker, the client and the server, in that order.
func (s *stack) Stop() {
	if s.metrics != nil {
		s.metrics.Close()
	}
	if s.worker != nil {
		s.worker.Stop()
	}
	if s.client != nil {
		s.client.Close()
	}
	s.server.Stop()
	if s.cleanup != nil {
		s.cleanup()
	}
}
