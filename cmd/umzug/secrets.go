package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/plans"
)

// addSecretsFileFlag adds --secrets-file to a command that runs a worker.
func addSecretsFileFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "secrets-file", "",
		"`FILE` of UMZUG_SECRET_<name>=VALUE lines (mode 0600) with the values of sensitive plan variables (default $UMZUG_SECRETS_FILE); the environment's UMZUG_SECRET_<name> come first")
}

// workerActivities are the activities a worker runs, with its secrets
// file and SSH connection pool (poolIdle 0: none). A file that cannot be
// read stops the worker at start, not the first step that needs a secret
// in the middle of a cutover.
func workerActivities(secretsFile string, poolIdle time.Duration) (*activities.Activities, error) {
	if secretsFile != "" {
		f, err := os.Open(secretsFile)
		if err != nil {
			return nil, &exitError{code: 1, err: fmt.Errorf("--secrets-file: %w", err)}
		}
		f.Close()
	}
	if poolIdle < 0 {
		return nil, &exitError{code: 1, err: fmt.Errorf("--ssh-pool-idle %v: must be 0 (no pool) or a positive duration", poolIdle)}
	}
	return &activities.Activities{SecretsFile: secretsFile, Pool: activities.PoolOptions{IdleTimeout: poolIdle}}, nil
}

// addPoolFlag adds --ssh-pool-idle to a command that runs a worker.
func addPoolFlag(cmd *cobra.Command, idle *time.Duration) {
	cmd.Flags().DurationVar(idle, "ssh-pool-idle", activities.DefaultPoolIdleTimeout,
		"keep SSH connections this long between activities, for the next activity to reuse (0: every activity logs in anew). "+
			"The first activity after a wait for approval, the window or the soak always logs in anew and checks the host key")
}

// printSecretNotes tells whoever starts a move that sensitive values do
// not travel with it: the workers must have them.
func printSecretNotes(w io.Writer, p *plans.Plan) {
	for _, v := range p.Variables {
		if !v.Sensitive {
			continue
		}
		given := "no value given here"
		if v.Value != "" {
			given = "the value given here was only validated and does not travel"
		}
		fmt.Fprintf(w, "sensitive variable %s: the workers read %s from their environment or --secrets-file (%s)\n",
			v.Name, v.SecretEnv(), given)
	}
}
