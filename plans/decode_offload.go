package plans

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/umzug-dev/umzug/internal/identity"
)

// Offload hands a share of the source's jobs to the partner site (the
// application's target) for production there: `umzug offload` claims
// the selected jobs at the source, copies them to To verified, waits for
// the partner's acceptance, runs Intake once per job, polls Done and
// copies Results back. One block serves one direction, source to target;
// the other direction is an application with the hosts swapped.
type Offload struct {
	Name string
	// Copy is the copy set whose From holds the job queue.
	Copy *Copy
	// Select are globs relative to Copy.From; each match is one job (a
	// file or a directory). SelectList, when set, is a file on the source
	// listing job paths relative to Copy.From, one a line.
	Select     []string
	SelectList string
	// To is the directory on the partner where each offload's jobs land,
	// under a subdirectory named by the offload.
	To       string
	Accept   *Approval
	Intake   *Block
	Done     *Block
	Results  *OffloadResults
	MaxJobs  int
	MaxBytes int64
	// Poll is how often Done runs; Within how long the partner has to
	// produce the jobs before the status flags them as overdue.
	Poll   time.Duration
	Within time.Duration
	Range  hcl.Range
	toRng  hcl.Range
}

// OffloadResults copies the partner's production logs or confirmations
// back: From on the partner, To on the source, each under a
// subdirectory named by the offload.
type OffloadResults struct {
	From, To string
	Range    hcl.Range
}

// Offload limits: what one hand-over may carry at most, so the job list
// stays small in workflow history.
const (
	MaxOffloadJobs       = 1000
	DefaultOffloadJob    = 100
	DefaultOffloadPoll   = time.Minute
	DefaultAcceptWithin  = 4 * time.Hour
	DefaultProduceWithin = 24 * time.Hour
)

var offloadSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "copy"},
		{Name: "select"},
		{Name: "select_list"},
		{Name: "to", Required: true},
		{Name: "max_jobs"},
		{Name: "max_bytes"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "accept"},
		{Type: "intake"},
		{Type: "done"},
		{Type: "results"},
	},
}

var acceptSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "approvers", Required: true},
		{Name: "quorum"},
		{Name: "four_eyes"},
		{Name: "timeout"},
		{Name: "signers"},
	},
}

var intakeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "run", Required: true},
		{Name: "timeout"},
		{Name: "output"},
		{Name: "become"},
	},
}

var doneSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "run", Required: true},
		{Name: "timeout"},
		{Name: "interval"},
		{Name: "within"},
		{Name: "output"},
		{Name: "become"},
	},
}

var resultsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from", Required: true},
		{Name: "to", Required: true},
	},
}

// offloadDecl keeps what the application-wide checks need.
type offloadDecl struct {
	copyName string
	copyRng  hcl.Range
}

// decodeOffloadBlock reads an offload block into app.
func (l *loader) decodeOffloadBlock(b *hcl.Block, app *Application) {
	name := b.Labels[0]
	for _, o := range app.Offloads {
		if o.Name == name {
			l.errorf(b.LabelRanges[0], fmt.Sprintf("Duplicate offload %q", name),
				"Application %q already has an offload %q at %s.", app.Name, name, shortRange(o.Range))
			return
		}
	}
	o := &Offload{Name: name, Range: b.DefRange, MaxJobs: DefaultOffloadJob, Poll: DefaultOffloadPoll, Within: DefaultProduceWithin}
	app.Offloads = append(app.Offloads, o)
	content, d := b.Body.Content(offloadSchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes
	what := fmt.Sprintf("offload %q", name)

	decl := offloadDecl{}
	if a := attrs["copy"]; a != nil {
		decl.copyName, _ = l.str(a, "copy")
		decl.copyRng = a.Expr.Range()
	}
	if l.offloads == nil {
		l.offloads = map[*Offload]offloadDecl{}
	}
	l.offloads[o] = decl
	if a := attrs["select"]; a != nil {
		o.Select, _ = l.strList(a, "select")
		for _, p := range o.Select {
			if err := checkJobGlob(p); err != "" {
				l.errorf(a.Expr.Range(), "Invalid select", "%s: select pattern %q %s.", what, p, err)
			}
		}
	}
	if a := attrs["select_list"]; a != nil {
		if s, ok := l.str(a, "select_list"); ok {
			if !path.IsAbs(s) {
				l.errorf(a.Expr.Range(), "Relative path", "%s: select_list = %q must be an absolute path on the source host.", what, s)
			}
			o.SelectList = s
		}
	}
	if len(o.Select) == 0 && o.SelectList == "" {
		l.errorf(b.DefRange, "Offload without select",
			"%s selects no jobs: give select = [\"queue/*\"] (globs under the copy set's from, one job per match) or select_list = \"/path/to/job-list\".", what)
	}
	if a := attrs["to"]; a != nil {
		o.toRng = a.Expr.Range()
		if s, ok := l.str(a, "to"); ok {
			if !path.IsAbs(s) {
				l.errorf(a.Expr.Range(), "Relative path", "%s: to = %q must be an absolute path on the partner host.", what, s)
			}
			o.To = s
		}
	}
	if a := attrs["max_jobs"]; a != nil {
		if n, ok := l.integer(a, "max_jobs"); ok {
			if n < 1 || n > MaxOffloadJobs {
				l.errorf(a.Expr.Range(), "Invalid max_jobs", "%s: max_jobs is from 1 to %d, got %d.", what, MaxOffloadJobs, n)
			}
			o.MaxJobs = n
		}
	}
	if a := attrs["max_bytes"]; a != nil {
		if s, ok := l.str(a, "max_bytes"); ok {
			n, err := parseBandwidth(s + "/s")
			if err != nil {
				l.errorf(a.Expr.Range(), "Invalid max_bytes", "%s: max_bytes %q is not a size; write it like \"2GiB\" or \"500MB\".", what, s)
			}
			o.MaxBytes = n
		}
	}
	seen := map[string]hcl.Range{}
	for _, cb := range content.Blocks {
		if prev, dup := seen[cb.Type]; dup {
			l.errorf(cb.DefRange, "Duplicate "+cb.Type+" block", "%s already has a %s block at %s.", what, cb.Type, shortRange(prev))
			continue
		}
		seen[cb.Type] = cb.DefRange
		switch cb.Type {
		case "accept":
			o.Accept = l.decodeAcceptBlock(cb, what)
		case "intake", "done":
			blk, within := l.decodeOffloadStep(cb, what)
			if cb.Type == "intake" {
				o.Intake = blk
				continue
			}
			o.Done = blk
			if blk.Interval > 0 {
				o.Poll = blk.Interval
			}
			if within > 0 {
				o.Within = within
			}
		case "results":
			o.Results = l.decodeResults(cb, what)
		}
	}
	for _, need := range []struct {
		ok   bool
		kind string
		hint string
	}{
		{o.Accept != nil, "accept", `accept { approvers = ["m.huber", "j.bauer"] } (people of the partner organisation)`},
		{o.Intake != nil, "intake", `intake { run = "..." } (the step on the partner that enqueues one job; it gets UMZUG_JOB_ID and UMZUG_JOB_PATH)`},
		{o.Done != nil, "done", `done { run = "..." } (the check on the partner that exits 0 when job UMZUG_JOB_ID was produced)`},
	} {
		if !need.ok {
			l.errorf(b.DefRange, "Offload without "+need.kind, "%s needs %s.", what, need.hint)
		}
	}
}

// checkJobGlob says why a select glob cannot name jobs under the queue
// root, or "".
func checkJobGlob(p string) string {
	switch {
	case p == "" || strings.HasPrefix(p, "/"):
		return "must be relative to the copy set's from"
	case strings.HasPrefix(p, OffloadArea) || strings.HasPrefix(p, "./"+OffloadArea):
		return "selects umzug's own offload area " + OffloadArea
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." || c == "." || c == "" {
			return "must not contain empty, . or .. components"
		}
	}
	if _, err := path.Match(p, ""); err != nil {
		return "is not a valid glob"
	}
	return ""
}

// OffloadArea is the directory under a copy set's from that holds the
// claimed and archived jobs of its offloads; select never reaches it.
const OffloadArea = ".umzug-offload"

func (l *loader) decodeAcceptBlock(b *hcl.Block, what string) *Approval {
	ap := &Approval{Quorum: 1, FourEyes: true, Timeout: DefaultAcceptWithin}
	content, d := b.Body.Content(acceptSchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes
	if a := attrs["approvers"]; a != nil {
		var ok bool
		if ap.Approvers, ok = l.identityList(a, "approvers"); ok && len(ap.Approvers) == 0 {
			l.errorf(a.Expr.Range(), "No approvers", "%s: accept needs at least one person of the partner who may accept a hand-over.", what)
		}
	}
	if a := attrs["quorum"]; a != nil {
		if q, ok := l.integer(a, "quorum"); ok {
			ap.Quorum = q
			if q < 1 || q > len(ap.Approvers) {
				l.errorf(a.Expr.Range(), "Invalid quorum", "%s: quorum is from 1 to the %d listed approver(s), got %d.", what, len(ap.Approvers), q)
			}
		}
	}
	if a := attrs["four_eyes"]; a != nil {
		if v, ok := l.boolean(a, "four_eyes"); ok {
			ap.FourEyes = v
			if !v {
				l.warnf(a.Expr.Range(), "Four-eyes disabled", "%s: four_eyes = false lets whoever started the offload accept it.", what)
			}
		}
	}
	if a := attrs["timeout"]; a != nil {
		if v, ok := l.duration(a, "timeout"); ok {
			if v <= 0 {
				l.errorf(a.Expr.Range(), "Invalid timeout", "%s: accept timeout must be above zero; without an acceptance by then the jobs go back to the source's queue.", what)
			}
			ap.Timeout = v
		}
	}
	if a := attrs["signers"]; a != nil {
		ap.Signers = l.signers(a, ap.Approvers)
	}
	return ap
}

// decodeOffloadStep reads intake or done: a command on the partner.
// A done block's within comes back on its own.
func (l *loader) decodeOffloadStep(b *hcl.Block, what string) (blk *Block, within time.Duration) {
	kind := KindStep
	if b.Type == "done" {
		kind = KindCheck
	}
	blk = &Block{Kind: kind, Name: b.Type, On: "target", Range: b.DefRange}
	schema := intakeSchema
	if b.Type == "done" {
		schema = doneSchema
	}
	content, d := b.Body.Content(schema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes
	w := what + " " + b.Type
	if a := attrs["run"]; a != nil {
		if s, names, ok := l.command(a, w+" run"); ok {
			if strings.TrimSpace(s) == "" {
				l.errorf(a.Expr.Range(), "Empty command", "%s: run is the shell command to run on the partner.", w)
			}
			blk.Run, blk.Secrets = s, distinctSorted(names)
		}
	}
	blk.KeepOutput = l.outputSetting(attrs["output"], w, blk.Secrets)
	if a := attrs["timeout"]; a != nil {
		blk.Timeout, _ = l.duration(a, "timeout")
	}
	if a := attrs["interval"]; a != nil {
		if v, ok := l.duration(a, "interval"); ok {
			if v < time.Second {
				l.errorf(a.Expr.Range(), "Invalid interval", "%s: interval is at least \"1s\".", w)
			}
			blk.Interval = v
		}
	}
	if a := attrs["within"]; a != nil {
		if v, ok := l.duration(a, "within"); ok {
			if v <= 0 {
				l.errorf(a.Expr.Range(), "Invalid within", "%s: within must be above zero.", w)
			}
			within = v
		}
	}
	if a := attrs["become"]; a != nil {
		if v, ok := l.boolean(a, "become"); ok {
			if v {
				l.errorf(a.Expr.Range(), "Invalid become", "%s: only become = false (run as the login user) can be set here.", w)
			}
			blk.NoBecome = !v
		}
	}
	return blk, within
}

func (l *loader) decodeResults(b *hcl.Block, what string) *OffloadResults {
	r := &OffloadResults{Range: b.DefRange}
	content, d := b.Body.Content(resultsSchema)
	l.diags = append(l.diags, d...)
	for _, n := range []string{"from", "to"} {
		a := content.Attributes[n]
		if a == nil {
			continue
		}
		s, ok := l.str(a, n)
		if !ok {
			continue
		}
		if !path.IsAbs(s) {
			l.errorf(a.Expr.Range(), "Relative path", "%s results: %s = %q must be absolute (from on the partner, to on the source).", what, n, s)
		}
		if n == "from" {
			r.From = s
		} else {
			r.To = s
		}
	}
	return r
}

// checkOffloads resolves each offload's copy set and checks that its
// landing directory on the partner stays out of every copy target there:
// a standby sync with delete = true would remove the jobs, and a job
// landing in the partner's standby copy would be overwritten by it.
func (l *loader) checkOffloads(plan *Plan) {
	for _, ad := range l.appOrder {
		a := ad.a
		for _, o := range a.Offloads {
			decl := l.offloads[o]
			what := fmt.Sprintf("offload %q of application %q", o.Name, a.Name)
			switch {
			case decl.copyName != "":
				for _, c := range a.Copies {
					if c.Name == decl.copyName {
						o.Copy = c
					}
				}
				if o.Copy == nil {
					l.errorf(decl.copyRng, "Unknown copy set", "%s names copy %q, which application %q does not have.", what, decl.copyName, a.Name)
				}
			case len(a.Copies) == 1:
				o.Copy = a.Copies[0]
			default:
				l.errorf(o.Range, "Offload without copy set",
					"%s: application %q has %d copy sets; name the one whose from holds the job queue with copy = \"NAME\".", what, a.Name, len(a.Copies))
			}
			if o.Results != nil && o.Copy != nil && path.IsAbs(o.Results.To) && nested(o.Results.To, o.Copy.From) {
				l.errorf(o.Results.Range, "Results inside the queue",
					"%s copies results back to %s, which is the copy set's from %s or lies in it; the standby would copy them and select could pick them up as jobs. Give results a directory of its own.",
					what, o.Results.To, o.Copy.From)
			}
			l.checkOffloadLanding(plan, a, o, what)
			l.checkAcceptors(a, o, what)
		}
	}
}

func (l *loader) checkOffloadLanding(plan *Plan, a *Application, o *Offload, what string) {
	if a.Target == nil || !path.IsAbs(o.To) {
		return
	}
	for _, other := range plan.Applications {
		for _, c := range other.Copies {
			if other.Target != nil && sameHost(other.Target, a.Target) && path.IsAbs(c.To) && nested(o.To, c.To) {
				l.errorf(o.toRng, "Offload overlaps a standby copy",
					"%s lands jobs in %s on host.%s, which overlaps copy %q of application %q (to = %s): that copy's syncs would overwrite or delete the jobs. Give the offload a directory outside every copy target.",
					what, o.To, a.Target.Name, c.Name, other.Name, c.To)
				return
			}
			if other.Source != nil && sameHost(other.Source, a.Target) && path.IsAbs(c.From) && nested(o.To, c.From) && other.Standby != nil {
				l.errorf(o.toRng, "Offload overlaps a standby copy",
					"%s lands jobs in %s on host.%s, inside copy %q of application %q (from = %s), whose standby would carry them back to the site that handed them over. Give the offload a directory outside the partner's standby copy sets.",
					what, o.To, a.Target.Name, c.Name, other.Name, c.From)
				return
			}
		}
	}
}

// sameHost compares hosts by address, else by name.
func sameHost(a, b *Host) bool {
	if a == b {
		return true
	}
	return a.Address != "" && a.Address == b.Address
}

// checkAcceptors warns about an acceptor the application also lists as
// one of its own deciders: the acceptance stands for the partner
// organisation, so it should not come from the site handing over.
func (l *loader) checkAcceptors(a *Application, o *Offload, what string) {
	if o.Accept == nil {
		return
	}
	var own []string
	if a.Cutover != nil && a.Cutover.Approval != nil {
		own = append(append(own, a.Cutover.Approval.Approvers...), a.Cutover.Approval.Operators...)
	}
	if a.Emergency != nil {
		own = append(own, a.Emergency.Approvers...)
	}
	for _, who := range o.Accept.Approvers {
		if identity.Index(own, who) >= 0 {
			l.warnf(o.Range, "Acceptor of the handing-over site",
				"%s lets %s accept, who also decides for application %q itself (cutover or emergency); the acceptance should come from people of the partner site.",
				what, who, a.Name)
		}
	}
}
