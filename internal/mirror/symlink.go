package mirror

import (
	"fmt"
	"path"
	"strings"
)

// maxLinkHops bounds the symlinks followed while resolving one link, as
// the kernel's ELOOP limit does.
const maxLinkHops = 40

// linkEscapes returns why the symlink at rel with target leads outside the
// copy root, or "". As in the SFTP engine, the target is resolved
// component by component like the kernel does, substituting every source
// symlink met on the way (links holds them all, the walk being complete),
// so "u -> ../../.." and "esc -> u/../../etc" are both caught. Other
// components are taken lexically, as if directories: the stricter
// reading, since the target may hold a directory there later.
func linkEscapes(links map[string]string, rel, target string) string {
	if path.IsAbs(target) {
		return fmt.Sprintf("symlink to absolute path %q is not copied (it would point outside the copy on the target)", target)
	}
	dir := splitComps(path.Dir(rel))
	pending := splitComps(target)
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
		t, isLink := links[cur]
		if !isLink {
			dir = append(dir, c)
			continue
		}
		if hops++; hops > maxLinkHops {
			return fmt.Sprintf("symlink target %q passes more than %d symlinks", target, maxLinkHops)
		}
		if path.IsAbs(t) {
			return fmt.Sprintf("symlink target %q leads through %s, a symlink to the absolute path %q", target, cur, t)
		}
		pending = append(splitComps(t), pending...)
	}
	return ""
}

// splitComps splits a slash path into its components without "" and ".".
func splitComps(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}
