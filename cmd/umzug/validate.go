package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/plans"
)

func init() { register(newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var (
		vf     varFlags
		output outputFlag
	)
	cmd := &cobra.Command{
		Use:   "validate PLAN...",
		Short: "Check plans and report every problem with its position",
		Long: `validate loads each PLAN (a *.hcl or *.hcl.json file, or a directory whose
plan files form one plan) and reports every error and warning at once, each
with file, line, column and the source it refers to. It connects to nothing.

A warning repeated in four or more applications is printed once, naming
the others; -o json lists each.

Exit status: 1 when any plan has errors, 0 otherwise (warnings are printed
but do not fail). With --json the diagnostics of all plans are printed to
stdout as one JSON array for CI, and nothing else (-o json; --json is the
same).`,
		Example: `  umzug validate examples/finance.hcl
  umzug validate --var window_start=2026-12-05T18:00:00+01:00 plans/q4/
  umzug validate -o json examples/*.hcl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jsonOut, err := output.isJSON()
			if err != nil {
				return err
			}
			if jsonOut {
				return validateJSON(cmd, args, &vf)
			}
			if len(args) == 1 {
				p, err := loadPlan(cmd, args, &vf)
				if err != nil {
					return err
				}
				printValid(cmd, p)
				return nil
			}
			failed := 0
			for _, path := range args {
				p, err := loadPlan(cmd, []string{path}, &vf)
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "umzug:", err)
					failed++
					continue
				}
				printValid(cmd, p)
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d plan(s) have errors", failed, len(args))}
			}
			return nil
		},
	}
	vf.register(cmd)
	output.register(cmd)
	return cmd
}

func printValid(cmd *cobra.Command, p *plans.Plan) {
	fmt.Fprintf(cmd.OutOrStdout(), "plan %s is valid: %s, %s, sha256 %s\n",
		p.Name, count(len(p.Applications), "application"), count(len(p.Hosts), "host"), p.SHA256)
}

func validateJSON(cmd *cobra.Command, args []string, vf *varFlags) error {
	opts, err := vf.options()
	if err != nil {
		return err
	}
	var all []plans.JSONDiagnostic
	errs := 0
	for _, path := range args {
		_, diags := plans.Load([]string{path}, opts)
		all = append(all, plans.JSONDiagnostics(diags)...)
		n, _ := plans.Counts(diags)
		errs += n
	}
	if all == nil {
		all = []plans.JSONDiagnostic{}
	}
	if err := plans.WriteJSONDiagnosticList(cmd.OutOrStdout(), all); err != nil {
		return err
	}
	if errs > 0 {
		// The JSON says everything; an empty message keeps stderr quiet.
		return &exitError{code: 1, err: fmt.Errorf("")}
	}
	return nil
}

// count says "1 host", "2 hosts", "3 directories".
func count(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
