package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/umzug-dev/umzug/internal/connect"
)

// temporalCommands are the subcommands that talk to a Temporal cluster;
// each gets the Temporal CLI's connection flags.
var temporalCommands = map[string]bool{
	"run": true, "worker": true, "status": true, "audit": true, "plan": true, "setup": true,
	"approve": true, "reject": true, "rollback": true, "commit": true, "reschedule": true,
	"confirm": true, "failover": true, "failback": true, "standby": true,
}

// conn holds the connection flags of the command line being run; newRoot
// replaces it for every command line.
var conn = &connect.Settings{}

// addConnectionFlags gives every Temporal command the connection flags.
func addConnectionFlags(root *cobra.Command) {
	conn = &connect.Settings{}
	for _, c := range root.Commands() {
		if !temporalCommands[c.Name()] {
			continue
		}
		// A command whose subcommands all dial (standby) passes the flags
		// down; audit's verify works offline, so audit keeps them local.
		fs := c.Flags()
		if c.HasSubCommands() && c.Name() != "audit" {
			fs = c.PersistentFlags()
		}
		connect.Register(fs, conn)
	}
}

// connectionOptions resolves flags, environment and profile.
func connectionOptions() (client.Options, error) { return conn.ClientOptions() }

// temporalAddress and temporalNamespace are the resolved values, for
// messages and links; a broken configuration falls back to the defaults
// here and fails loudly at dial time.
func temporalAddress() string {
	if p, err := conn.Resolve(); err == nil {
		return p.Address
	}
	return connect.DefaultAddress
}

func temporalNamespace() string {
	if p, err := conn.Resolve(); err == nil {
		return p.Namespace
	}
	return connect.DefaultNamespace
}

// quietLogger keeps SDK chatter (worker start, poller) off the terminal;
// warnings and errors still show.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// dialTemporal connects to a plain-gRPC frontend (the embedded server).
func dialTemporal(ctx context.Context, address, namespace, identity string) (client.Client, error) {
	return dialWith(ctx, client.Options{HostPort: address, Namespace: namespace}, identity)
}

// dialWith connects with options o (address, namespace, TLS set).
func dialWith(ctx context.Context, o client.Options, identity string) (client.Client, error) {
	o.Identity = identity
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	return connect.Dial(ctx, o)
}

// dialFromEnv connects as the flags, TEMPORAL_* variables and the client
// config profile say.
func dialFromEnv(ctx context.Context, identity string) (client.Client, error) {
	o, err := connectionOptions()
	if err != nil {
		return nil, err
	}
	return dialWith(ctx, o, identity)
}

func currentUser() string {
	for _, k := range []string{"UMZUG_USER", "USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}
