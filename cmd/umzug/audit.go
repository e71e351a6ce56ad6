package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
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
			if outDir == "" {
				outDir = "audit-" + strings.ReplaceAll(id, "/", "_")
			}
			rep, replayErr, err := writeAudit(ctx, c, id, outDir)
			if err != nil {
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

// writeAudit exports the history of id, replays it against this build and
// writes history.json, report.json and report.md into outDir. rep.Replay
// says whether the record is consistent with the code; replayErr is why not.
func writeAudit(ctx context.Context, c client.Client, id, outDir string) (rep *audit.Report, replayErr, err error) {
	h, err := audit.Fetch(ctx, c, id)
	if err != nil {
		return nil, nil, err
	}
	if rep, err = audit.Build(id, h); err != nil {
		return nil, nil, err
	}
	if !rep.Closed && rep.WorkflowType == workflows.MoveWorkflow {
		var st workflows.Status
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus); err == nil && v.Get(&st) == nil {
			rep.ApplyRunningStatus(st)
		}
	}
	replayErr = audit.Replay(h)
	rep.Replay = "consistent"
	if replayErr != nil {
		rep.Replay = "INCONSISTENT: " + replayErr.Error()
	}
	hj, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(h)
	if err != nil {
		return nil, nil, fmt.Errorf("encode history of %s: %w", id, err)
	}
	rj, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("encode report of %s: %w", id, err)
	}
	var md bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create audit directory %s: %w", outDir, err)
	}
	for name, b := range map[string][]byte{"history.json": hj, "report.json": append(rj, '\n'), "report.md": md.Bytes()} {
		if err := os.WriteFile(filepath.Join(outDir, name), b, 0o644); err != nil {
			return nil, nil, fmt.Errorf("write audit %s: %w", name, err)
		}
	}
	return rep, replayErr, nil
}
