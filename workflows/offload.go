package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/decisionsig"
)

// offload is the state of one hand-over.
type offload struct {
	in   OffloadInput
	st   OffloadStatus
	id   string
	dctx workflow.Context
	// copied: the partner may hold landed jobs (the copy started).
	copied   bool
	refused  *OffloadDecision
	drainers []func() bool
	// phaseAttr: UmzugPhase follows the phase (newer histories only).
	phaseAttr bool
}

// Offload hands a share of the source's jobs to the partner site
// (docs/design.md, offload): claim them at the source, copy them to the
// partner verified, wait for the partner's acceptance, take each in once,
// wait until the partner produced them, copy the results back and archive
// the jobs at the source with a record of where, when and under whose
// acceptance each was produced. A refusal, an acceptance deadline, a
// cancel or a failure releases every job the partner did not take in;
// the jobs it took in are named and stay with it.
func Offload(ctx workflow.Context, in OffloadInput) (OffloadStatus, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	info := workflow.GetInfo(ctx)
	o := &offload{in: in, id: info.WorkflowExecution.ID, dctx: dctx}
	o.st = OffloadStatus{ID: o.id, PlanName: in.PlanName, PlanSHA256: in.PlanSHA256, Application: in.Application,
		Offload: in.Offload, Key: offloadKey(in.Offload, o.id), StartedBy: in.StartedBy, Source: in.Source.Name,
		Target: in.Target.Name, SourceSite: in.Source.Datacenter, TargetSite: in.Target.Datacenter, Started: workflow.Now(ctx)}
	if in.Accept.Signers != "" {
		o.st.Signing = &Signing{Namespace: decisionsig.Namespace, MoveID: o.id, RunID: info.OriginalRunID}
	}
	if in.SearchAttributes {
		o.phaseAttr = workflow.GetVersion(ctx, "offload-phase-attribute", workflow.DefaultVersion, 1) == 1
	}
	if err := o.register(ctx); err != nil {
		return o.st, fmt.Errorf("register handlers of offload %s: %w", o.id, err)
	}
	err := o.run(ctx)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		o.release(OffloadCancelled, "offload cancelled: "+cause(err))
	default:
		o.release(OffloadFailed, cause(err))
	}
	o.st.Ended = workflow.Now(dctx)
	o.details()
	o.drain()
	return o.st, nil
}

// offloadKey names the offload's directories: its block and the start
// stamp of its workflow ID.
func offloadKey(name, id string) string {
	k := name + "-" + path.Base(id)
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, k)
}

func (o *offload) run(ctx workflow.Context) error {
	o.setPhase(OffloadClaiming)
	res, err := o.jobsOp(ctx, o.in.Source, contract.OffloadJobsInput{Op: contract.OffloadClaim, Root: o.in.Queue,
		Select: o.in.Select, SelectList: o.in.SelectList, Narrow: o.in.Narrow, MaxJobs: o.in.MaxJobs, MaxBytes: o.in.MaxBytes})
	if err != nil {
		return fmt.Errorf("claim jobs in %s on %s: %s", o.in.Queue, o.in.Source.Name, cause(err))
	}
	for _, j := range res.Jobs {
		o.st.Jobs = append(o.st.Jobs, OffloadJob{OffloadJob: j})
	}
	o.st.Left, o.st.Over = boundList(res.Left), res.Over
	if len(o.st.Jobs) == 0 {
		o.end(OffloadDone, offloadNothingDue+": no job in the queue matched the selection")
		return nil
	}

	o.setPhase(OffloadCopying)
	o.copied = true
	set := o.in.CopySet
	set.Name, set.From, set.To, set.Delete = o.in.Offload, o.claimedDir(), path.Join(o.in.To, o.st.Key), false
	set.Include, set.Exclude = nil, nil
	var cr contract.CopyResult
	cin := contract.CopyInput{MoveID: o.id, Phase: contract.PhaseSeed, Source: o.in.Source, Target: o.in.Target, Set: set}
	if err := workflow.ExecuteActivity(copyOptions(ctx, o.in.Target), contract.NameCopyTree, cin).Get(ctx, &cr); err != nil {
		return fmt.Errorf("copy the jobs to %s on %s: %s", set.To, o.in.Target.Name, cause(err))
	}
	o.st.Manifest = cr.ManifestSHA256

	if ok, err := o.awaitAcceptance(ctx); !ok {
		return err
	}

	o.setPhase(OffloadIntake)
	for i := range o.st.Jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o.intake(i)
	}
	var taken []string
	for _, j := range o.st.Jobs {
		if j.TakenIn != nil {
			taken = append(taken, j.ID)
		}
	}
	if n := len(o.st.Jobs) - len(taken); n > 0 {
		// Jobs intake did not take go home now; the rest are the partner's.
		o.releaseUntaken()
	}
	if len(taken) == 0 {
		o.end(OffloadReleased, "intake took no job in; every job is back in the source's queue")
		return nil
	}
	if _, err := o.jobsOp(ctx, o.in.Target, contract.OffloadJobsInput{Op: contract.OffloadLanded, Root: o.in.To, Jobs: taken}); err != nil {
		return fmt.Errorf("write the job list on %s: %s", o.in.Target.Name, cause(err))
	}

	if err := o.awaitProduced(ctx, taken); err != nil {
		return err
	}
	if o.in.ResultsFrom != "" {
		o.setPhase(OffloadReturning)
		rset := contract.CopySet{Name: o.in.Offload + "-results", From: path.Join(o.in.ResultsFrom, o.st.Key),
			To: path.Join(o.in.ResultsTo, o.st.Key), Verify: contract.VerifySHA256}
		rin := contract.CopyInput{MoveID: o.id, Phase: contract.PhaseSeed, Source: o.in.Target, Target: o.in.Source, Set: rset}
		if err := workflow.ExecuteActivity(copyOptions(ctx, o.in.Source), contract.NameCopyTree, rin).Get(ctx, nil); err != nil {
			return fmt.Errorf("copy the results back from %s on %s: %s", rset.From, o.in.Target.Name, cause(err))
		}
		for i := range o.st.Jobs {
			if o.st.Jobs[i].Produced != nil {
				o.st.Jobs[i].Returned = true
			}
		}
	}
	o.setPhase(OffloadArchiving)
	rec := o.record()
	// The record is structs and slices, no map: its JSON is the same on
	// every worker; workflowcheck flags encoding/json for its caches.
	//workflowcheck:ignore
	b, _ := json.MarshalIndent(rec, "", "  ")
	ares, err := o.jobsOp(ctx, o.in.Source, contract.OffloadJobsInput{Op: contract.OffloadArchive, Root: o.in.Queue,
		Jobs: taken, Record: string(b)})
	if err != nil {
		return fmt.Errorf("archive the jobs in %s on %s: %s", o.in.Queue, o.in.Source.Name, cause(err))
	}
	for i := range o.st.Jobs {
		if contains(ares.Done, o.st.Jobs[i].ID) {
			o.st.Jobs[i].Archived = true
		}
	}
	o.end(OffloadDone, fmt.Sprintf("%d job(s) produced at %s and archived at %s", len(taken), siteOf(o.in.Target), siteOf(o.in.Source)))
	return nil
}

func siteOf(h contract.Host) string {
	if h.Datacenter != "" {
		return h.Datacenter + " (" + h.Name + ")"
	}
	return h.Name
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (o *offload) claimedDir() string {
	return path.Join(o.in.Queue, contract.OffloadArea, o.st.Key, "claimed")
}

// jobsOptions: idempotent host operations, retried through lost workers
// and connections.
func jobsOptions(ctx workflow.Context, h contract.Host) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, h),
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    CopyHeartbeatTimeout, // it heartbeats every 10s
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 30,
			NonRetryableErrorTypes: []string{contract.ErrBadCommand},
		},
	})
}

// partnerCommandOptions: intake and done on the partner. A lost worker
// is noticed within CopyHeartbeatTimeout (RunCommand heartbeats every
// 10s) and the next attempt takes the running command over, however
// often workers are lost: an intake given up on would leave its job in
// doubt.
func partnerCommandOptions(ctx workflow.Context, h contract.Host, timeout time.Duration) workflow.Context {
	if timeout <= 0 {
		timeout = contract.DefaultCommandTimeout
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, h),
		StartToCloseTimeout: timeout + time.Minute,
		HeartbeatTimeout:    CopyHeartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: []string{contract.ErrCommandTimeout, contract.ErrBadCommand},
		},
	})
}

func (o *offload) jobsOp(ctx workflow.Context, h contract.Host, in contract.OffloadJobsInput) (contract.OffloadJobsResult, error) {
	in.Host, in.Key = h, o.st.Key
	var res contract.OffloadJobsResult
	err := workflow.ExecuteActivity(jobsOptions(ctx, h), contract.NameOffloadJobs, in).Get(ctx, &res)
	return res, err
}

// awaitAcceptance waits for the partner's quorum; false when the offload
// ended (refused, expired), with every job back in the source's queue,
// or was cancelled (the error).
func (o *offload) awaitAcceptance(ctx workflow.Context) (bool, error) {
	o.setPhase(OffloadAwaiting)
	d := workflow.Now(ctx).Add(o.in.Accept.Timeout)
	o.st.AcceptDeadline = &d
	o.details()
	ok, err := workflow.AwaitWithTimeout(ctx, o.in.Accept.Timeout, func() bool { return o.accepted() || o.refused != nil })
	switch {
	case err != nil:
		return false, err // cancelled: Offload releases
	case o.refused != nil:
		why := "refused by " + o.refused.By
		if o.refused.Comment != "" {
			why += ": " + o.refused.Comment
		}
		o.release(OffloadReleased, why+"; every job is back in the source's queue")
		return false, nil
	case !ok:
		o.release(OffloadReleased, fmt.Sprintf("no acceptance within %s (%d of %d); every job is back in the source's queue",
			o.in.Accept.Timeout, len(o.st.AcceptedBy), acceptQuorum(o.in.Accept)))
		return false, nil
	}
	return true, nil
}

func acceptQuorum(r ApprovalRule) int { return max(1, r.Quorum) }

func (o *offload) accepted() bool { return len(o.st.AcceptedBy) >= acceptQuorum(o.in.Accept) }

// intakeCommand enqueues one job on the partner once: a record per job
// (its ID and digest) in <to>/.umzug-intake makes a second run a no-op,
// and RunCommand takes over a run an earlier attempt started.
func (o *offload) intakeCommand(j OffloadJob) string {
	sum := sha256.Sum256([]byte(j.ID + "\x00" + j.SHA256))
	rec := hex.EncodeToString(sum[:16])
	q := shellQuote
	var b strings.Builder
	bprintf(&b, "d=%s/.umzug-intake; mkdir -p \"$d\" || exit 70\n", q(o.in.To))
	bprintf(&b, "if [ -e \"$d/%s\" ]; then echo \"umzug: job taken in before: $(cat \"$d/%s\")\"; exit 0; fi\n", rec, rec)
	bprintf(&b, "export UMZUG_JOB_ID=%s UMZUG_JOB_PATH=%s UMZUG_OFFLOAD=%s\n", q(j.ID), q(path.Join(o.in.To, o.st.Key, j.ID)), q(o.id))
	bprintf(&b, "[ -e \"$UMZUG_JOB_PATH\" ] || { echo \"umzug: job $UMZUG_JOB_ID has not landed at $UMZUG_JOB_PATH\" >&2; exit 71; }\n")
	if o.in.ResultsFrom != "" {
		bprintf(&b, "export UMZUG_RESULTS_DIR=%s; mkdir -p \"$UMZUG_RESULTS_DIR\" || exit 70\n", q(path.Join(o.in.ResultsFrom, o.st.Key)))
	}
	bprintf(&b, "(\n%s\n) || exit $?\n", o.in.Intake.Run)
	bprintf(&b, "printf '%%s %%s\\n' \"$UMZUG_OFFLOAD\" \"$(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)\" > \"$d/%s.tmp\" && mv -f \"$d/%s.tmp\" \"$d/%s\"\n", rec, rec, rec)
	return b.String()
}

// intake takes job i in, on the disconnected context: a cancel waits
// for the job in flight, so its outcome is known.
func (o *offload) intake(i int) {
	j := &o.st.Jobs[i]
	cmd := o.intakeCommand(*j)
	in := contract.CommandInput{Host: o.in.Target, Command: cmd, Purpose: "intake " + j.ID, Timeout: o.in.Intake.Timeout,
		Secrets: secretsIn(cmd, o.in.Intake.Secrets), KeepOutput: o.in.Intake.KeepOutput, NoBecome: o.in.Intake.NoBecome}
	var res contract.CommandResult
	err := workflow.ExecuteActivity(partnerCommandOptions(o.dctx, o.in.Target, o.in.Intake.Timeout), contract.NameRunCommand, in).Get(o.dctx, &res)
	switch {
	case err != nil:
		// Whether the command ran is unknown: the job stays claimed, as
		// the partner's, so it can never be produced twice.
		j.IntakeError = "intake outcome unknown (" + cause(err) + "); the job stays claimed: check the partner's intake record"
		j.Uncertain = true
	case res.ExitCode != 0:
		j.IntakeError = fmt.Sprintf("intake exited %d: %s", res.ExitCode, tail(res.Stderr))
	default:
		now := workflow.Now(o.dctx)
		j.TakenIn = &now
	}
	o.details()
}

// doneCommand runs done for every job taken in, in the order of the job
// list on the partner, and prints one P (produced) or . per job.
func (o *offload) doneCommand() string {
	q := shellQuote
	var b strings.Builder
	bprintf(&b, "umzug_done() {\n%s\n}\n", o.in.Done.Run)
	bprintf(&b, "export UMZUG_OFFLOAD=%s\n", q(o.id))
	if o.in.ResultsFrom != "" {
		bprintf(&b, "export UMZUG_RESULTS_DIR=%s\n", q(path.Join(o.in.ResultsFrom, o.st.Key)))
	}
	bprintf(&b, "out=\nwhile IFS= read -r id; do\n")
	bprintf(&b, "  if (UMZUG_JOB_ID=\"$id\" UMZUG_JOB_PATH=%s/\"$id\"; export UMZUG_JOB_ID UMZUG_JOB_PATH; umzug_done) </dev/null >/dev/null 2>&1; then out=\"${out}P\"; else out=\"${out}.\"; fi\n",
		q(path.Join(o.in.To, o.st.Key)))
	bprintf(&b, "done < %s || exit 72\necho \"UMZUG-DONE:$out\"\n", q(path.Join(o.in.To, ".umzug-offloads", o.st.Key+".jobs")))
	return b.String()
}

// awaitProduced polls done until every job taken in was produced.
func (o *offload) awaitProduced(ctx workflow.Context, taken []string) error {
	o.setPhase(OffloadProducing)
	by := workflow.Now(ctx).Add(o.in.Within)
	o.st.ProduceBy = &by
	cmd := o.doneCommand()
	for {
		in := contract.CommandInput{Host: o.in.Target, Command: cmd, Purpose: "done", Timeout: o.in.Done.Timeout,
			Secrets: secretsIn(cmd, o.in.Done.Secrets), KeepOutput: o.in.Done.KeepOutput, NoBecome: o.in.Done.NoBecome}
		var res contract.CommandResult
		err := workflow.ExecuteActivity(partnerCommandOptions(ctx, o.in.Target, o.in.Done.Timeout), contract.NameRunCommand, in).Get(ctx, &res)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && res.ExitCode == 0 {
			o.markProduced(taken, res.Stdout)
		}
		left := 0
		for _, j := range o.st.Jobs {
			if j.TakenIn != nil && j.Produced == nil {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if !o.st.Overdue && !workflow.Now(ctx).Before(by) {
			o.st.Overdue = true
		}
		o.details()
		if err := workflow.Sleep(ctx, o.in.Poll); err != nil {
			return err
		}
	}
}

func (o *offload) markProduced(taken []string, stdout string) {
	i := strings.LastIndex(stdout, "UMZUG-DONE:")
	if i < 0 {
		return
	}
	marks := strings.TrimSpace(stdout[i+len("UMZUG-DONE:"):])
	if k := strings.IndexByte(marks, '\n'); k >= 0 {
		marks = marks[:k]
	}
	now := workflow.Now(o.dctx)
	for k, id := range taken {
		if k >= len(marks) || marks[k] != 'P' {
			continue
		}
		for n := range o.st.Jobs {
			if o.st.Jobs[n].ID == id && o.st.Jobs[n].Produced == nil {
				o.st.Jobs[n].Produced = &now
			}
		}
	}
}

// releaseUntaken discards the partner's copies of the jobs it did not
// take in and puts those jobs back into the source's queue.
func (o *offload) releaseUntaken() {
	var taken, untaken []string
	for _, j := range o.st.Jobs {
		if j.TakenIn != nil || j.Uncertain {
			taken = append(taken, j.ID)
		} else if !j.Released {
			untaken = append(untaken, j.ID)
		}
	}
	var notes []string
	if o.copied && len(untaken) > 0 {
		disc := contract.OffloadJobsInput{Op: contract.OffloadDiscard, Root: o.in.To, Jobs: untaken}
		if len(taken) == 0 {
			disc.Jobs = nil // none taken: the whole landing directory goes
		}
		if _, err := o.jobsOp(o.dctx, o.in.Target, disc); err != nil {
			notes = append(notes, fmt.Sprintf("the partner's copies in %s on %s were not removed (%s); intake never runs for them",
				path.Join(o.in.To, o.st.Key), o.in.Target.Name, cause(err)))
		}
	}
	res, err := o.jobsOp(o.dctx, o.in.Source, contract.OffloadJobsInput{Op: contract.OffloadRelease, Root: o.in.Queue, Keep: taken})
	if err != nil {
		notes = append(notes, fmt.Sprintf("release in %s on %s failed (%s): the jobs stay in %s; run the offload's release again or move them back by hand",
			o.in.Queue, o.in.Source.Name, cause(err), o.claimedDir()))
	}
	for i := range o.st.Jobs {
		if contains(res.Done, o.st.Jobs[i].ID) {
			o.st.Jobs[i].Released = true
		}
	}
	o.st.Left = boundList(append(o.st.Left, res.Left...))
	o.st.PartnerHas = taken
	if len(notes) > 0 {
		o.st.Error = strings.Join(notes, "; ")
	}
}

// release ends the offload, releasing every job the partner did not take.
func (o *offload) release(phase, why string) {
	o.releaseUntaken()
	if len(o.st.PartnerHas) > 0 {
		why += fmt.Sprintf("; the partner took in %d job(s), which stay with it: %s", len(o.st.PartnerHas), strings.Join(boundList(o.st.PartnerHas), ", "))
	}
	o.end(phase, why)
}

func (o *offload) end(phase, outcome string) {
	o.st.Phase, o.st.Outcome = phase, outcome
	o.upsertPhase()
	o.details()
}

func (o *offload) setPhase(p string) {
	o.st.Phase = p
	o.upsertPhase()
	o.details()
}

// upsertPhase keeps UmzugPhase current, so `umzug status` lists the
// offload with its phase.
func (o *offload) upsertPhase() {
	if !o.phaseAttr {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(o.dctx, phaseKey.ValueSet(o.st.Phase)); err != nil {
		workflow.GetLogger(o.dctx).Warn("upsert phase search attribute", "phase", o.st.Phase, "error", err)
	}
}

// record is the evidence archived with the jobs.
func (o *offload) record() OffloadRecord {
	return OffloadRecord{Offload: o.id, Plan: o.in.PlanName, PlanSHA256: o.in.PlanSHA256, From: siteOf(o.in.Source),
		ProducedAt: siteOf(o.in.Target), AcceptedBy: o.st.AcceptedBy, AcceptedAt: o.st.AcceptedAt, Jobs: o.st.Jobs}
}

// boundList keeps at most MaxRecords entries of a list of notes.
func boundList(l []string) []string {
	if len(l) > MaxRecords {
		return append(l[:MaxRecords:MaxRecords], fmt.Sprintf("… and %d more", len(l)-MaxRecords))
	}
	return l
}

func (o *offload) details() {
	st := o.st
	c := st.Counts()
	var b strings.Builder
	bprintf(&b, "**Offload** %s of %s: %s → %s\n\nPhase: %s\n\n", st.Offload, st.Application, siteOf(o.in.Source), siteOf(o.in.Target), st.Phase)
	bprintf(&b, "Jobs: %d claimed, %d accepted, %d taken in, %d produced, %d returned, %d released\n\n",
		c.Claimed, c.Accepted, c.TakenIn, c.Produced, c.Returned, c.Released)
	if st.Phase == OffloadAwaiting {
		bprintf(&b, "Accept: %d of %d (%s); Send an Update **accept** {\"by\": \"m.huber\", \"comment\": \"...\"} or **refuse**\n\n",
			len(st.AcceptedBy), acceptQuorum(o.in.Accept), strings.Join(o.in.Accept.Approvers, ", "))
	}
	if len(st.AcceptedBy) > 0 {
		bprintf(&b, "Accepted by %s\n\n", strings.Join(st.AcceptedBy, ", "))
	}
	if st.Overdue {
		b.WriteString("OVERDUE: not every job was produced in time\n\n")
	}
	if st.Outcome != "" {
		bprintf(&b, "Outcome: %s\n\n", st.Outcome)
	}
	if st.Error != "" {
		bprintf(&b, "Attention: %s\n\n", st.Error)
	}
	workflow.SetCurrentDetails(o.dctx, b.String())
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// bprintf appends to b; fmt.Fprintf would do, but workflowcheck cannot
// tell a builder from a file.
func bprintf(b *strings.Builder, format string, args ...any) {
	b.WriteString(fmt.Sprintf(format, args...))
}
