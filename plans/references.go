package plans

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// ref is an unresolved reference such as host.fin_pb, kept with its
// source range so an undefined name is reported exactly where written.
type ref struct {
	kind string // "host", "datacenter", "application"
	name string
	rng  hcl.Range
}

func (r ref) String() string { return r.kind + "." + r.name }

// singleRef reads an attribute that must be one reference of kind.
func (l *loader) singleRef(a *hcl.Attribute, kind string) *ref {
	r, ok := l.refExpr(a.Expr, kind, a.Name)
	if !ok {
		return nil
	}
	return &r
}

// refList reads an attribute that must be a list of references of kind.
func (l *loader) refList(a *hcl.Attribute, kind string) []ref {
	exprs, d := hcl.ExprList(a.Expr)
	if d.HasErrors() {
		l.errorf(a.Expr.Range(), "Invalid reference list",
			"%s must be a list of references, like [%s.one, %s.two].", a.Name, kind, kind)
		return nil
	}
	var out []ref
	for _, e := range exprs {
		if r, ok := l.refExpr(e, kind, a.Name); ok {
			out = append(out, r)
		}
	}
	return out
}

func (l *loader) refExpr(expr hcl.Expression, kind, attr string) (ref, bool) {
	t, d := hcl.AbsTraversalForExpr(expr)
	bad := func(got string) (ref, bool) {
		l.errorf(expr.Range(), "Invalid reference",
			"%s must refer to a %s, like %s.NAME (without quotes)%s.", attr, kind, kind, got)
		return ref{}, false
	}
	if d.HasErrors() {
		return bad("")
	}
	if len(t) != 2 || t.RootName() != kind {
		return bad(fmt.Sprintf("; this is %s", traversalString(t)))
	}
	step, ok := t[1].(hcl.TraverseAttr)
	if !ok {
		return bad(fmt.Sprintf("; this is %s", traversalString(t)))
	}
	return ref{kind: kind, name: step.Name, rng: t.SourceRange()}, true
}

func traversalString(t hcl.Traversal) string {
	s := t.RootName()
	for _, step := range t[1:] {
		switch st := step.(type) {
		case hcl.TraverseAttr:
			s += "." + st.Name
		default:
			s += "[...]"
		}
	}
	return s
}

// undefined reports a reference to a name that is not declared.
func (l *loader) undefined(r ref, names []string) {
	l.errorf(r.rng, "Reference to undefined "+r.kind,
		"There is no %s %q in this plan.%s", r.kind, r.name, didYouMean(r.name, names))
}

// resolveReferences turns every reference into a pointer, reporting each
// undefined name with a suggestion.
func (l *loader) resolveReferences() {
	dcNames, hostNames, appNames := sortedKeys(l.datacenters), sortedKeys(l.hosts), sortedKeys(l.apps)
	host := func(r *ref) *Host {
		if r == nil {
			return nil
		}
		if hd, ok := l.hosts[r.name]; ok {
			return hd.h
		}
		l.undefined(*r, hostNames)
		return nil
	}
	app := func(r ref) *Application {
		if ad, ok := l.apps[r.name]; ok {
			return ad.a
		}
		l.undefined(r, appNames)
		return nil
	}
	for _, hd := range l.hostOrder {
		if hd.dc != nil {
			if dc, ok := l.datacenters[hd.dc.name]; ok {
				hd.h.Datacenter = dc
			} else {
				l.undefined(*hd.dc, dcNames)
			}
		}
		hd.h.Jump = host(hd.jump)
	}
	for _, ad := range l.appOrder {
		ad.a.Source = host(ad.src)
		ad.a.Target = host(ad.tgt)
		if ad.a.Rehearsal != nil {
			ad.a.Rehearsal.Target = host(ad.rehTgt)
		}
		for _, r := range ad.deps {
			if a := app(r); a != nil {
				ad.a.DependsOn = append(ad.a.DependsOn, a)
				ad.depRefs = append(ad.depRefs, r)
			}
		}
	}
	l.resolveHostRefs(host)
	for _, wd := range l.waves {
		for _, r := range wd.apps {
			if a := app(r); a != nil {
				wd.w.Applications = append(wd.w.Applications, a)
				wd.resolved = append(wd.resolved, r)
			}
		}
	}
}
