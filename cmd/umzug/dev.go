package main

import (
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func init() { register(newDevCmd) }

func newDevCmd() *cobra.Command {
	var o embeddedOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Embedded Temporal server + Web UI + worker, for use with real hosts",
		Long: `dev runs a single-process Temporal server on SQLite, the Temporal Web UI
and an umzug worker. With --db the state survives restarts: running moves
carry on where they were. Without it, the database lives in memory.
The worker reads sensitive plan variables from its environment
(UMZUG_SECRET_<name>) or --secrets-file. Ctrl-C stops everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			acts, err := workerActivities(o.secretsFile, o.poolIdle)
			if err != nil {
				return err
			}
			o.notice = cmd.ErrOrStderr()
			st, err := startStack(ctx, o, acts)
			if err != nil {
				return err
			}
			defer st.Stop()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Temporal server: %s (namespace %s)\n", st.server.Address(), st.server.Namespace())
			if u := st.server.UIURL(); u != "" {
				fmt.Fprintf(out, "Web UI:          %s\n", u)
				fmt.Fprint(out, uiExportHint(u))
			}
			if o.db != "" {
				fmt.Fprintf(out, "Database:        %s\n", o.db)
			} else {
				fmt.Fprintln(out, "Database:        in memory (use --db FILE to keep moves across restarts)")
			}
			if o.tlsCert != "" {
				mode := "TLS"
				if o.tlsClientCA != "" {
					mode = "mTLS (client certificates signed by " + o.tlsClientCA + ")"
				}
				fmt.Fprintf(out, "Frontend TLS:    %s\n", mode)
			}
			if st.metrics != nil {
				fmt.Fprintf(out, "Metrics:         http://%s/metrics, health on /healthz\n", st.metrics.Addr())
			}
			if o.noWorker {
				fmt.Fprintln(out, "Worker:          none (--no-worker); start `umzug worker --queue Q` per task queue")
			} else {
				fmt.Fprintln(out, "Worker:          running on task queue umzug")
			}
			fmt.Fprintln(out, "Start a move in another terminal: umzug run PLAN --as YOU. Ctrl-C stops.")
			<-ctx.Done()
			fmt.Fprintln(out, "stopping…")
			return nil
		},
	}
	addEmbeddedFlags(cmd, &o)
	addSecretsFileFlag(cmd, &o.secretsFile)
	addPoolFlag(cmd, &o.poolIdle)
	addDevServerFlags(cmd, &o)
	addObserveFlags(cmd, &o.observe)
	o.observe.level = slog.LevelWarn
	return cmd
}

func addEmbeddedFlags(cmd *cobra.Command, o *embeddedOptions) {
	cmd.Flags().StringVar(&o.db, "db", "", "SQLite database file (default: in memory)")
	cmd.Flags().IntVar(&o.port, "port", 7233, "Temporal frontend gRPC port on 127.0.0.1")
	cmd.Flags().IntVar(&o.uiPort, "ui-port", 8233, "Web UI port on 127.0.0.1")
	cmd.Flags().BoolVar(&o.noUI, "headless", false, "do not start the Web UI")
	addCopyEngineFlags(cmd, &o.copy)
}

// addDevServerFlags are the server side of TLS. dev has no client
// connection flags, so the names follow the Temporal CLI's
// (--tls-cert-path, --tls-key-path) and the server's own wording: the
// frontend's certificate and key, and the CA whose client certificates
// it accepts.
func addDevServerFlags(cmd *cobra.Command, o *embeddedOptions) {
	f := cmd.Flags()
	f.StringVar(&o.tlsCert, "tls-cert-path", "", "serve the frontend with TLS using this certificate (PEM)")
	f.StringVar(&o.tlsKey, "tls-key-path", "", "private key of --tls-cert-path (PEM)")
	f.StringVar(&o.tlsClientCA, "tls-client-ca-path", "", "require client certificates signed by this CA (mTLS)")
	f.BoolVar(&o.noWorker, "no-worker", false, "run no worker in this process; start umzug worker processes instead (one per task queue)")
}
