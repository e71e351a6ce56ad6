package plans

import (
	"fmt"
	"path"

	"github.com/hashicorp/hcl/v2"
)

// appDecl is an application with its references not yet resolved.
type appDecl struct {
	a        *Application
	src, tgt *ref
	deps     []ref
	depRefs  []ref // the deps that resolved, parallel to a.DependsOn
	// copyRanges and cutover body facts for the cross checks.
	hasCutover bool
	rehTgt     *ref // the rehearsal block's target, if given
}

func (l *loader) decodeApplicationBlock(b *hcl.Block) *appDecl {
	app := &Application{Name: b.Labels[0], Range: b.DefRange}
	ad := &appDecl{a: app}
	content, d := b.Body.Content(applicationSchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes

	app.Description, _ = l.str(attrs["description"], "description")
	if a := attrs["source"]; a != nil {
		ad.src = l.singleRef(a, "host")
	}
	if a := attrs["target"]; a != nil {
		ad.tgt = l.singleRef(a, "host")
	}
	if a := attrs["depends_on"]; a != nil {
		ad.deps = l.refList(a, "application")
		seen := map[string]bool{}
		for _, r := range ad.deps {
			if seen[r.name] {
				l.errorf(r.rng, "Duplicate dependency", "%s is listed twice in depends_on.", r)
			}
			seen[r.name] = true
		}
	}
	if a := attrs["soak"]; a != nil {
		app.Soak, _ = l.duration(a, "soak")
	}

	copyNames := map[string]hcl.Range{}
	var cutovers, extra []*hcl.Block
	for _, cb := range content.Blocks {
		switch cb.Type {
		case "copy":
			name := cb.Labels[0]
			if prev, dup := copyNames[name]; dup {
				l.errorf(cb.LabelRanges[0], fmt.Sprintf("Duplicate copy %q", name),
					"Application %q already has a copy %q at %s.", app.Name, name, shortRange(prev))
				continue
			}
			copyNames[name] = cb.DefRange
			app.Copies = append(app.Copies, l.decodeCopyBlock(cb))
		case "cutover":
			cutovers = append(cutovers, cb)
		case "rehearsal", "failback":
			extra = append(extra, cb)
		case "standby":
			l.decodeStandbyBlock(cb, app)
		case "emergency":
			l.decodeEmergencyBlock(cb, app)
		case "offload":
			l.decodeOffloadBlock(cb, app)
		}
	}
	for i, cb := range cutovers {
		if i > 0 {
			l.errorf(cb.DefRange, "Duplicate cutover block",
				"Application %q already has a cutover block at %s; put all steps in one.", app.Name, shortRange(cutovers[0].DefRange))
			continue
		}
		app.Cutover = l.decodeCutoverBlock(cb, app)
		ad.hasCutover = true
	}
	l.decodeRehearsalAndFailback(extra, ad)
	return ad
}

func (l *loader) decodeCopyBlock(b *hcl.Block) *Copy {
	c := &Copy{Name: b.Labels[0], Verify: "sha256", Range: b.DefRange}
	content, d := b.Body.Content(copySchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes

	absPath := func(name string) string {
		a := attrs[name]
		s, ok := l.str(a, name)
		if !ok {
			return ""
		}
		if !path.IsAbs(s) {
			l.errorf(a.Expr.Range(), "Relative path",
				"copy %q: %s = %q is not absolute; write the full path starting with \"/\", because relative paths depend on the SSH login directory.",
				c.Name, name, s)
		} else if path.Clean(s) != s && path.Clean(s)+"/" != s {
			l.warnf(a.Expr.Range(), "Unclean path", "copy %q: %s = %q is read as %q.", c.Name, name, s, path.Clean(s))
		}
		return s
	}
	c.From = absPath("from")
	c.To = absPath("to")
	if a := attrs["to"]; a != nil {
		c.toRange = a.Expr.Range()
	}
	c.Exclude, _ = l.strList(attrs["exclude"], "exclude")
	c.Include, _ = l.strList(attrs["include"], "include")
	l.checkPatterns(attrs["exclude"], c.Name, "exclude", c.Exclude)
	l.checkPatterns(attrs["include"], c.Name, "include", c.Include)
	if v := l.copyVerify(attrs["verify"], c.Name); v != "" {
		c.Verify = v
	}
	c.Delete, _ = l.boolean(attrs["delete"], "delete")
	if a := attrs["bandwidth"]; a != nil {
		if s, ok := l.str(a, "bandwidth"); ok {
			bw, err := parseBandwidth(s)
			if err != nil {
				l.errorf(a.Expr.Range(), "Invalid bandwidth", "copy %q: %v.", c.Name, err)
			}
			c.Bandwidth = bw
		}
	}
	if a := attrs["concurrency"]; a != nil {
		if n, ok := l.integer(a, "concurrency"); ok {
			if n < 1 || n > 256 {
				l.errorf(a.Expr.Range(), "Invalid concurrency",
					"copy %q: concurrency is the number of files in flight, from 1 to 256; got %d. Remove it for the default.", c.Name, n)
			}
			c.Concurrency = n
		}
	}
	if a := attrs["source"]; a != nil {
		if r := l.singleRef(a, "host"); r != nil {
			l.copyRefs = append(l.copyRefs, copyRef{c: c, r: *r, source: true})
		}
	}
	if a := attrs["target"]; a != nil {
		if r := l.singleRef(a, "host"); r != nil {
			l.copyRefs = append(l.copyRefs, copyRef{c: c, r: *r})
		}
	}
	c.AcceptRefusals = l.acceptRefusals(attrs["accept_refusals"], c.Name)
	if a := attrs["rehash"]; a != nil {
		if s, ok := l.str(a, "rehash"); ok {
			if s != "after_switch" {
				l.errorf(a.Expr.Range(), "Invalid rehash",
					"copy %q: rehash must be \"after_switch\" (hash every file again during soak, after the switch), not %q; remove it to keep the digests verified in the window.", c.Name, s)
			}
			c.Rehash = s
		}
	}
	l.decodeOwners(attrs, c)
	return c
}

// checkPatterns reports the globs of a copy's include or exclude list
// that cannot match.
func (l *loader) checkPatterns(a *hcl.Attribute, copyName, attr string, list []string) {
	if a == nil {
		return
	}
	for _, p := range list {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			l.errorf(a.Expr.Range(), "Invalid pattern", "copy %q: %s pattern %q is not a valid glob.", copyName, attr, p)
		}
	}
}

// copyVerify decodes a copy's verify ("" when absent or not a string):
// sha256, or size_mtime with a warning that it proves no content.
func (l *loader) copyVerify(a *hcl.Attribute, copyName string) string {
	if a == nil {
		return ""
	}
	s, ok := l.str(a, "verify")
	if !ok {
		return ""
	}
	switch s {
	case "sha256":
	case "size_mtime":
		l.warnf(a.Expr.Range(), "Weak verification",
			"copy %q: verify = \"size_mtime\" does not prove content; use it for rehearsals and \"sha256\" for the real move.", copyName)
	default:
		l.errorf(a.Expr.Range(), "Invalid verify", "copy %q: verify must be \"sha256\" or \"size_mtime\", not %q.%s",
			copyName, s, didYouMean(s, []string{"sha256", "size_mtime"}))
	}
	return s
}
