package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/examples"
	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/internal/units"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// Who plays which part in the failover scenario: emergency approvers of
// examples/print-center.hcl.
const (
	fdPresser   = "k.meier" // presses the button, starts the failback
	fdConfirmer = "s.wolf"  // confirms the failover, approves and commits the failback
	fdApprover  = "a.huber" // second approver of the failback
)

// failoverDemo plays the print-center story on the two demo sites:
// standby, a lost print center, failover from the last verified copy,
// production at the partner, failback of only the changes.
type failoverDemo struct {
	ctx    context.Context
	out    io.Writer
	o      demoOptions
	env    *demo.Env
	c      client.Client
	plan   *plans.Plan
	vars   map[string]string // the plan's variables as the demo set them
	sdkLog string            // where the embedded worker's SDK log goes
	ns, ui string
	addr   string // the Temporal frontend
	began  time.Time
}

func (d *failoverDemo) printf(format string, args ...any) {
	fmt.Fprintf(d.out, "[%6.1fs] ", time.Since(d.began).Seconds())
	fmt.Fprintf(d.out, format, args...)
}

func runFailoverDemo(ctx context.Context, out io.Writer, o demoOptions) error {
	d := &failoverDemo{ctx: ctx, out: out, o: o, began: time.Now()}
	if err := checkDemoPorts(o); err != nil {
		return err
	}
	fmt.Fprintf(out, "umzug demo --scenario failover: preparing OWL-IT and AKDB in %s …\n", o.dir)
	env, err := demo.SetupPrintCenter(demo.Options{Dir: o.dir, PaderbornAddr: o.paderbornAddr, LemgoAddr: o.lemgoAddr, Scale: o.scale, Seed: 4711}, examples.PrintCenter)
	if err != nil {
		return err
	}
	defer env.Close()
	d.env = env
	logf, logPath, err := sdkLogFile(env.Dir)
	if err != nil {
		return err
	}
	defer logf.Close()
	d.sdkLog, o.embedded.sdkLog = logPath, logf
	o.embedded.identStateDir = filepath.Join(env.Dir, "identstate")
	o.embedded.notice = out
	st, err := startStack(ctx, o.embedded, nil)
	if err != nil {
		return err
	}
	defer st.Stop()
	d.c, d.ns, d.ui, d.addr = st.client, st.server.Namespace(), st.server.UIURL(), st.server.Address()
	if err := d.loadPlan(); err != nil {
		return err
	}
	d.header()
	if o.scenario == "peak" {
		err = d.peakStory()
	} else {
		err = d.story()
	}
	if ctx.Err() != nil {
		fmt.Fprintf(out, "\nstopped by Ctrl-C; the demo server and its workflows end with it\n")
		return nil
	}
	if err != nil || o.autoApprove {
		return err
	}
	fmt.Fprintln(out, "The server and Web UI keep running so you can look at the histories; Ctrl-C stops.")
	<-ctx.Done()
	return nil
}

// checkDemoPorts fails on a busy Temporal or UI port before any file is
// touched: a busy one means another demo or dev server.
func checkDemoPorts(o demoOptions) error {
	if err := demo.CheckListen("Temporal frontend", fmt.Sprintf("127.0.0.1:%d", o.embedded.port)); err != nil {
		return err
	}
	if o.embedded.noUI {
		return nil
	}
	return demo.CheckListen("Web UI", fmt.Sprintf("127.0.0.1:%d", o.embedded.uiPort))
}

func (d *failoverDemo) loadPlan() error {
	vars := map[string]string{"standby_interval": "5s", "confirm_within": "10m", "offload_max_jobs": "10"}
	for k, v := range d.env.Vars {
		vars[k] = v
	}
	p, diags := plans.Load([]string{d.env.PlanFile}, plans.LoadOptions{Vars: vars})
	if p == nil || diags.HasErrors() {
		return fmt.Errorf("demo plan %s does not load: %s", d.env.PlanFile, diags.Error())
	}
	d.plan, d.vars = p, vars
	return nil
}

func (d *failoverDemo) header() {
	fmt.Fprintf(d.out, `
  OWL-IT (print center) ssh %s, data %s (%d files, %s)
  AKDB (partner site)   ssh %s, data %s
  Temporal              %s (namespace %s)
`, d.env.Source.Server.Addr(), d.env.SourceData(), d.env.Data.Files, units.Bytes(d.env.Data.Bytes),
		d.env.Target.Server.Addr(), d.env.TargetData(), d.addr, d.ns)
	if d.ui != "" {
		fmt.Fprintf(d.out, "  Web UI                %s\n", d.ui)
	}
	fmt.Fprintf(d.out, "  Worker's SDK log      %s\n", d.sdkLog)
	fmt.Fprintln(d.out)
}

// story runs the scenario's acts in order; each says what it shows.
func (d *failoverDemo) story() error {
	recordID := workflows.StandbyRecordID(d.plan.Name, "print")
	if err := d.standby(recordID); err != nil {
		return err
	}
	foID, err := d.failover(recordID)
	if err != nil {
		return err
	}
	rels, err := demo.AddPrintJobs(d.env.TargetData(), "herford", 3, 2)
	if err != nil {
		return err
	}
	d.printf("production runs at AKDB: %d new print jobs there (%s)\n", len(rels), strings.Join(rels, ", "))
	if err := d.env.Source.Up(); err != nil {
		return err
	}
	d.printf("OWL-IT's print center is restored (ssh %s answers again)\n", d.env.Source.Server.Addr())
	fbID, err := d.failback(foID)
	if err != nil {
		return err
	}
	return d.summarize(foID, fbID)
}

// standby starts the standby, waits for its first verified sync, then for
// one that carries new print jobs.
func (d *failoverDemo) standby(recordID string) error {
	s, err := launch.StartStandby(d.ctx, d.c, d.plan, "print", launch.Options{StartedBy: fdPresser, Namespace: d.ns})
	if err != nil {
		return err
	}
	d.printf("standby started by %s: schedule %s syncs every 5s\n", fdPresser, s.ScheduleID)
	d.printLink(s.RecordID)
	sb, _, err := d.waitVerified(recordID, time.Time{})
	if err != nil {
		return err
	}
	d.printf("standby: first verified sync, %d files (%s) copied\n", sb.LastVerified.CopiedFiles, units.Bytes(sb.LastVerified.CopiedBytes))
	t0 := time.Now()
	if _, err := demo.AddPrintJobs(d.env.SourceData(), "bielefeld", 4, 1); err != nil {
		return err
	}
	d.printf("OWL-IT prints on: 4 new jobs for Bielefeld\n")
	sb, syncs, err := d.waitVerified(recordID, t0)
	if err != nil {
		return err
	}
	var copied int64
	for _, s := range syncs {
		copied += s.CopiedFiles
	}
	which := "the next sync"
	if len(syncs) > 1 {
		which = fmt.Sprintf("the next %d syncs", len(syncs))
	}
	d.printf("standby: %s copied %d files; AKDB is %s behind\n", which, copied,
		units.Duration(time.Since(sb.LastVerified.Started)))
	return nil
}

// waitVerified waits for a verified standby sync that started after t0 and
// so saw everything written before t0. A sync that started before t0 may
// still have listed the tree after the writes and copied part of them, so
// every verified sync that finished after t0 is returned too; the
// schedule's interval keeps the 300 ms polls from missing one.
func (d *failoverDemo) waitVerified(recordID string, t0 time.Time) (workflows.StandbyStatus, []workflows.StandbySync, error) {
	w := syncsAfter{t0: t0}
	for {
		var sb workflows.StandbyStatus
		v, err := d.c.QueryWorkflow(d.ctx, recordID, "", workflows.QueryStatus)
		if err == nil {
			err = v.Get(&sb)
		}
		if err == nil && w.add(sb) {
			return sb, w.syncs, nil
		}
		select {
		case <-d.ctx.Done():
			return sb, w.syncs, d.ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// failover takes OWL-IT down; with --auto it presses the button itself,
// else it says how to press it (Web UI or CLI) and waits for the press.
func (d *failoverDemo) failover(recordID string) (string, error) {
	d.env.Source.Down()
	d.printf("fire at OWL-IT: its print center is gone (ssh %s no longer answers)\n", d.env.Source.Name)
	var sb workflows.StandbyStatus
	var err error
	if d.o.autoApprove {
		sb, err = standbyUpdate(d.ctx, d.c, recordID, workflows.SignalFailover,
			workflows.StandbyDecision{By: fdPresser, Reason: "fire at the OWL-IT print center"})
	} else {
		d.printFailoverHowTo(recordID)
		sb, err = d.waitFailedOver(recordID)
	}
	if err != nil {
		return "", err
	}
	id, presser := sb.FailedOver, fdPresser
	for _, r := range sb.Signals {
		if r.Name == workflows.SignalFailover && r.Accepted {
			presser = r.Identity
		}
	}
	d.printf("failover pressed by %s (emergency approver): %s\n", presser, id)
	d.printLink(id)
	st, err := d.waitPhase(id, workflows.IsFinal)
	if err != nil {
		return "", err
	}
	if st.Phase != workflows.PhaseCommitted {
		return "", &exitError{code: 1, err: fmt.Errorf("the failover ended %s: %s", st.Phase, st.Error)}
	}
	if f := st.Failover; f != nil && f.SourceUnreachable && f.StandbyCopy != nil {
		d.printf("failover committed: the source did not answer; proceeded from %s\n", workflows.StandbyCopyNote(f.StandbyCopy))
		for _, s := range f.Skipped {
			d.printf("  %s\n", s)
		}
	}
	// The second emergency approver is anyone but the one who pressed.
	confirmer := fdConfirmer
	if identity.Same(presser, confirmer) {
		confirmer = fdApprover
	}
	if _, err := decide(d.ctx, d.c, id, workflows.SignalConfirm, workflows.ConfirmSignal{By: confirmer, Comment: "confirmed by phone"}); err != nil {
		return "", fmt.Errorf("second confirmation of %s: %w", id, err)
	}
	d.printf("second confirmation by %s recorded (due within 10m, else OVERDUE in status and audit)\n", confirmer)
	return id, nil
}

// printFailoverHowTo says, exactly, how to press the failover button in
// the Web UI and from a shell.
func (d *failoverDemo) printFailoverHowTo(recordID string) {
	const reason = "fire at the OWL-IT print center"
	w := d.out
	fmt.Fprintf(w, "\n  Press the failover button now, as an emergency approver (%s):\n", strings.Join([]string{fdPresser, fdConfirmer, fdApprover}, ", "))
	if d.ui != "" {
		fmt.Fprintf(w, "    In the Web UI: open %s\n", launch.UILink(d.ui, d.ns, recordID))
		fmt.Fprintln(w, "      More Actions (top right) → Send a Signal; Signal name: failover")
		fmt.Fprintln(w, "      Data (keep Encoding json/plain), then Submit:")
		fmt.Fprintf(w, "      {\"by\": %q, \"reason\": %q}\n", fdPresser, reason)
	}
	fmt.Fprintf(w, "    From a shell:\n      TEMPORAL_ADDRESS=%s TEMPORAL_NAMESPACE=%s umzug failover %s --app print --as %s --reason %s\n",
		d.addr, d.ns, planCommandArgs(d.plan, d.env.PlanFile, d.vars), fdPresser, shellQuote(reason))
	fmt.Fprintln(w, "    (no umzug on PATH? `go install ./cmd/umzug` once, or use `go run ./cmd/umzug`)")
	fmt.Fprintln(w, "  The demo waits for the press (--auto presses it itself).")
	fmt.Fprintln(w)
}

// waitFailedOver polls the record until a failover started (or could
// not start).
func (d *failoverDemo) waitFailedOver(recordID string) (workflows.StandbyStatus, error) {
	for {
		var sb workflows.StandbyStatus
		v, err := d.c.QueryWorkflow(d.ctx, recordID, "", workflows.QueryStatus)
		if err == nil {
			err = v.Get(&sb)
		}
		switch {
		case err == nil && sb.FailedOver != "":
			return sb, nil
		case err == nil && sb.FailoverErr != "":
			return sb, &exitError{code: 1, err: fmt.Errorf("the failover did not start: %s", sb.FailoverErr)}
		}
		select {
		case <-d.ctx.Done():
			return sb, d.ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// failback starts the reverse of the failover, approves it with two
// other approvers and commits it after the health checks.
func (d *failoverDemo) failback(foID string) (string, error) {
	s, err := launch.StartFailback(d.ctx, d.c, foID, launch.Options{StartedBy: fdPresser, Namespace: d.ns})
	if err != nil {
		return "", err
	}
	id := s.ID
	d.printf("failback started by %s: %s\n", fdPresser, id)
	d.printLink(id)
	if _, err := d.waitPhase(id, func(p string) bool { return p == workflows.PhaseAwaitingApproval || workflows.IsFinal(p) }); err != nil {
		return "", err
	}
	for _, who := range []string{fdConfirmer, fdApprover} {
		if _, err := decide(d.ctx, d.c, id, workflows.SignalApprove, workflows.ApproveSignal{Approver: who, Comment: "OWL-IT restored"}); err != nil {
			return "", fmt.Errorf("approve %s as %s: %w", id, who, err)
		}
		d.printf("failback approved by %s\n", who)
	}
	st, err := d.waitPhase(id, func(p string) bool { return p == workflows.PhaseSoak || workflows.IsFinal(p) })
	if err != nil {
		return "", err
	}
	if st.Phase == workflows.PhaseSoak {
		if _, err := decide(d.ctx, d.c, id, workflows.SignalCommit, workflows.CommitSignal{By: fdConfirmer}); err != nil {
			return "", fmt.Errorf("commit %s: %w", id, err)
		}
	}
	if st, err = d.waitPhase(id, workflows.IsFinal); err != nil {
		return "", err
	}
	if st.Phase != workflows.PhaseCommitted {
		return "", &exitError{code: 1, err: fmt.Errorf("the failback ended %s: %s", st.Phase, st.Error)}
	}
	var files int64
	for _, c := range st.Copies {
		files += c.CopiedFiles
	}
	d.printf("failback committed: %d files copied back from AKDB (only what changed there)\n", files)
	return id, nil
}

// waitPhase polls the workflow's status until done says its phase is
// reached.
func (d *failoverDemo) waitPhase(id string, done func(string) bool) (workflows.Status, error) {
	for {
		var st workflows.Status
		v, err := d.c.QueryWorkflow(d.ctx, id, "", workflows.QueryStatus)
		if err == nil {
			err = v.Get(&st)
		}
		if err == nil && done(st.Phase) {
			return st, nil
		}
		select {
		case <-d.ctx.Done():
			return st, d.ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (d *failoverDemo) printLink(id string) {
	if d.ui != "" {
		fmt.Fprintf(d.out, "           %s\n", launch.UILink(d.ui, d.ns, id))
	}
}

// summarize compares the two sites and writes both audit reports.
func (d *failoverDemo) summarize(foID, fbID string) error {
	sum, err := treecmp.Equal(d.env.SourceData(), d.env.TargetData(), treecmp.Options{})
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("after failover and failback the sites differ: %w", err)}
	}
	d.printf("OWL-IT equals AKDB: %s, %s, %s (contents, modes, mtimes)\n",
		count(sum.Files, "file"), count(sum.Dirs, "directory"), units.Bytes(sum.Bytes))
	for _, a := range []struct{ id, dir string }{{foID, "audit-failover"}, {fbID, "audit-failback"}} {
		dir := filepath.Join(d.env.Dir, a.dir)
		rep, replayErr, err := writeAudit(d.ctx, d.c, a.id, dir)
		if err != nil {
			return fmt.Errorf("audit of %s: %w", a.id, err)
		}
		fmt.Fprintf(d.out, "  audit report: %s (%d events; replay %s)\n", filepath.Join(dir, "report.md"), rep.Events, rep.Replay)
		if replayErr != nil {
			return &exitError{code: 1, err: replayErr}
		}
	}
	return nil
}

// syncsAfter collects the verified syncs that finished after t0, one entry
// per sync however often a poll sees it.
type syncsAfter struct {
	t0    time.Time
	syncs []workflows.StandbySync
}

// add takes one polled status and reports whether its last verified sync
// started after t0.
func (w *syncsAfter) add(sb workflows.StandbyStatus) bool {
	last := sb.LastVerified
	if last == nil {
		return false
	}
	if n := len(w.syncs); last.Finished.After(w.t0) && (n == 0 || w.syncs[n-1].WorkflowID != last.WorkflowID) {
		w.syncs = append(w.syncs, *last)
	}
	return last.Started.After(w.t0)
}
