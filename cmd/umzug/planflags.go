package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/umzug-dev/umzug/plans"
)

// varFlags are the plan variable flags shared by every command that
// loads a plan.
type varFlags struct {
	vars  []string
	files []string
}

func (v *varFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&v.vars, "var", nil,
		"set a plan variable, `NAME=VALUE` (repeatable; beats UMZUG_VAR_NAME and --var-file)")
	cmd.Flags().StringArrayVar(&v.files, "var-file", nil,
		"read plan variables from an HCL `FILE` of NAME = VALUE lines (repeatable; later files win)")
}

// options turns the flags into load options; the environment supplies
// UMZUG_VAR_name values.
func (v *varFlags) options() (plans.LoadOptions, error) {
	opts := plans.LoadOptions{VarFiles: v.files, Environ: os.Environ(), Now: time.Now()}
	if len(v.vars) > 0 {
		opts.Vars = map[string]string{}
	}
	for _, kv := range v.vars {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return opts, &exitError{code: 1, err: fmt.Errorf("--var %q: write --var NAME=VALUE", kv)}
		}
		opts.Vars[strings.TrimSpace(name)] = value
	}
	return opts, nil
}

// loadPlan loads the plan at args, prints its diagnostics (warnings too)
// to stderr and fails with exit code 1 when there are errors.
func loadPlan(cmd *cobra.Command, args []string, vf *varFlags) (*plans.Plan, error) {
	if vf == nil {
		vf = &varFlags{}
	}
	opts, err := vf.options()
	if err != nil {
		return nil, err
	}
	p, diags := plans.Load(args, opts)
	if p == nil && len(diags) > 0 && !slices.ContainsFunc(diags, func(d *hcl.Diagnostic) bool { return d.Subject != nil }) {
		// Nothing was read (no such file, unreadable): the details say
		// which file and what to do, one line each.
		var lines []string
		for _, d := range diags {
			lines = append(lines, d.Detail)
		}
		return nil, &exitError{code: 1, err: errors.New(strings.Join(lines, "\numzug: "))}
	}
	if len(diags) > 0 {
		var files map[string]*hcl.File
		if p != nil {
			files = p.Files
		}
		writeDiags(cmd.ErrOrStderr(), files, diags)
	}
	if diags.HasErrors() || p == nil {
		n, _ := plans.Counts(diags)
		return nil, &exitError{code: 1, err: fmt.Errorf("plan %s has %d error(s)", strings.Join(args, " "), n)}
	}
	return p, nil
}

// writeDiags prints diagnostics with source snippets, in colour and
// wrapped to the terminal's width only when w is a terminal.
func writeDiags(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	var width uint
	color := false
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		color = os.Getenv("NO_COLOR") == ""
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			width = uint(cols)
		}
	}
	if err := plans.WriteDiagnostics(w, files, diags, width, color); err != nil {
		fmt.Fprintf(w, "umzug: writing diagnostics: %v\n%s\n", err, diags.Error())
	}
}
