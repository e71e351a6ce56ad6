package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newAuditCmd) }

func newAuditCmd() *cobra.Command {
	var outDir string
	cmd := &cobra.Command{
		Use:   "audit ID [--out DIR]",
		Short: "Export a move's history, replay it against this build, write the audit report",
		Long: `audit writes three files to DIR (default audit-<id>):
  history.json  the workflow history as Temporal exports it
  report.md     who started and approved what and when, the commands with
                host and exit code, copies with manifest digests, rollback
  report.json   the same, for programs
The history is replayed against this build's workflow code; the report says
whether the record is consistent with the code. Exit 1 if it is not.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			ctx := cmd.Context()
			c, err := dialFromEnv(ctx, currentUser()+"@umzug-audit")
			if err != nil {
				return err
			}
			defer c.Close()
			h, err := audit.Fetch(ctx, c, id)
			if err != nil {
				return err
			}
			rep, err := audit.Build(id, h)
			if err != nil {
				return err
			}
			if !rep.Closed && rep.WorkflowType == workflows.MoveWorkflow {
				var st workflows.Status
				if queryStatus(cmd, c, id, &st) == nil {
					rep.ApplyRunningStatus(st)
				}
			}
			replayErr := audit.Replay(h)
			rep.Replay = "consistent"
			if replayErr != nil {
				rep.Replay = "INCONSISTENT: " + replayErr.Error()
			}
			if outDir == "" {
				outDir = "audit-" + strings.ReplaceAll(id, "/", "_")
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", outDir, err)
			}
			hj, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
			if err != nil {
				return fmt.Errorf("encode history: %w", err)
			}
			if err := os.WriteFile(filepath.Join(outDir, "history.json"), hj, 0o644); err != nil {
				return err
			}
			f, err := os.Create(filepath.Join(outDir, "report.json"))
			if err != nil {
				return err
			}
			if err := writeJSON(f, rep); err != nil {
				f.Close()
				return err
			}
			f.Close()
			mf, err := os.Create(filepath.Join(outDir, "report.md"))
			if err != nil {
				return err
			}
			if err := rep.WriteMarkdown(mf); err != nil {
				mf.Close()
				return err
			}
			if err := mf.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit of %s written to %s (report.md, report.json, history.json); %d events; replay %s\n",
				id, outDir, rep.Events, rep.Replay)
			if replayErr != nil {
				return &exitError{code: 1, err: fmt.Errorf("history of %s does not replay against this build: %w", id, replayErr)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&outDir, "out", "", "output directory (default audit-<id>)")
	return cmd
}
