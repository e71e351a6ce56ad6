package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// The flag conventions every command shares, after the Temporal CLI's:
// --as names who decides and is required wherever a decision is recorded
// (never a guessed $USER); --reason says why (--comment is kept as a
// hidden alias); -o/--output text|json selects the format (--json is kept
// as a hidden alias). The connection flags come from addConnectionFlags.

// addDecisionAs registers --as on a command that records a decision under
// that name and refuses to run without it. who says whose name it is.
func addDecisionAs(cmd *cobra.Command, as *string, who string) {
	cmd.Flags().StringVar(as, "as", "", who+" (required)")
	prev := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		if strings.TrimSpace(*as) == "" {
			return &exitError{code: 2, err: fmt.Errorf("%s needs --as USER: %s. A decision is recorded under this name, so it is never guessed", c.CommandPath(), who)}
		}
		if prev != nil {
			return prev(c, args)
		}
		return nil
	}
}

// addReason registers --reason and its hidden alias --comment.
func addReason(cmd *cobra.Command, reason *string, usage string) {
	cmd.Flags().StringVar(reason, "reason", "", usage)
	cmd.Flags().StringVar(reason, "comment", "", usage)
	_ = cmd.Flags().MarkHidden("comment")
}

// outputFlag is -o/--output with --json as a hidden alias.
type outputFlag struct {
	format string
	json   bool
}

func (o *outputFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&o.json, "json", false, "same as --output json")
	_ = cmd.Flags().MarkHidden("json")
}

// resolve returns "text" or "json", or an error naming the bad value.
func (o *outputFlag) resolve() (string, error) {
	if o.json {
		return "json", nil
	}
	switch o.format {
	case "text", "json":
		return o.format, nil
	}
	return "", &exitError{code: 2, err: fmt.Errorf("--output %q: use text or json", o.format)}
}

func (o *outputFlag) isJSON() (bool, error) {
	f, err := o.resolve()
	return f == "json", err
}
