package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/internal/units"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"

	"github.com/umzug-dev/umzug/activities/contract"
)

func init() { register(newDemoCmd) }

type demoOptions struct {
	embedded      embeddedOptions
	dir           string
	paderbornAddr string
	lemgoAddr     string
	scale         int
	as            string
	autoApprove   bool
	scenario      string
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The whole story on one machine: Temporal + Web UI, two demo data centers, the finance move",
		Long: `demo starts an embedded Temporal server with its Web UI, a worker, and two
demo data centers (SSH/SFTP servers on loopback, Paderborn holding a sample
finance share), then starts examples/finance.hcl. It prints the UI link and
waits for two approvals, which you send from the Web UI (or with
umzug approve). --auto-approve runs unattended to committed and exits 0 when
the target tree equals the source tree.

--scenario failover plays the print center instead (examples/print-center.hcl):
OWL-IT's print data kept warm at the partner AKDB by a standby schedule,
OWL-IT lost, a failover from the last verified standby copy with its second
confirmation, production at AKDB, OWL-IT restored, and a failback that
copies back only what changed; it ends with both sites equal and writes
both audit reports. Once OWL-IT is lost it waits for you to press the
failover button (Web UI or umzug failover; it prints both); --auto presses
it itself, plays every other part and exits when it is done.

--scenario peak plays mutual peak-load balancing between the two print
centers: an OWL-IT hand-over refused by AKDB (its jobs go back home), one
accepted and produced at AKDB, and one from AKDB to OWL-IT, each archived
with its record.

The embedded worker's SDK log goes to temporal-sdk.log in --dir, not to
the terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			switch o.scenario {
			case "move":
				return runDemo(ctx, cmd.OutOrStdout(), o)
			case "failover", "peak":
				return runFailoverDemo(ctx, cmd.OutOrStdout(), o)
			}
			return fmt.Errorf("unknown scenario %q: choose move (the finance move), failover or peak (the print center)", o.scenario)
		},
	}
	addEmbeddedFlags(cmd, &o.embedded)
	cmd.Flags().StringVar(&o.dir, "dir", "/tmp/umzug-demo", "directory for the demo data centers, keys and plan (wiped on each run)")
	cmd.Flags().StringVar(&o.paderbornAddr, "paderborn", "127.0.0.1:2222", "SSH address of the demo source data center")
	cmd.Flags().StringVar(&o.lemgoAddr, "lemgo", "127.0.0.1:2223", "SSH address of the demo target data center")
	cmd.Flags().IntVar(&o.scale, "scale", 1, "multiply the sample data (1 = about 2,150 files, 92 MiB)")
	cmd.Flags().StringVar(&o.as, "as", "a.meier", "who starts the move (four-eyes: this identity cannot approve it)")
	cmd.Flags().StringVar(&o.scenario, "scenario", "move", "move: the finance move; failover: the print center's standby, failover and failback; peak: the print centers' hand-overs at peak load, both ways")
	cmd.Flags().BoolVar(&o.autoApprove, "auto-approve", false, "approve as b.schulz and c.yilmaz, commit after the health check, and exit")
	cmd.Flags().BoolVar(&o.autoApprove, "auto", false, "play every part unattended and exit (as --auto-approve; in the failover scenario it also presses the failover button)")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, o demoOptions) error {
	began := time.Now()
	if err := checkDemoPorts(o); err != nil {
		return err
	}
	fmt.Fprintf(out, "umzug demo: preparing two data centers in %s …\n", o.dir)
	env, err := demo.Setup(demo.Options{Dir: o.dir, PaderbornAddr: o.paderbornAddr, LemgoAddr: o.lemgoAddr, Scale: o.scale, Seed: 4711})
	if err != nil {
		return err
	}
	defer env.Close()
	logf, logPath, err := sdkLogFile(env.Dir)
	if err != nil {
		return err
	}
	defer logf.Close()
	o.embedded.sdkLog = logf
	o.embedded.identStateDir = filepath.Join(env.Dir, "identstate")
	o.embedded.notice = out
	st, err := startStack(ctx, o.embedded, nil)
	if err != nil {
		return err
	}
	defer st.Stop()

	vars := map[string]string{"window_start": time.Now().UTC().Format(time.RFC3339)}
	for k, v := range env.Vars {
		vars[k] = v
	}
	p, diags := plans.Load([]string{env.PlanFile}, plans.LoadOptions{Vars: vars})
	if p == nil || diags.HasErrors() {
		return fmt.Errorf("demo plan %s does not load: %s", env.PlanFile, diags.Error())
	}
	// Start as the starter's own client, so history names who started it.
	starter, err := dialTemporal(ctx, st.server.Address(), st.server.Namespace(), o.as+"@umzug-demo")
	if err != nil {
		return err
	}
	started, err := launch.Start(ctx, starter, p, launch.Options{StartedBy: o.as, Namespace: st.server.Namespace()})
	starter.Close()
	if err != nil {
		return err
	}
	id := started[0].ID
	ui := st.server.UIURL()
	fmt.Fprintf(out, `
  Paderborn (source)  ssh %s, data %s (%d files, %s)
  Lemgo (target)      ssh %s, data %s
  Temporal            %s (namespace %s)
`, env.Paderborn.Server.Addr(), env.SourceData(), env.Data.Files, units.Bytes(env.Data.Bytes),
		env.Lemgo.Server.Addr(), env.TargetData(), st.server.Address(), st.server.Namespace())
	fmt.Fprint(out, demoHostsLine(env))
	if ui != "" {
		fmt.Fprintf(out, "  Web UI              %s\n", ui)
		fmt.Fprint(out, uiExportHint(ui))
	}
	fmt.Fprintf(out, "  Worker's SDK log    %s\n", logPath)
	fmt.Fprintf(out, "  Move                %s, started by %s, plan sha256 %.16s…\n", id, o.as, p.SHA256)
	if ui != "" {
		fmt.Fprintf(out, "                      %s\n", launch.UILink(ui, st.server.Namespace(), id))
	}
	fmt.Fprintln(out)

	w := demoWatcher{ctx: ctx, out: out, c: st.client, id: id, began: began, o: o, ui: ui, bar: newCopyBar(out),
		planArgs: planCommandArgs(p, env.PlanFile, vars)}
	final, err := w.run()
	if errors.Is(err, errInterrupted) {
		fmt.Fprintf(out, "\nstopped by Ctrl-C; the demo server and its moves end with it\n")
		return nil
	}
	if err != nil {
		return err
	}
	return w.summarize(final, env)
}

// demoWatcher follows the move through its status query, prints each
// phase once, and with --auto-approve plays the approvers and operator.
type demoWatcher struct {
	ctx   context.Context
	out   io.Writer
	c     client.Client
	id    string
	began time.Time
	o     demoOptions
	ui    string
	bar   *copyBar
	// quorumShown is set once "quorum reached" was printed.
	quorumShown bool
	// planArgs load the demo's plan as it ran (file and --var flags), for
	// an approval bound to its run digest with --plan.
	planArgs string
}

func (w *demoWatcher) printf(format string, args ...any) {
	fmt.Fprintf(w.out, "[%6.1fs] ", time.Since(w.began).Seconds())
	fmt.Fprintf(w.out, format, args...)
}

// errInterrupted is Ctrl-C while the move is under way: the user's choice,
// not a failure.
var errInterrupted = errors.New("interrupted")

// printDecisions prints the decisions recorded since the last call, and
// when the quorum is complete.
func (w *demoWatcher) printDecisions(st *workflows.Status, shown *int) {
	for ; *shown < len(st.Signals); *shown++ {
		r := st.Signals[*shown]
		verdict := "accepted"
		if !r.Accepted {
			verdict = "refused: " + r.Reason
		}
		w.printf("%s by %s (%s): %s\n", r.Name, r.Identity, r.Via, verdict)
	}
	if !w.quorumShown && len(st.Approvals) > 0 && st.ApprovalsNeeded == 0 {
		w.quorumShown = true
		w.printf("quorum reached: approved by %s\n", strings.Join(st.Approvals, ", "))
	}
}

func (w *demoWatcher) run() (workflows.Status, error) {
	seen := map[string]bool{}
	shown := 0
	for {
		var st workflows.Status
		v, err := w.c.QueryWorkflow(w.ctx, w.id, "", workflows.QueryStatus)
		if err == nil {
			err = v.Get(&st)
		}
		if err != nil && w.ctx.Err() == nil {
			return st, fmt.Errorf("query status of %s: %w", w.id, err)
		}
		if st.Phase == workflows.PhaseSeed || st.Phase == workflows.PhaseCutover {
			for _, p := range pendingCopies(w.ctx, w.c, w.id) {
				w.bar.update(p)
			}
		}
		if st.Phase != "" && !seen[st.Phase] {
			seen[st.Phase] = true
			w.bar.finish()
			if err := w.enter(st); err != nil {
				return st, err
			}
		}
		if workflows.IsFinal(st.Phase) {
			// The result is the authoritative status.
			var res workflows.Status
			if err := w.c.GetWorkflow(w.ctx, w.id, "").Get(w.ctx, &res); err != nil {
				return st, fmt.Errorf("result of %s: %w", w.id, err)
			}
			return res, nil
		}
		if !w.o.autoApprove {
			w.printDecisions(&st, &shown)
		}
		select {
		case <-w.ctx.Done():
			return st, errInterrupted
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// enter prints what a phase means and, with --auto-approve, acts on it.
func (w *demoWatcher) enter(st workflows.Status) error {
	switch st.Phase {
	case workflows.PhaseAwaitingApproval:
		w.printf("awaiting_approval: %d approvals needed from %s (four-eyes: %s started the move)\n",
			st.ApprovalsNeeded, strings.Join(st.PendingApprovers, ", "), st.StartedBy)
		if !w.o.autoApprove {
			w.printApproveHowTo(st)
			return nil
		}
		w.approve(w.o.as, "demo: the starter tries to approve")
		for _, who := range st.PendingApprovers {
			if who != w.o.as {
				w.approve(who, "demo: change CHG-4711 approved by the change board")
			}
		}
	case workflows.PhaseSoak:
		w.printf("soak: the target runs; rollback is still possible until %s\n", fmtTime(st.SoakUntil))
		if w.o.autoApprove {
			w.decide(workflows.SignalCommit, workflows.CommitSignal{By: "b.schulz"}, "b.schulz")
		} else {
			fmt.Fprintf(w.out, "           commit now: umzug commit %s --as b.schulz (an approver; or signal commit {\"by\": \"b.schulz\"} in the UI)\n", w.id)
		}
	default:
		w.printf("%s\n", st.Phase)
	}
	return nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.Local().Format("15:04:05")
}

func (w *demoWatcher) printApproveHowTo(st workflows.Status) {
	fmt.Fprintln(w.out, "\n  Approve in the Temporal Web UI:")
	if w.ui != "" {
		fmt.Fprintf(w.out, "    1. open %s\n", launch.UILink(w.ui, "default", w.id))
	}
	fmt.Fprintln(w.out, `    2. More Actions (top right) → Send a Signal; Signal name: approve`)
	fmt.Fprintln(w.out, `    3. Data (keep Encoding json/plain), then Submit:`)
	for i, who := range st.PendingApprovers {
		if i == 2 {
			break
		}
		fmt.Fprintf(w.out, "       {\"approver\": \"%s\", \"comment\": \"CHG-4711\"}\n", who)
	}
	fmt.Fprintln(w.out, "    (once per approver; the UI answers \"Workflow signaled.\" either way: whether it counted")
	fmt.Fprintln(w.out, "     shows in the User Metadata tab's Current Details and in `umzug status`; an approval")
	fmt.Fprintln(w.out, "     as the starter is refused and recorded)")
	fmt.Fprintf(w.out, "  Or from a shell: umzug approve %s --as %s --reason CHG-4711\n", w.id, firstOr(st.PendingApprovers, "b.schulz"))
	fmt.Fprintf(w.out, "  Bound to the run digest (--plan checks the plan you read is the one that runs; these are the demo's variables):\n")
	fmt.Fprintf(w.out, "    umzug approve %s --as %s --reason CHG-4711 --plan %s\n", w.id, firstOr(st.PendingApprovers, "b.schulz"), w.planArgs)
	fmt.Fprintf(w.out, "  (no umzug on PATH? `go install ./cmd/umzug` once, or use `go run ./cmd/umzug`)\n\n")
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func (w *demoWatcher) approve(who, comment string) {
	w.decide(workflows.SignalApprove, workflows.ApproveSignal{Approver: who, Comment: comment}, who)
}

// decide sends an update as the CLI does and prints the verdict.
func (w *demoWatcher) decide(name string, arg any, who string) {
	if _, err := decide(w.ctx, w.c, w.id, name, arg); err != nil {
		w.printf("%s as %s: refused: %v\n", name, who, err)
		return
	}
	w.printf("%s as %s: accepted\n", name, who)
}

// summarize prints what moved and checks the trees; non-committed is exit 1.
func (w *demoWatcher) summarize(st workflows.Status, env *demo.Env) error {
	var files, bytes, verified int64
	by := map[string]bool{}
	for _, c := range st.Copies {
		files += c.CopiedFiles
		bytes += c.CopiedBytes
		if c.Phase == contract.PhaseFinalSync {
			verified += c.Verified // the last word on each set
		}
		if c.VerifiedBy != "" {
			by[c.VerifiedBy] = true
		}
		fmt.Fprintf(w.out, "  copy %s %-10s %6d files, %9s copied; %d verified (%s); manifest %s sha256 %.16s…\n",
			c.Set, c.Phase, c.CopiedFiles, units.Bytes(c.CopiedBytes), c.Verified, c.Verify, filepath.Base(c.ManifestPath), c.ManifestSHA256)
	}
	for _, s := range st.Steps {
		fmt.Fprintf(w.out, "  %-10s %-10s on %-7s exit %d\n", s.Kind, s.Name, s.Host, s.ExitCode)
	}
	fmt.Fprintf(w.out, "  moved %d files, %s; after the final sync %d files verified by %s; %s from start to %s\n",
		files, units.Bytes(bytes), verified, joinKeys(by), time.Since(w.began).Round(100*time.Millisecond), st.Phase)
	if identityVerified(st.Copies) {
		fmt.Fprintf(w.out, "  %s\n", identityMeaning)
	}
	outcome := w.checkOutcome(st, env)
	// The audit report is written whatever the outcome: a rolled-back
	// move is exactly what an auditor wants to read.
	auditDir := filepath.Join(env.Dir, "audit")
	rep, replayErr, err := writeAudit(w.ctx, w.c, w.id, auditDir)
	if err != nil {
		return fmt.Errorf("audit of %s: %w", w.id, err)
	}
	fmt.Fprintf(w.out, "  audit report: %s (%d events; replay %s)\n", filepath.Join(auditDir, "report.md"), rep.Events, rep.Replay)
	if replayErr != nil {
		return &exitError{code: 1, err: replayErr}
	}
	if w.o.autoApprove {
		return outcome
	}
	if outcome != nil {
		fmt.Fprintf(w.out, "  %v\n", outcome)
	}
	fmt.Fprintln(w.out, "The server and Web UI keep running so you can look at the history; Ctrl-C stops.")
	<-w.ctx.Done()
	return nil
}

// checkOutcome is nil when the move committed and the target tree equals
// the source tree; otherwise it says what is wrong (exit 1 unattended).
func (w *demoWatcher) checkOutcome(st workflows.Status, env *demo.Env) error {
	if st.Phase != workflows.PhaseCommitted {
		return &exitError{code: 1, err: fmt.Errorf("the move ended %s: %s", st.Phase, st.Error)}
	}
	sum, err := treecmp.Equal(env.SourceData(), env.TargetData(), treecmp.Options{Skip: env.Excluded})
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(w.out, "  target equals source: %s, %s, %s, %s (contents, modes, mtimes)\n",
		count(sum.Files, "file"), count(sum.Dirs, "directory"), count(sum.Symlinks, "symlink"), units.Bytes(sum.Bytes))
	return nil
}

func joinKeys(m map[string]bool) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	if len(ks) == 0 {
		return "—"
	}
	return strings.Join(ks, ", ")
}
