package plans

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/internal/units"
)

// decodeCutoverBlock reads the cutover body; step, final_sync and check
// blocks keep the order they are written in, which is the order they run.
func (l *loader) decodeCutoverBlock(b *hcl.Block, app *Application) *Cutover {
	co := &Cutover{Range: b.DefRange}
	content, d := b.Body.Content(cutoverSchema)
	l.diags = append(l.diags, d...)

	names := map[string]hcl.Range{}
	var windows, approvals, syncs []*hcl.Block
	groups := 0
	// member adds a step, check or final_sync block in group g (0: none).
	member := func(cb *hcl.Block, g int) {
		switch cb.Type {
		case KindFinalSync:
			syncs = append(syncs, cb)
			if len(syncs) > 1 {
				l.errorf(cb.DefRange, "Duplicate final_sync",
					"Application %q already has a final_sync at %s; the final copy runs once.", app.Name, shortRange(syncs[0].DefRange))
				return
			}
			fc, fd := cb.Body.Content(finalSyncSchema)
			l.diags = append(l.diags, fd...)
			_ = fc
			co.Blocks = append(co.Blocks, &Block{Kind: KindFinalSync, Name: KindFinalSync, Group: g, Range: cb.DefRange})
		case KindStep, KindCheck:
			name := cb.Labels[0]
			if prev, dup := names[name]; dup {
				l.errorf(cb.LabelRanges[0], fmt.Sprintf("Duplicate %s %q", cb.Type, name),
					"The cutover of %q already has a step or check %q at %s; names must be unique within a cutover.",
					app.Name, name, shortRange(prev))
				return
			}
			names[name] = cb.DefRange
			blk := l.decodeCutoverStep(cb)
			blk.Group = g
			co.Blocks = append(co.Blocks, blk)
		}
	}
	for _, cb := range content.Blocks {
		switch cb.Type {
		case "window":
			windows = append(windows, cb)
		case "approval":
			approvals = append(approvals, cb)
		case KindParallel:
			pc, pd := cb.Body.Content(parallelSchema)
			l.diags = append(l.diags, pd...)
			if len(pc.Blocks) == 0 {
				l.errorf(cb.DefRange, "Empty parallel block",
					"A parallel block runs the steps, checks and final_sync inside it at once; this one has none. Add them or remove the block.")
				continue
			}
			groups++
			for _, mb := range pc.Blocks {
				member(mb, groups)
			}
		default:
			member(cb, 0)
		}
	}
	for i, wb := range windows {
		if i > 0 {
			l.errorf(wb.DefRange, "Duplicate window", "A cutover has at most one window; the first is at %s.", shortRange(windows[0].DefRange))
			continue
		}
		co.Window = l.decodeWindowBlock(wb)
		l.checkWindowOver(app.Name, co.Window, wb)
	}
	for i, ab := range approvals {
		if i > 0 {
			l.errorf(ab.DefRange, "Duplicate approval", "A cutover has at most one approval; the first is at %s.", shortRange(approvals[0].DefRange))
			continue
		}
		co.Approval = l.decodeApprovalBlock(ab)
	}
	if len(approvals) == 0 {
		l.warnf(b.DefRange, "No approval",
			"The cutover of %q has no approval block and starts without anyone's consent. Allowed for rehearsals; production moves need one.", app.Name)
	}
	return co
}

func (l *loader) decodeWindowBlock(b *hcl.Block) *Window {
	w := &Window{}
	content, d := b.Body.Content(windowSchema)
	l.diags = append(l.diags, d...)
	if a := content.Attributes["not_before"]; a != nil {
		if s, ok := l.str(a, "not_before"); ok {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				l.errorf(a.Expr.Range(), "Invalid time",
					"not_before = %q is not an RFC 3339 time; write it like \"2026-12-05T18:00:00+01:00\".", s)
			}
			w.NotBefore = t
		}
	}
	if a := content.Attributes["duration"]; a != nil {
		if dur, ok := l.duration(a, "duration"); ok {
			if dur == 0 {
				l.errorf(a.Expr.Range(), "Empty window", "A window of zero length never opens; give its duration, like \"4h\".")
			}
			w.Duration = dur
		}
	}
	return w
}

// checkWindowOver warns when the window ended before LoadOptions.Now: a
// move started with it would seed, be approved and then wait for a
// reschedule, never cutting over in it.
func (l *loader) checkWindowOver(app string, w *Window, b *hcl.Block) {
	if l.opts.Now.IsZero() || w.NotBefore.IsZero() || w.Duration <= 0 {
		return
	}
	end := w.NotBefore.Add(w.Duration)
	if end.After(l.opts.Now) {
		return
	}
	rng := b.DefRange
	if a, ok := b.Body.(*hclsyntax.Body); ok {
		if nb := a.Attributes["not_before"]; nb != nil {
			rng = nb.Expr.Range()
		}
	}
	l.warnf(rng, "Cutover window is over",
		"The cutover window of %q (%s for %s) ended at %s, before now (%s): a move run with it seeds, is approved and then waits for `umzug reschedule`. Set not_before to the agreed window, e.g. with --var if it comes from a variable.",
		app, w.NotBefore.Format(time.RFC3339), units.Duration(w.Duration), end.Format(time.RFC3339), l.opts.Now.Format(time.RFC3339))
}

func (l *loader) decodeApprovalBlock(b *hcl.Block) *Approval {
	ap := &Approval{Quorum: 1, FourEyes: true}
	content, d := b.Body.Content(approvalSchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes

	approversOK := false
	if a := attrs["approvers"]; a != nil {
		ap.Approvers, approversOK = l.identityList(a, "approvers")
		if approversOK && len(ap.Approvers) == 0 {
			l.errorf(a.Expr.Range(), "No approvers",
				"An approval needs at least one approver; remove the approval block for a rehearsal without one.")
		}
	}
	if a := attrs["operators"]; a != nil {
		var ok bool
		if ap.Operators, ok = l.identityList(a, "operators"); ok && len(ap.Operators) == 0 {
			l.errorf(a.Expr.Range(), "No operators",
				"operators lists who may commit and roll back; leave it out to let the approvers do so.")
		}
	}
	if a := attrs["require_run_digest"]; a != nil {
		ap.RequireRunDigest, _ = l.boolean(a, "require_run_digest")
	}
	if a := attrs["quorum"]; a != nil {
		if q, ok := l.integer(a, "quorum"); ok {
			ap.Quorum = q
			switch {
			case q < 1:
				l.errorf(a.Expr.Range(), "Invalid quorum", "quorum is the number of distinct approvers needed; at least 1, got %d.", q)
			case approversOK && q > len(ap.Approvers):
				l.errorf(a.Expr.Range(), "Quorum larger than approver list",
					"quorum = %d but only %d approver(s) are listed, so the cutover could never be approved.", q, len(ap.Approvers))
			}
		}
	}
	if a := attrs["four_eyes"]; a != nil {
		if v, ok := l.boolean(a, "four_eyes"); ok {
			ap.FourEyes = v
			if !v {
				l.warnf(a.Expr.Range(), "Four-eyes disabled",
					"four_eyes = false lets whoever started the move approve it alone.")
			}
		}
	}
	if a := attrs["timeout"]; a != nil {
		ap.Timeout, _ = l.duration(a, "timeout")
	}
	if a := attrs["signers"]; a != nil {
		ap.Signers = l.signers(a, ap.Approvers, ap.Operators)
	}
	return ap
}

// identityList reads a list of identities (approvers, operators). Each
// must be a valid user name by PRECIS UsernameCaseMapped (RFC 8265); two
// entries that are one person (A.Meier, a.meier) are a duplicate, and a
// name that looks like another name of the plan (same UTS #39 skeleton:
// a.meier and а.meier with a Cyrillic а) is an error, wherever in the
// plan the other one is listed.
func (l *loader) identityList(a *hcl.Attribute, name string) ([]string, bool) {
	list, ok := l.strList(a, name)
	ranges := elementRanges(a.Expr, len(list))
	seen := map[string]string{}
	for i, who := range list {
		key, err := identity.Canonical(who)
		switch {
		case err != nil:
			l.errorf(ranges[i], "Invalid identity", "%s: %v.", name, err)
		case seen[key] != "":
			l.errorf(ranges[i], "Duplicate "+strings.TrimSuffix(name, "s"),
				"%s lists %q and %q, which are one person (identities are compared by PRECIS UsernameCaseMapped, "+
					"RFC 8265: trimmed, width-mapped, lower-cased, NFC); each counts once.", name, seen[key], who)
		default:
			seen[key] = who
			l.lookAlike(name, who, key, ranges[i])
		}
	}
	return list, ok
}

// listedName is a name of the plan and where it was first listed.
type listedName struct {
	who, key, list string
	at             hcl.Range
}

// lookAlike records a listed name and refuses one that looks like
// another name of the plan without being it.
func (l *loader) lookAlike(list, who, key string, at hcl.Range) {
	if l.names == nil {
		l.names = map[string]listedName{}
	}
	sk := identity.Skeleton(key)
	prev, ok := l.names[sk]
	switch {
	case !ok:
		l.names[sk] = listedName{who: who, key: key, list: list, at: at}
	case prev.key != key:
		l.errorf(at, "Look-alike identities",
			"%s lists %q, which looks like %q (%s at %s:%d:%d) but is another name (same UTS #39 skeleton); "+
				"approvals by one could pass for the other, so rename one of them.",
			list, who, prev.who, prev.list, prev.at.Filename, prev.at.Start.Line, prev.at.Start.Column)
	}
}

// elementRanges are the source ranges of a list's n elements when it is
// written as a list, else n times the whole expression's range.
func elementRanges(e hcl.Expression, n int) []hcl.Range {
	out := make([]hcl.Range, n)
	exprs, d := hcl.ExprList(e)
	for i := range out {
		out[i] = e.Range()
		if !d.HasErrors() && len(exprs) == n {
			out[i] = exprs[i].Range()
		}
	}
	return out
}

// decodeCutoverStep reads a step or check block.
func (l *loader) decodeCutoverStep(b *hcl.Block) *Block {
	blk := &Block{Kind: b.Type, Name: b.Labels[0], Range: b.DefRange}
	schema := stepSchema
	if b.Type == KindCheck {
		schema = checkSchema
	}
	content, d := b.Body.Content(schema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes
	what := fmt.Sprintf("%s %q", b.Type, blk.Name)

	if a := attrs["on"]; a != nil {
		if r, ok := hostTraversal(a.Expr); ok {
			blk.On = r.String()
			l.onRefs = append(l.onRefs, onRef{blk: blk, r: r})
		} else if s, ok := l.str(a, "on"); ok {
			if s != "source" && s != "target" {
				l.errorf(a.Expr.Range(), "Invalid on",
					"%s: on must be \"source\", \"target\" or a host reference like host.NAME (without quotes), not %q.%s", what, s, didYouMean(s, []string{"source", "target"}))
			}
			blk.On = s
		}
	}
	var secrets []string
	if a := attrs["run"]; a != nil {
		if s, names, ok := l.command(a, what+" run"); ok {
			if s == "" {
				l.errorf(a.Expr.Range(), "Empty command", "%s: run is the shell command to run.", what)
			}
			blk.Run, secrets = s, names
		}
	}
	if a := attrs["undo"]; a != nil {
		s, names, _ := l.command(a, what+" undo")
		blk.Undo, secrets = s, append(secrets, names...)
	} else if b.Type == KindStep {
		l.warnf(b.DefRange, "Step without undo",
			"%s has no undo: rollback cannot undo it; the source may need manual attention.", what)
	}
	blk.Secrets = distinctSorted(secrets)
	blk.KeepOutput = l.outputSetting(attrs["output"], what, blk.Secrets)
	if a := attrs["timeout"]; a != nil {
		blk.Timeout, _ = l.duration(a, "timeout")
	}
	if a := attrs["retries"]; a != nil {
		if n, ok := l.integer(a, "retries"); ok {
			if n < 0 {
				l.errorf(a.Expr.Range(), "Invalid retries", "%s: retries cannot be negative; 0 means one attempt.", what)
			}
			blk.Retries = n
		}
	}
	if a := attrs["interval"]; a != nil {
		blk.Interval, _ = l.duration(a, "interval")
	}
	blk.Rehearse = l.rehearse(attrs["rehearse"], b.Type)
	if a := attrs["become"]; a != nil {
		if v, ok := l.boolean(a, "become"); ok {
			if v {
				l.errorf(a.Expr.Range(), "Invalid become",
					"%s: become = true is the default on a host with become = \"sudo\"; only become = false (run as the login user) can be set here.", what)
			}
			blk.NoBecome = !v
		}
	}
	return blk
}
