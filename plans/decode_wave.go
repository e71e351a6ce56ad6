package plans

import "github.com/hashicorp/hcl/v2"

// waveDecl is a wave with its application references not yet resolved.
type waveDecl struct {
	w        *Wave
	apps     []ref
	resolved []ref // parallel to w.Applications
}

func (l *loader) decodeWaveBlock(b *hcl.Block) *waveDecl {
	w := &Wave{Name: b.Labels[0], MaxParallel: 1, Range: b.DefRange}
	wd := &waveDecl{w: w}
	content, d := b.Body.Content(waveSchema)
	l.diags = append(l.diags, d...)
	if a := content.Attributes["applications"]; a != nil {
		wd.apps = l.refList(a, "application")
		seen := map[string]bool{}
		for _, r := range wd.apps {
			if seen[r.name] {
				l.errorf(r.rng, "Application listed twice", "Wave %q lists %s more than once.", w.Name, r)
			}
			seen[r.name] = true
		}
		if exprs, ed := hcl.ExprList(a.Expr); !ed.HasErrors() && len(exprs) == 0 {
			l.errorf(a.Expr.Range(), "Empty wave", "Wave %q lists no applications.", w.Name)
		}
	}
	if a := content.Attributes["max_parallel"]; a != nil {
		if n, ok := l.integer(a, "max_parallel"); ok {
			if n < 1 {
				l.errorf(a.Expr.Range(), "Invalid max_parallel", "Wave %q: max_parallel must be at least 1, got %d.", w.Name, n)
			}
			w.MaxParallel = n
		}
	}
	return wd
}
