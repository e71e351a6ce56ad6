package plans

import (
	"path"

	"github.com/hashicorp/hcl/v2"
)

var rehearsalSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "target"},
		{Name: "root", Required: true},
		{Name: "required_within"},
	},
}

// decodeRehearsalBlock reads a rehearsal block; its target host is
// resolved with the other references.
func (l *loader) decodeRehearsalBlock(b *hcl.Block, ad *appDecl) *Rehearsal {
	r := &Rehearsal{Range: b.DefRange}
	content, d := b.Body.Content(rehearsalSchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes
	if a := attrs["target"]; a != nil {
		ad.rehTgt = l.singleRef(a, "host")
	}
	if a := attrs["root"]; a != nil {
		if s, ok := l.str(a, "root"); ok {
			switch {
			case !path.IsAbs(s):
				l.errorf(a.Expr.Range(), "Relative rehearsal root",
					"rehearsal of %q: root = %q is not absolute; write the scratch directory's full path, like \"/srv/rehearsal\".", ad.a.Name, s)
			case path.Clean(s) == "/":
				l.errorf(a.Expr.Range(), "Rehearsal root is /",
					"rehearsal of %q: root = \"/\" would rehearse onto the real paths and clean them up afterwards; give a scratch directory.", ad.a.Name)
			}
			r.Root = path.Clean(s)
		}
	}
	if a := attrs["required_within"]; a != nil {
		if dur, ok := l.duration(a, "required_within"); ok {
			if dur <= 0 {
				l.errorf(a.Expr.Range(), "Invalid required_within",
					"rehearsal of %q: required_within must be positive, like \"30d\"; remove it to require no rehearsal.", ad.a.Name)
			}
			r.RequiredWithin = dur
		}
	}
	return r
}

// rehearse reads a step's or check's `rehearse`: steps run in a rehearsal
// only when it is true, checks unless it is false.
func (l *loader) rehearse(a *hcl.Attribute, kind string) bool {
	if a == nil {
		return kind == KindCheck
	}
	v, ok := l.boolean(a, "rehearse")
	if !ok {
		return kind == KindCheck
	}
	return v
}

// checkRehearsal runs once references are resolved: a scratch host that
// is the source would rehearse onto the system being moved.
func (l *loader) checkRehearsal(ad *appDecl) {
	r := ad.a.Rehearsal
	if r == nil || ad.rehTgt == nil || r.Target == nil || ad.a.Source == nil {
		return
	}
	if r.Target == ad.a.Source {
		l.errorf(ad.rehTgt.rng, "Rehearsal target equals source",
			"rehearsal of %q targets host.%s, the application's source: a rehearsal copies onto a scratch root of the target or another host, never onto the source.",
			ad.a.Name, r.Target.Name)
	}
}

// decodeRehearsalAndFailback reads the application's rehearsal and
// failback blocks, at most one of each.
func (l *loader) decodeRehearsalAndFailback(blocks []*hcl.Block, ad *appDecl) {
	first := map[string]hcl.Range{}
	for _, b := range blocks {
		if prev, dup := first[b.Type]; dup {
			l.errorf(b.DefRange, "Duplicate "+b.Type+" block",
				"Application %q already has a %s block at %s.", ad.a.Name, b.Type, shortRange(prev))
			continue
		}
		first[b.Type] = b.DefRange
		if b.Type == "rehearsal" {
			ad.a.Rehearsal = l.decodeRehearsalBlock(b, ad)
		} else {
			ad.a.Failback = l.decodeFailbackBlock(b, ad.a)
		}
	}
}
