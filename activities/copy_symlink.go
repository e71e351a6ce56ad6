package activities

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// maxLinkHops bounds the symlinks followed while resolving one link, as
// the kernel's ELOOP limit does.
const maxLinkHops = 40

// symlinkEntry copies a symlink as a link after checking that it cannot
// lead out of the tree: its target is resolved against the source tree,
// following the links met on the way (see linkResolver).
func (e *engine) symlinkEntry(rel string, fi, old os.FileInfo) error {
	target, err := e.src.primary.ReadLink(e.srcPath(rel))
	if err != nil {
		if now, lerr := e.src.primary.Lstat(e.srcPath(rel)); lerr == nil && now.Mode()&fs.ModeSymlink == 0 {
			e.refuse(rel, RefusalChanged, "listed as a symlink, now a "+kindName(now.Mode()))
			return nil
		}
		return e.refuseErr(rel, err, "read symlink")
	}
	e.links.learn(rel, target)
	if why := e.links.escapes(rel, target); why != "" {
		e.refuse(rel, RefusalEscapingSymlink, why)
		return nil
	}
	e.symlinks.Add(1)
	if e.opt.dry {
		return nil
	}
	cl := e.dst.primary
	p := e.dstPath(rel)
	if old != nil && old.Mode()&fs.ModeSymlink != 0 {
		if cur, err := cl.ReadLink(p); err == nil && cur == target {
			e.man.add(manifestOf(rel, fi, "", target))
			return nil
		}
	}
	if old != nil && old.IsDir() {
		if ok, err := e.replaceDir(rel, fi, old); err != nil || !ok {
			return err
		}
	}
	e.markParentDirty(rel)
	tmp := tmpName(p)
	if err := cl.Symlink(target, tmp); err != nil {
		return fmt.Errorf("create symlink %s on %s: %w", tmp, e.dst.name, err)
	}
	if err := renameReplace(cl, tmp, p); err != nil {
		_ = cl.Remove(tmp)
		return fmt.Errorf("place symlink on %s: %w", e.dst.name, err)
	}
	e.man.add(manifestOf(rel, fi, "", target))
	return nil
}

// linkResolver decides whether a symlink's target stays inside the copy
// root. A lexical check is not enough: in "u -> ../../.." followed by
// "esc -> u/../../etc/passwd" each target looks harmless on its own, yet
// esc leaves the tree. The resolver walks the target component by
// component like the kernel does, substituting every symlink it meets
// (targets read by the walk, or read on the source when not yet seen).
// Components that do not exist, are excluded, or are not directories are
// taken lexically (as if they were directories), the stricter reading:
// the target may hold a directory under such a name later.
//
// Only the walk goroutine uses it; the cache holds the entries on paths
// that symlinks lead through, not the whole tree.
type linkResolver struct {
	e     *engine
	nodes map[string]linkNode // rel → what the source has there
	// The directory being visited and its listing (sorted by name): most
	// links point at siblings or ancestors, which then cost no round trip.
	dir  string
	ents []os.FileInfo
}

type linkNode struct {
	link   bool
	target string
}

func newLinkResolver(e *engine) *linkResolver {
	return &linkResolver{e: e, nodes: map[string]linkNode{}}
}

// learn records a link target the walk read.
func (r *linkResolver) learn(rel, target string) {
	r.nodes[rel] = linkNode{link: true, target: target}
}

// enter tells the resolver which directory the walk visits now.
func (r *linkResolver) enter(dir string, sorted []os.FileInfo) { r.dir, r.ents = dir, sorted }

// listed answers from the current directory's listing: ok is false when
// rel is neither in it nor one of its ancestors.
func (r *linkResolver) listed(rel string) (fi os.FileInfo, ok bool) {
	if rel == r.dir || strings.HasPrefix(r.dir, rel+"/") {
		return nil, true // an ancestor of a listed directory is a directory
	}
	d, name := path.Split(rel)
	if strings.TrimSuffix(d, "/") != r.dir {
		return nil, false
	}
	i := sort.Search(len(r.ents), func(i int) bool { return r.ents[i].Name() >= name })
	if i < len(r.ents) && r.ents[i].Name() == name {
		return r.ents[i], true
	}
	return nil, true // not there
}

// lookup says whether the source tree holds a symlink at rel; anything
// else (directory, file, missing, excluded, unreadable) is taken lexically.
func (r *linkResolver) lookup(rel string) linkNode {
	if n, ok := r.nodes[rel]; ok {
		return n
	}
	var n linkNode
	if r.e.filter.Excluded(rel, true) {
		return n
	}
	fi, ok := r.listed(rel)
	if !ok {
		fi, _ = r.e.src.primary.Lstat(r.e.srcPath(rel))
	}
	if fi != nil && fi.Mode()&fs.ModeSymlink != 0 {
		if t, err := r.e.src.primary.ReadLink(r.e.srcPath(rel)); err == nil {
			n = linkNode{link: true, target: t}
		}
	}
	if n.link || !ok {
		r.nodes[rel] = n // listings come and go; remote answers are kept
	}
	return n
}

// escapes returns why the symlink at rel with the given target leads
// outside the copy root, or "" when it stays inside.
func (r *linkResolver) escapes(rel, target string) string {
	if path.IsAbs(target) {
		return fmt.Sprintf("symlink to absolute path %q is not copied (it would point outside the copy on the target)", target)
	}
	dir := splitRel(path.Dir(rel))
	pending := splitRel(target)
	hops := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		if c == ".." {
			if len(dir) == 0 {
				return fmt.Sprintf("symlink target %q leaves the copy root", target)
			}
			dir = dir[:len(dir)-1]
			continue
		}
		cur := strings.Join(append(dir[:len(dir):len(dir)], c), "/")
		n := r.lookup(cur)
		switch {
		case n.link:
			if hops++; hops > maxLinkHops {
				return fmt.Sprintf("symlink target %q passes more than %d symlinks", target, maxLinkHops)
			}
			if path.IsAbs(n.target) {
				return fmt.Sprintf("symlink target %q leads through %s, a symlink to the absolute path %q", target, cur, n.target)
			}
			pending = append(splitRel(n.target), pending...)
		default:
			dir = append(dir, c)
		}
	}
	return ""
}

// splitRel splits a slash path into its components without "" and ".".
func splitRel(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}
