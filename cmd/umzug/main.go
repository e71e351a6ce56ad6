package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// commands holds the subcommand constructors; each command file appends
// itself in init, so adding a command touches only its own file.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

// exitError carries a specific exit code (validate: 1 on plan errors).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "umzug",
		Short: "Data-center migration orchestrator on Temporal",
		Long: `umzug moves applications between data centers: copy while running,
cut over in an approved window, verify, switch, and roll back on failure.
Every step is a durable Temporal workflow; every decision is in its history.

Temporal connection, as the Temporal CLI reads it: the flags --address,
--namespace, --profile, --api-key, --tls-* over the TEMPORAL_* variables
over the profile in ~/.config/temporalio/temporal.toml (default
127.0.0.1:7233, namespace "default"). See docs/operations.md.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, c := range commands {
		root.AddCommand(c())
	}
	addConnectionFlags(root)
	return root
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI and returns the exit code.
func run(args []string) int { return runIO(args, os.Stdout, os.Stderr) }

// runIO is run with explicit output streams; tests drive the CLI with it
// as a user would and read what it printed.
func runIO(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "umzug:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "umzug:", err)
	return 1
}
