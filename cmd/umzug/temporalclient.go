package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Temporal connection settings, read as the Temporal CLI reads them.
func temporalAddress() string {
	if a := os.Getenv("TEMPORAL_ADDRESS"); a != "" {
		return a
	}
	return "127.0.0.1:7233"
}

func temporalNamespace() string {
	if n := os.Getenv("TEMPORAL_NAMESPACE"); n != "" {
		return n
	}
	return "default"
}

// uiBase is where workflow links point: TEMPORAL_UI_URL, or the embedded
// UI's default address.
func uiBase() string {
	if u := os.Getenv("TEMPORAL_UI_URL"); u != "" {
		return u
	}
	return "http://127.0.0.1:8233"
}

// quietLogger keeps SDK chatter (worker start, poller) off the terminal;
// warnings and errors still show.
func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// dialTemporal connects to the cluster with a clear error when nothing
// listens there.
func dialTemporal(ctx context.Context, address, namespace, identity string) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  address,
		Namespace: namespace,
		Identity:  identity,
		Logger:    quietLogger(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w; start one with `umzug dev` or set TEMPORAL_ADDRESS", address, namespace, err)
	}
	return c, nil
}

// dialFromEnv connects with TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE.
func dialFromEnv(ctx context.Context, identity string) (client.Client, error) {
	return dialTemporal(ctx, temporalAddress(), temporalNamespace(), identity)
}

func currentUser() string {
	for _, k := range []string{"UMZUG_USER", "USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}
