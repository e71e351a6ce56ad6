package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/internal/units"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

func init() { register(newPlanCmd) }

// estimator measures a copy set without changing anything.
type estimator = workflows.Estimator

// newEstimator returns the real activities; tests replace it. The plan
// only reads the hosts: it walks them over SFTP (the classic engine's
// estimate) and uploads no agent.
var newEstimator = func() estimator { return &activities.Activities{CopyEngine: activities.CopyEngineClassic} }

// sampleBytes is how much of the source a throughput sample reads.
const sampleBytes = 32 << 20

func newPlanCmd() *cobra.Command {
	var (
		vf      varFlags
		offline bool
		output  outputFlag
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "plan PLAN",
		Short: "Dry run: what each move copies, which steps run where, how long it takes",
		Long: `plan shows what PLAN will do, changing nothing: per application the source
and target hosts, every copy set (paths, excludes, verification, deletes),
the cutover steps in the order they run with the host and command of each
(and its undo), the health checks, the approval rule and the window.

Unless --offline is given it also connects read-only to the hosts (host
keys checked against known_hosts) and shows, per copy set, the files and
bytes to seed and estimated durations from a throughput sample. A host that
cannot be reached is reported once at the top, with the first error, and
each application it holds up says so on its line; the other applications
are still shown. Exit status 1 when an application could not be measured
(the report is printed all the same); --offline connects to nothing.
Sensitive variables are never printed.`,
		Example: `  umzug plan --offline examples/finance.hcl
  umzug plan -o json examples/finance.hcl > plan.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			jsonOut, err := output.isJSON()
			if err != nil {
				return err
			}
			p, err := loadPlan(cmd, args, &vf)
			if err != nil {
				return err
			}
			rep := buildPlanReport(p)
			if !offline {
				estimatePlan(cmd.Context(), newEstimator(), p, rep, timeout)
				addRehearsals(cmd.Context(), p, rep)
			}
			if jsonOut {
				if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
					return err
				}
			} else {
				printPlanReport(cmd.OutOrStdout(), rep)
			}
			if n := notMeasured(rep); n > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d applications not measured on the hosts (see the report); `umzug plan --offline %s` shows the plan without connecting",
					n, len(rep.Applications), strings.Join(args, " "))}
			}
			return nil
		},
	}
	vf.register(cmd)
	cmd.Flags().BoolVar(&offline, "offline", false, "do not connect to the hosts; show the static plan only")
	output.register(cmd)
	cmd.Flags().DurationVar(&timeout, "host-timeout", 2*time.Minute, "time limit for measuring one copy set on the hosts")
	return cmd
}

// planReport is the dry run's result; the text output renders it and
// --json prints it. Every string from the plan passed through Redact.
type planReport struct {
	Plan         string           `json:"plan"`
	SHA256       string           `json:"sha256"`
	RunDigest    string           `json:"run_digest"`
	Variables    []planVariable   `json:"variables,omitempty"`
	Applications []planAppReport  `json:"applications"`
	Waves        []planWaveReport `json:"waves,omitempty"`
	Online       bool             `json:"online"`
	OnlineNote   string           `json:"online_note,omitempty"`
}

type planVariable struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
	// WorkerEnv is where the workers read a sensitive value from.
	WorkerEnv string `json:"worker_env,omitempty"`
}

type planHost struct {
	Name       string `json:"name"`
	Address    string `json:"address"`
	User       string `json:"user"`
	Datacenter string `json:"datacenter,omitempty"`
	DCDesc     string `json:"datacenter_description,omitempty"`
	Queue      string `json:"worker_queue,omitempty"`
	Jump       string `json:"jump,omitempty"`
	// SSHConfig is what ~/.ssh/config changes: the effective values.
	SSHConfig string `json:"ssh_config,omitempty"`
}

type planAppReport struct {
	Name        string           `json:"name"`
	WorkflowID  string           `json:"workflow_id"`
	Description string           `json:"description,omitempty"`
	Source      planHost         `json:"source"`
	Target      planHost         `json:"target"`
	DependsOn   []string         `json:"depends_on,omitempty"`
	Copies      []planCopyReport `json:"copies"`
	Approval    *planApproval    `json:"approval,omitempty"`
	Window      *planWindow      `json:"window,omitempty"`
	Steps       []planStep       `json:"cutover,omitempty"`
	HasCutover  bool             `json:"has_cutover"`
	Soak        string           `json:"soak,omitempty"`
	// Rehearsal is the latest successful rehearsal (online only).
	Rehearsal *planRehearsal `json:"rehearsal,omitempty"`
	// Error says why the online part could not be done for this
	// application (an unreachable host, say).
	Error string `json:"error,omitempty"`
	// Unreachable: Error is a failure to connect to the hosts.
	Unreachable bool `json:"unreachable,omitempty"`
	// Hosts are the application's hosts besides source and target
	// (copy sets' own hosts, hosts steps run on).
	Hosts []planHost `json:"hosts,omitempty"`
	// Predicted is the cutover as the window predictor counts it before
	// measuring the final sync's delta: blocks in order, a parallel group
	// as its longest member.
	Predicted string `json:"predicted,omitempty"`
}

type planCopyReport struct {
	contract.CopySet
	Estimate *contract.DeltaEstimate `json:"estimate,omitempty"`
	// BytesPerSec is the measured (or bandwidth-limited) rate.
	BytesPerSec float64 `json:"bytes_per_sec,omitempty"`
	SeedSeconds float64 `json:"seed_seconds,omitempty"`
	// SecondsPerGiB is what each GiB changed after the seed adds to
	// the final sync.
	SecondsPerGiB float64 `json:"final_sync_seconds_per_gib,omitempty"`
	Error         string  `json:"error,omitempty"`
}

type planApproval struct {
	Approvers []string `json:"approvers"`
	Quorum    int      `json:"quorum"`
	FourEyes  bool     `json:"four_eyes"`
	Timeout   string   `json:"timeout,omitempty"`
	// Operators may commit and roll back (the approvers when empty).
	Operators        []string `json:"operators,omitempty"`
	RequireRunDigest bool     `json:"require_run_digest,omitempty"`
}

type planWindow struct {
	NotBefore time.Time `json:"not_before"`
	Duration  string    `json:"duration"`
}

type planStep struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	On       string `json:"on,omitempty"`
	Host     string `json:"host,omitempty"`
	Run      string `json:"run,omitempty"`
	Undo     string `json:"undo,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
	Retries  int    `json:"retries,omitempty"`
	Interval string `json:"interval,omitempty"`
	// Secrets are the sensitive variables the commands refer to as
	// ${UMZUG_SECRET_<name>}; the workers supply them.
	Secrets []string `json:"secrets,omitempty"`
	// Output is "keep" when the block keeps the (redacted) output of its
	// commands that use Secrets, "withhold" when it keeps byte counts only.
	Output string `json:"output,omitempty"`
	// Group is the parallel group the block runs in (0: none); Estimate
	// is what the window predictor counts for it before any measurement.
	Group    int    `json:"group,omitempty"`
	Estimate string `json:"estimate,omitempty"`
}

type planWaveReport struct {
	Name         string   `json:"name"`
	Applications []string `json:"applications"`
	MaxParallel  int      `json:"max_parallel"`
}

func buildPlanReport(p *plans.Plan) *planReport {
	r := &planReport{Plan: p.Name, SHA256: p.SHA256, RunDigest: p.RunDigest()}
	red := p.Redact
	for _, v := range p.Variables {
		pv := planVariable{Name: v.Name, Value: red(v.Value), Sensitive: v.Sensitive}
		if v.Sensitive {
			pv.Value, pv.WorkerEnv = "(sensitive)", v.SecretEnv()
		}
		r.Variables = append(r.Variables, pv)
	}
	for _, app := range p.Applications {
		mi := launch.MoveInput(p, app, "")
		ar := planAppReport{
			Name:        app.Name,
			WorkflowID:  workflows.MoveID(p.Name, app.Name),
			Description: red(app.Description),
			Source:      planHostOf(app.Source, red),
			Target:      planHostOf(app.Target, red),
			Copies:      []planCopyReport{},
		}
		if app.Soak > 0 {
			ar.Soak = units.Duration(app.Soak)
		}
		for _, d := range app.DependsOn {
			ar.DependsOn = append(ar.DependsOn, d.Name)
		}
		for _, h := range app.Hosts() {
			if h != app.Source && h != app.Target {
				ar.Hosts = append(ar.Hosts, planHostOf(h, red))
			}
		}
		for _, cs := range mi.Copies {
			cs.From, cs.To = red(cs.From), red(cs.To)
			ar.Copies = append(ar.Copies, planCopyReport{CopySet: cs})
		}
		if co := app.Cutover; co != nil {
			ar.HasCutover = true
			if ap := co.Approval; ap != nil {
				ar.Approval = &planApproval{Approvers: ap.Approvers, Quorum: ap.Quorum, FourEyes: ap.FourEyes,
					Operators: ap.Operators, RequireRunDigest: ap.RequireRunDigest}
				if ap.Timeout > 0 {
					ar.Approval.Timeout = units.Duration(ap.Timeout)
				}
			}
			if w := co.Window; w != nil {
				ar.Window = &planWindow{NotBefore: w.NotBefore, Duration: units.Duration(w.Duration)}
			}
			for _, b := range co.Blocks {
				st := planStep{Kind: b.Kind, Name: b.Name, On: b.On, Run: red(b.Run), Undo: red(b.Undo),
					Retries: b.Retries, Secrets: b.Secrets}
				if len(b.Secrets) > 0 {
					st.Output = plans.OutputWithhold
					if b.KeepOutput {
						st.Output = plans.OutputKeep
					}
				}
				if h := app.BlockHost(b); h != nil {
					st.Host = h.Name
				}
				st.Group = b.Group
				if b.Timeout > 0 {
					st.Timeout = units.Duration(b.Timeout)
				}
				if b.Interval > 0 {
					st.Interval = units.Duration(b.Interval)
				}
				ar.Steps = append(ar.Steps, st)
			}
			if app.MultiHost() || hasGroups(co) {
				ar.Predicted = predictSteps(ar.Steps, app)
			}
		}
		r.Applications = append(r.Applications, ar)
	}
	for _, w := range p.Waves {
		wr := planWaveReport{Name: w.Name, MaxParallel: w.MaxParallel}
		for _, a := range w.Applications {
			wr.Applications = append(wr.Applications, a.Name)
		}
		r.Waves = append(r.Waves, wr)
	}
	return r
}

func planHostOf(h *plans.Host, red func(string) string) planHost {
	ph := planHost{Name: h.Name, Address: red(h.Address), User: red(h.User)}
	if h.Datacenter != nil {
		ph.Datacenter, ph.DCDesc, ph.Queue = h.Datacenter.Name, red(h.Datacenter.Description), h.Datacenter.WorkerQueue
	}
	if h.Jump != nil {
		ph.Jump = h.Jump.Name
	}
	if red(h.Address) == h.Address {
		ph.SSHConfig = sshConfigNote(h)
	}
	return ph
}

// estimatePlan measures every copy set on the hosts, read-only. A
// failure is recorded on its application and does not stop the others.
func estimatePlan(ctx context.Context, est estimator, p *plans.Plan, r *planReport, timeout time.Duration) {
	r.Online = true
	defer noteUnmeasured(r)
	for i, app := range p.Applications {
		ar := &r.Applications[i]
		mi := launch.MoveInput(p, app, "")
		for j := range ar.Copies {
			cr := &ar.Copies[j]
			err := estimateCopy(ctx, est, mi, j, cr, timeout)
			if err != nil {
				cr.Error = p.Redact(err.Error())
				if ar.Error == "" {
					ar.Error = fmt.Sprintf("copy %s: %s", cr.Name, cr.Error)
				}
			}
		}
	}
}

func estimateCopy(ctx context.Context, est estimator, mi workflows.MoveInput, j int, cr *planCopyReport, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m, err := workflows.MeasureCopySet(ctx, est, mi, j, sampleBytes)
	if err != nil {
		return err
	}
	cr.Estimate = &m.Estimate
	if m.BytesPerSec > 0 {
		cr.BytesPerSec = m.BytesPerSec
		cr.SeedSeconds = m.Seed.Seconds()
		cr.SecondsPerGiB = m.FinalSyncPerGiB.Seconds()
	}
	return nil
}

func printPlanReport(w io.Writer, r *planReport) {
	printPlanHeader(w, r)
	for _, a := range r.Applications {
		printPlanApp(w, a)
	}
	for _, wv := range r.Waves {
		fmt.Fprintf(w, "\nwave %s: %s (at most %d at once, in depends_on order)\n",
			wv.Name, strings.Join(wv.Applications, ", "), wv.MaxParallel)
	}
}

// printPlanHeader prints the plan's digests, variables and online note.
func printPlanHeader(w io.Writer, r *planReport) {
	fmt.Fprintf(w, "plan %s (sha256 %s)\n", r.Plan, r.SHA256)
	fmt.Fprintf(w, "run digest %s (files and these variable values; umzug approve --plan … --var … binds to it)\n", r.RunDigest)
	if len(r.Variables) > 0 {
		fmt.Fprintln(w, "variables:")
		for _, v := range r.Variables {
			if v.Sensitive {
				fmt.Fprintf(w, "  %s = (sensitive: the workers read %s)\n", v.Name, v.WorkerEnv)
				continue
			}
			fmt.Fprintf(w, "  %s = %s\n", v.Name, v.Value)
		}
	}
	if r.OnlineNote != "" {
		fmt.Fprintf(w, "note: %s\n", r.OnlineNote)
	}
}

// printPlanApp prints one application: hosts, copies, cutover, soak.
func printPlanApp(w io.Writer, a planAppReport) {
	fmt.Fprintln(w)
	title := "application " + a.Name
	if a.Description != "" {
		title += " (" + a.Description + ")"
	}
	fmt.Fprintf(w, "%s  [%s]\n", title, a.WorkflowID)
	fmt.Fprintf(w, "  source  %s\n", hostLine(a.Source))
	fmt.Fprintf(w, "  target  %s\n", hostLine(a.Target))
	for _, h := range a.Hosts {
		fmt.Fprintf(w, "  host    %s\n", hostLine(h))
	}
	if len(a.DependsOn) > 0 {
		fmt.Fprintf(w, "  starts after: %s\n", strings.Join(a.DependsOn, ", "))
	}
	switch {
	case a.Error != "" && a.Unreachable:
		fmt.Fprintln(w, "  not measured: could not connect to its hosts (see the note at the top)")
	case a.Error != "":
		fmt.Fprintf(w, "  ERROR   cannot measure on the hosts: %s\n", a.Error)
	}
	if len(a.Copies) == 0 {
		fmt.Fprintln(w, "  copies nothing")
	}
	for _, c := range a.Copies {
		printPlanCopy(w, a, c)
	}
	if !a.HasCutover {
		fmt.Fprintln(w, "  no cutover: the move seeds and ends (rehearsal)")
	} else {
		printPlanApproval(w, a.Approval)
		if win := a.Window; win != nil {
			fmt.Fprintf(w, "  window: from %s for %s\n", win.NotBefore.Format(time.RFC3339), win.Duration)
		}
		printPlanRehearsal(w, a.Rehearsal)
		fmt.Fprintln(w, "  cutover, in this order (rollback runs the undos in reverse):")
		printPlanSteps(w, a.Steps)
		if a.Predicted != "" {
			fmt.Fprintf(w, "  predicted cutover before the final sync's delta is measured: %s\n", a.Predicted)
		}
	}
	if a.Soak != "" {
		fmt.Fprintf(w, "  soak %s (rollback possible until it ends or commit)\n", a.Soak)
	}
}

// printPlanCopy prints a copy set: paths, filters, options and what the
// hosts measured.
func printPlanCopy(w io.Writer, a planAppReport, c planCopyReport) {
	src, tgt := a.Source.Name, a.Target.Name
	if c.SourceHost != "" {
		src = c.SourceHost
	}
	if c.TargetHost != "" {
		tgt = c.TargetHost
	}
	fmt.Fprintf(w, "  copy %s: %s:%s -> %s:%s\n", c.Name, src, c.From, tgt, c.To)
	if len(c.Include) > 0 {
		fmt.Fprintf(w, "    include %s\n", strings.Join(c.Include, ", "))
	}
	if len(c.Exclude) > 0 {
		fmt.Fprintf(w, "    exclude %s\n", strings.Join(c.Exclude, ", "))
	}
	opts := []string{"verify " + c.Verify}
	if c.Delete {
		opts = append(opts, "final_sync deletes files gone from the source")
	} else {
		opts = append(opts, "keeps target files gone from the source")
	}
	if c.BandwidthBytesPerSec > 0 {
		opts = append(opts, "at most "+units.Bytes(c.BandwidthBytesPerSec)+"/s")
	}
	if c.Concurrency > 0 {
		opts = append(opts, fmt.Sprintf("%d files at once", c.Concurrency))
	}
	if c.Owners == contract.OwnersNumeric {
		opts = append(opts, "owners by number")
	}
	if c.SELinux == contract.SELinuxKeep {
		opts = append(opts, "SELinux labels kept")
	}
	fmt.Fprintf(w, "    %s\n", strings.Join(opts, "; "))
	if len(c.OwnerMap) > 0 {
		var m []string
		for k, v := range c.OwnerMap {
			m = append(m, k+"→"+v)
		}
		sort.Strings(m)
		fmt.Fprintf(w, "    owner_map %s\n", strings.Join(m, ", "))
	}
	if e := c.Estimate; e != nil && len(e.Owners) > 0 {
		unknown := "none"
		if len(e.UnknownOwners) > 0 {
			unknown = strings.Join(e.UnknownOwners, ", ") + " (refused as unknown_owner unless mapped or accepted)"
		}
		fmt.Fprintf(w, "    owners: %s; unknown: %s\n", strings.Join(e.Owners, ", "), unknown)
	}
	if e := c.Estimate; e != nil {
		fmt.Fprintf(w, "    source holds %d files, %s; to seed now: %d files, %s",
			e.SourceFiles, units.Bytes(e.SourceBytes), e.ChangedFiles, units.Bytes(e.ChangedBytes))
		if e.DeletedFiles > 0 {
			fmt.Fprintf(w, "; %d target files not on the source", e.DeletedFiles)
		}
		fmt.Fprintln(w)
		if c.BytesPerSec > 0 {
			fmt.Fprintf(w, "    estimated seed %s at %s/s; final_sync about %s per GiB changed after the seed\n",
				units.Duration(seconds(c.SeedSeconds)), units.Bytes(int64(c.BytesPerSec)), units.Duration(seconds(c.SecondsPerGiB)))
		}
	}
	if c.Error != "" {
		if strings.HasSuffix(a.Error, c.Error) || (a.Unreachable && unreachable(c.Error)) {
			fmt.Fprintln(w, "    not measured (see above)")
		} else {
			fmt.Fprintf(w, "    not measured: %s\n", c.Error)
		}
	}
}

// printPlanApproval prints the approval rule and who decides during soak.
func printPlanApproval(w io.Writer, ap *planApproval) {
	if ap == nil {
		fmt.Fprintln(w, "  approval: none (rehearsal)")
		return
	}
	rule := fmt.Sprintf("%d of %s", ap.Quorum, strings.Join(ap.Approvers, ", "))
	if ap.FourEyes {
		rule += "; four-eyes (the starter cannot approve)"
	} else {
		rule += "; four-eyes OFF"
	}
	if ap.Timeout != "" {
		rule += "; expires after " + ap.Timeout
	}
	if ap.RequireRunDigest {
		rule += "; approvals must carry the run digest"
	}
	fmt.Fprintf(w, "  approval: %s\n", rule)
	ops := "the approvers"
	if len(ap.Operators) > 0 {
		ops = strings.Join(ap.Operators, ", ")
	}
	fmt.Fprintf(w, "  commit and rollback during soak: %s\n", ops)
}

// printPlanStep prints cutover block n: a final sync, a step with its
// undo, or a check with its retries.
func printPlanStep(w io.Writer, n int, s planStep) {
	switch s.Kind {
	case plans.KindFinalSync:
		fmt.Fprintf(w, "    %d. final_sync: copy what changed since the seed, then verify end to end\n", n)
	case plans.KindStep:
		fmt.Fprintf(w, "    %d. step %s on %s (%s): %s\n", n, s.Name, s.On, s.Host, s.Run)
		if s.Undo != "" {
			fmt.Fprintf(w, "         undo: %s\n", s.Undo)
		} else {
			fmt.Fprintln(w, "         undo: none")
		}
		if s.Timeout != "" {
			fmt.Fprintf(w, "         timeout %s\n", s.Timeout)
		}
		printStepSecrets(w, s.Secrets, s.Output)
	case plans.KindCheck:
		extra := fmt.Sprintf("%d retries", s.Retries)
		if s.Interval != "" {
			extra += " every " + s.Interval
		}
		if s.Timeout != "" {
			extra += ", timeout " + s.Timeout
		}
		fmt.Fprintf(w, "    %d. check %s on %s (%s): %s (%s)\n", n, s.Name, s.On, s.Host, s.Run, extra)
		printStepSecrets(w, s.Secrets, s.Output)
	}
}

func hostLine(h planHost) string {
	s := fmt.Sprintf("host.%s  %s@%s", h.Name, h.User, h.Address)
	if h.Datacenter != "" {
		s += "  in " + h.Datacenter
		if h.DCDesc != "" {
			s += " (" + h.DCDesc + ")"
		}
	}
	if h.Queue != "" {
		s += "  queue " + h.Queue
	}
	if h.Jump != "" {
		s += "  via host." + h.Jump
	}
	if h.SSHConfig != "" {
		s += "\n          ~/.ssh/config: " + h.SSHConfig
	}
	return s
}

// seconds turns the report's float seconds back into a duration.
func seconds(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)) }

// printStepSecrets names the values a step's commands get from the worker
// and whether their output is kept.
func printStepSecrets(w io.Writer, names []string, output string) {
	if len(names) == 0 {
		return
	}
	kept := "output withheld (byte counts only)"
	if output == plans.OutputKeep {
		kept = "output kept, redacted"
	}
	fmt.Fprintf(w, "         secrets from the worker: %s; %s\n", strings.Join(names, ", "), kept)
}

// unreachable reports whether a measurement failed to connect to a host
// (dial, jump host, host key): the same cause for every application on
// those hosts, said once rather than per application.
func unreachable(msg string) bool {
	return strings.Contains(msg, "connect to ") || strings.Contains(msg, "dial tcp ") || strings.Contains(msg, "known_hosts")
}

// noteUnmeasured marks the applications whose hosts could not be reached
// and says so once in the report's note, with the first such error.
func noteUnmeasured(r *planReport) {
	var names []string
	first := ""
	for i := range r.Applications {
		a := &r.Applications[i]
		if a.Error == "" || !unreachable(a.Error) {
			continue
		}
		a.Unreachable = true
		names = append(names, a.Name)
		if first == "" {
			first = a.Error
		}
	}
	if len(names) == 0 {
		return
	}
	r.OnlineNote = fmt.Sprintf("could not connect to the hosts of %s; the first error: %s. `umzug plan --offline` shows the plan without connecting",
		strings.Join(names, ", "), first)
}

// notMeasured counts the applications the hosts could not measure.
func notMeasured(r *planReport) int {
	n := 0
	for _, a := range r.Applications {
		if a.Error != "" {
			n++
		}
	}
	return n
}
