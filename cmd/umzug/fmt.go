package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/plans"
)

func init() { register(newFmtCmd) }

func newFmtCmd() *cobra.Command {
	var check, diff bool
	cmd := &cobra.Command{
		Use:   "fmt [--check] [--diff] PLAN...",
		Short: "Rewrite plan files in canonical format",
		Long: `fmt rewrites each *.hcl file named (or found directly in a named
directory) in canonical format: two-space indentation, aligned equals
signs, normalised spacing. Formatting an already formatted file changes
nothing. *.hcl.json files are left alone.

With --check nothing is written: the files that would change are listed
and the exit status is 1 if there are any. With --diff nothing is written
either: a unified diff of the changes is printed.`,
		Example: `  umzug fmt examples/
  umzug fmt --check --diff plans/q4/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := fmtTargets(args)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			out := cmd.OutOrStdout()
			var changed []string
			broken := 0
			for _, path := range files {
				src, err := os.ReadFile(path)
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("read %s: %w", path, err)}
				}
				formatted, diags := plans.Format(src, path)
				if diags.HasErrors() {
					writeDiags(cmd.ErrOrStderr(), map[string]*hcl.File{path: {Bytes: src}}, diags)
					broken++
					continue
				}
				if bytes.Equal(src, formatted) {
					continue
				}
				changed = append(changed, path)
				if diff {
					ud := difflib.UnifiedDiff{
						A: difflib.SplitLines(string(src)), B: difflib.SplitLines(string(formatted)),
						FromFile: "a/" + filepath.ToSlash(path), ToFile: "b/" + filepath.ToSlash(path), Context: 3,
					}
					text, err := difflib.GetUnifiedDiffString(ud)
					if err != nil {
						return fmt.Errorf("diff %s: %w", path, err)
					}
					fmt.Fprint(out, text)
				}
				if check || diff {
					if check {
						fmt.Fprintln(out, path)
					}
					continue
				}
				if err := writeFileAtomic(path, formatted); err != nil {
					return &exitError{code: 1, err: err}
				}
				fmt.Fprintln(out, path)
			}
			if broken > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d file(s) have syntax errors and were not formatted", broken)}
			}
			if check && len(changed) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d file(s) are not formatted; run umzug fmt %s", len(changed), strings.Join(changed, " "))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "write nothing; list files that are not formatted and exit 1 if any")
	cmd.Flags().BoolVar(&diff, "diff", false, "write nothing; print a unified diff of the changes")
	return cmd
}

// fmtTargets lists the *.hcl files named or directly inside named
// directories, sorted and without duplicates.
func fmtTargets(args []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("fmt %s: %w", a, err)
		}
		if !st.IsDir() {
			if !strings.HasSuffix(a, ".hcl") {
				return nil, fmt.Errorf("fmt %s: only *.hcl files are formatted (JSON plans are written by programs)", a)
			}
			add(a)
			continue
		}
		entries, err := os.ReadDir(a)
		if err != nil {
			return nil, fmt.Errorf("fmt %s: %w", a, err)
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".hcl") {
				add(filepath.Join(a, e.Name()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// writeFileAtomic replaces path with data through a temporary file in
// the same directory, keeping the file's mode.
func writeFileAtomic(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".fmt-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp.Name(), path, err)
	}
	return nil
}
