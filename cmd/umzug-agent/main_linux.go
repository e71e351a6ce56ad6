package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
)

func main() {
	if len(os.Args) != 2 {
		usage()
	}
	switch os.Args[1] {
	case "version":
		fmt.Printf("umzug-agent %s protocol %d\n", agentserver.Version, agentproto.Version)
	case "serve":
		logger := log.New(os.Stderr, "umzug-agent: ", log.LstdFlags)
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
		defer stop()
		// Serve returns when stdin ends; a signal cancels the requests in
		// flight but it still waits for stdin to close or fail.
		go func() {
			<-ctx.Done()
			os.Stdin.Close()
		}()
		if err := agentserver.Serve(ctx, os.Stdin, os.Stdout, agentserver.Options{Log: logger}); err != nil {
			logger.Print(err)
			os.Exit(1)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: umzug-agent serve | version")
	os.Exit(2)
}
