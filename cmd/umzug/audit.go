package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newAuditCmd) }

func newAuditCmd() *cobra.Command {
	var o auditOptions
	cmd := &cobra.Command{
		Use:   "audit ID [--out DIR] [--sign-key KEY]",
		Short: "Write a move's or wave's evidence bundle: history, reports, manifests, signed digests",
		Long: `audit writes the evidence of a move or a wave to DIR (default ./audit-<id>,
the ID's slashes as underscores) and prints the directory's full path:
  history.json    the workflow history, canonical JSON (same bytes every export)
  report.md       who approved what under which rule, the window, host keys,
                  every command attempt, copies, manifests, refusals, rollback
  report.html     the same as a printable A4 page with a timeline
  report.json     the same, for programs
  render.json     what rendering needs beyond history (renderer version,
                  workflow ID, manifest fetch outcomes, a running move's status)
  manifests/      the copy manifests, fetched from the target host over SFTP
                  (host key checked against the plan's known_hosts)
  moves/APP/      for a wave: the same for every move in it
  SHA256SUMS      the digest of every file (sha256sum -c format)
  SHA256SUMS.sig  with --sign-key: SSH signature, namespace umzug-audit
The history is replayed against this build's workflow code; the report says
whether the record is consistent with the code. Exit 1 if it is not.
Check a bundle with 'umzug audit verify DIR --allowed-signers FILE'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			ctx := cmd.Context()
			c, err := dialFromEnv(ctx, currentUser()+"@umzug-audit")
			if err != nil {
				return err
			}
			defer c.Close()
			if o.out == "" {
				o.out = "audit-" + strings.ReplaceAll(id, "/", "_")
			}
			ev, files, err := writeAuditBundle(ctx, c, id, o)
			if err != nil {
				return err
			}
			printBundle(cmd.OutOrStdout(), id, o.out, ev, files)
			if err := replayErrors(ev); err != nil {
				return &exitError{code: 1, err: err}
			}
			if bad := mismatchedManifests(ev); len(bad) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("manifests on the target differ from the digests in history: %s", strings.Join(bad, ", "))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.out, "out", "", "output directory (default audit-<id>)")
	cmd.Flags().StringVar(&o.signKey, "sign-key", "", "OpenSSH private key (unencrypted) to sign SHA256SUMS with, or its .pub to sign with the key in the SSH agent")
	cmd.Flags().BoolVar(&o.noFetch, "no-fetch", false, "do not fetch the manifests from the target hosts")
	cmd.AddCommand(newAuditVerifyCmd())
	return cmd
}

type auditOptions struct {
	out, signKey string
	noFetch      bool
}

// writeAudit writes the unsigned evidence bundle of id into outDir (the
// demo uses it). rep.Replay says whether the record is consistent with
// the code; replayErr is why not.
func writeAudit(ctx context.Context, c client.Client, id, outDir string) (rep *audit.Report, replayErr, err error) {
	ev, _, err := writeAuditBundle(ctx, c, id, auditOptions{out: outDir})
	if err != nil {
		return nil, nil, err
	}
	return ev.Report, replayErrors(ev), nil
}

// writeAuditBundle collects the evidence of id (and of every move of a
// wave), fetches the manifests, writes the bundle and signs it.
func writeAuditBundle(ctx context.Context, c client.Client, id string, o auditOptions) (*audit.Evidence, []audit.WrittenFile, error) {
	ev, err := collectEvidence(ctx, c, id)
	if err != nil {
		return nil, nil, err
	}
	if ev.Report.WorkflowType == workflows.WaveWorkflow {
		for _, m := range ev.Report.Wave {
			if m.WorkflowID == "" || strings.HasPrefix(m.Outcome, "could not start") {
				continue // never ran: no history of its own
			}
			child, err := collectEvidence(ctx, c, m.WorkflowID)
			if err != nil {
				return nil, nil, fmt.Errorf("audit of wave %s: move %s: %w", id, m.Application, err)
			}
			ev.Moves = append(ev.Moves, child)
		}
	}
	if !o.noFetch {
		ev.FetchManifests(ctx, audit.SSHManifests{Dialer: activities.DefaultDialer{Timeout: 10 * time.Second}})
	}
	files, err := audit.WriteBundle(o.out, ev)
	if err != nil {
		return nil, nil, err
	}
	if o.signKey != "" {
		sig, err := audit.SignBundle(o.out, o.signKey)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, sig)
	}
	return ev, files, nil
}

// collectEvidence exports one workflow's history, builds its report (with
// the latest status of a running move) and replays it.
func collectEvidence(ctx context.Context, c client.Client, id string) (*audit.Evidence, error) {
	h, err := audit.Fetch(ctx, c, id)
	if err != nil {
		return nil, err
	}
	ev, err := audit.NewEvidence(id, h)
	if err != nil {
		return nil, err
	}
	if rep := ev.Report; !rep.Closed && rep.WorkflowType == workflows.MoveWorkflow {
		var st workflows.Status
		if v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus); err == nil && v.Get(&st) == nil {
			if err := ev.ApplyRunningStatus(st, time.Now()); err != nil {
				return nil, err
			}
		}
	}
	if ev.Report.WorkflowType == workflows.MoveWorkflow {
		if err := ev.SetFailedBackBy(failedBackBy(ctx, c, id)); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// replayErrors joins the replay failures of a bundle's histories.
func replayErrors(ev *audit.Evidence) error {
	var bad []string
	for _, e := range append([]*audit.Evidence{ev}, ev.Moves...) {
		if e.ReplayErr != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", e.Report.WorkflowID, e.ReplayErr))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("history does not replay against this build: %s", strings.Join(bad, "; "))
}

// mismatchedManifests lists fetched manifests whose digest is not the one
// history records: the target's record changed after the copy.
func mismatchedManifests(ev *audit.Evidence) []string {
	var bad []string
	for _, e := range append([]*audit.Evidence{ev}, ev.Moves...) {
		for _, m := range e.Report.Manifests {
			if m.Fetched && !m.Matched {
				bad = append(bad, m.Path)
			}
		}
	}
	return bad
}

// printBundle says where the bundle is (as an absolute path: the default
// directory is relative to wherever audit ran), what it holds and the
// digest of every file.
func printBundle(w io.Writer, id, dir string, ev *audit.Evidence, files []audit.WrittenFile) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	fmt.Fprintf(w, "audit of %s written to directory %s: %d events, replay %s", id, dir, ev.Report.Events, ev.Report.Replay)
	if len(ev.Moves) > 0 {
		fmt.Fprintf(w, "; %d moves", len(ev.Moves))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  read %s (or report.md); check it with: umzug audit verify %s --allowed-signers FILE\n",
		filepath.Join(dir, "report.html"), dir)
	for _, e := range append([]*audit.Evidence{ev}, ev.Moves...) {
		for _, m := range e.Report.Manifests {
			state := "not fetched: " + m.Note
			if m.Fetched && m.Matched {
				state = "fetched, matches history"
			} else if m.Fetched {
				state = "fetched, DOES NOT MATCH the digest in history"
			}
			if m.Fetched && m.Note != "" {
				state += "; " + m.Note
			}
			fmt.Fprintf(w, "  manifest %s (%s %s): %s\n", m.Path, m.Set, m.Phase, state)
		}
	}
	fmt.Fprintln(w, "SHA-256 of every file written:")
	for _, f := range files {
		fmt.Fprintf(w, "%s  %s\n", f.SHA256, f.Name)
	}
}
