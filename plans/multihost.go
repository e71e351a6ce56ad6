package plans

import (
	"github.com/hashicorp/hcl/v2"
)

// Applications that span several hosts: a copy set may name its own
// source and target, and a step, undo or check may run on any host of
// the plan (on = host.NAME).

// onRef is a block's `on = host.NAME`, resolved into Block.OnHost.
type onRef struct {
	blk *Block
	r   ref
}

// copyRef is a copy set's `source` or `target`, resolved into Copy.Source
// or Copy.Target.
type copyRef struct {
	c      *Copy
	r      ref
	source bool
}

// hostTraversal reads an expression written as host.NAME; ok is false
// for anything else (a string such as "source" is read by the caller).
func hostTraversal(expr hcl.Expression) (ref, bool) {
	t, d := hcl.AbsTraversalForExpr(expr)
	if d.HasErrors() || len(t) != 2 || t.RootName() != "host" {
		return ref{}, false
	}
	step, ok := t[1].(hcl.TraverseAttr)
	if !ok {
		return ref{}, false
	}
	return ref{kind: "host", name: step.Name, rng: t.SourceRange()}, true
}

// resolveHostRefs resolves the host references of blocks and copy sets
// with host, which reports an undefined name where it is written.
func (l *loader) resolveHostRefs(host func(*ref) *Host) {
	for _, o := range l.onRefs {
		o.blk.OnHost = host(&o.r)
	}
	for _, c := range l.copyRefs {
		h := host(&c.r)
		if c.source {
			c.c.Source = h
		} else {
			c.c.Target = h
		}
	}
}

// CopySource is the host copy set c reads from: its own source, else the
// application's.
func (a *Application) CopySource(c *Copy) *Host {
	if c.Source != nil {
		return c.Source
	}
	return a.Source
}

// CopyTarget is the host copy set c writes to: its own target, else the
// application's.
func (a *Application) CopyTarget(c *Copy) *Host {
	if c.Target != nil {
		return c.Target
	}
	return a.Target
}

// BlockHost is the host a step, undo or check runs on (nil for a
// final_sync or an unresolved reference).
func (a *Application) BlockHost(b *Block) *Host {
	switch {
	case b.Kind == KindFinalSync:
		return nil
	case b.On == "source":
		return a.Source
	case b.On == "target":
		return a.Target
	}
	return b.OnHost
}

// Hosts lists every host a move of the application touches, each once:
// its source and target, the copy sets' hosts and the hosts steps,
// undos and checks run on (cutover and failback), in that order.
func (a *Application) Hosts() []*Host {
	var out []*Host
	seen := map[*Host]bool{}
	add := func(h *Host) {
		if h != nil && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	add(a.Source)
	add(a.Target)
	for _, c := range a.Copies {
		add(a.CopySource(c))
		add(a.CopyTarget(c))
	}
	if a.Cutover != nil {
		for _, b := range a.Cutover.Blocks {
			add(b.OnHost)
		}
	}
	if a.Failback != nil {
		for _, b := range a.Failback.Blocks {
			add(b.OnHost)
		}
	}
	return out
}

// MultiHost reports whether the application touches hosts besides its
// source and target.
func (a *Application) MultiHost() bool { return len(a.Hosts()) > 2 }

// checkCopyHosts refuses a copy set whose own source and target are one
// host.
func (l *loader) checkCopyHosts(a *Application) {
	for _, c := range a.Copies {
		s, t := a.CopySource(c), a.CopyTarget(c)
		if s != nil && s == t {
			l.errorf(c.Range, "Copy source equals target",
				"copy %q of application %q copies from host.%s to host.%s: a copy set's source and target must be different hosts; set its own source or target.",
				c.Name, a.Name, s.Name, t.Name)
		}
	}
}
