package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"
)

// CleanupRehearsal removes each re-rooted copy target and the move's state
// directory beside it, then the directories up to (not including) the
// root that this left empty. It refuses any path outside the root and any
// path reached through a symlink, and never follows one: a symlink inside
// a removed tree is removed as a link. Missing paths count as removed, so
// a retry after a partial cleanup finishes it.
func (a *Activities) CleanupRehearsal(ctx context.Context, in CleanupInput) (CleanupResult, error) {
	var res CleanupResult
	root := path.Clean(in.Root)
	if !path.IsAbs(root) || root == "/" {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("rehearsal cleanup on %s: root %q is not an absolute scratch directory; nothing removed", in.Host.Name, in.Root), "CleanupRefused", nil)
	}
	conn, err := a.dial(ctx, in.Host)
	if err != nil {
		return res, dialFailure(err)
	}
	defer conn.Close()
	cl, err := conn.SFTP()
	if err != nil {
		return res, fmt.Errorf("rehearsal cleanup: open SFTP on %s: %w", in.Host.Name, err)
	}
	var trees []string
	for _, t := range in.Targets {
		trees = append(trees, path.Clean(t), path.Join(path.Dir(path.Clean(t)), stateDirName, sanitizeName(in.MoveID)))
	}
	for _, p := range trees {
		if err := confined(cl, root, p); err != nil {
			return res, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("rehearsal cleanup on %s refused %s: %v; nothing outside %s is removed, remove it by hand", in.Host.Name, p, err, root), "CleanupRefused", nil)
		}
		n, err := removeTree(ctx, cl, p)
		res.Entries += n
		if err != nil {
			return res, fmt.Errorf("rehearsal cleanup on %s: remove %s: %w", in.Host.Name, p, err)
		}
		if n > 0 {
			res.Removed = append(res.Removed, p)
		}
	}
	for _, p := range trees {
		res.Pruned = append(res.Pruned, pruneEmpty(cl, root, path.Dir(p))...)
	}
	// The rehearsal's verified identities live outside root, in the SSH
	// user's private state directory; removed only when that passes its
	// checks (copy_ident_trust.go).
	if l, err := identStateLoc(cl, a.IdentStateDir, in.MoveID, ""); err == nil {
		if _, err := checkStateDir(cl, l, false); err == nil {
			n, err := removeTree(ctx, cl, l.dir())
			res.Entries += n
			if err != nil {
				return res, fmt.Errorf("rehearsal cleanup on %s: remove %s: %w", in.Host.Name, l.dir(), err)
			}
			if n > 0 {
				res.Removed = append(res.Removed, l.dir())
			}
		}
	}
	return res, nil
}

// confined checks that p lies strictly under root and that neither root
// nor any directory between them is a symlink.
func confined(cl *sftp.Client, root, p string) error {
	rel, ok := strings.CutPrefix(p, root+"/")
	if !ok || rel == "" || strings.HasPrefix(rel, "../") || rel == ".." {
		return fmt.Errorf("it is not under the scratch root %s", root)
	}
	cur := root
	for _, el := range append([]string{""}, strings.Split(path.Dir(rel), "/")...) {
		if el == "." {
			continue
		}
		cur = path.Join(cur, el)
		fi, err := cl.Lstat(cur)
		if errors.Is(err, os.ErrNotExist) {
			return nil // nothing below exists
		}
		if err != nil {
			return fmt.Errorf("stat %s: %w", cur, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() {
			return fmt.Errorf("%s is a %s, not a directory; umzug does not remove through it", cur, kindName(fi.Mode()))
		}
	}
	return nil
}

// removeTree removes p and everything below it without following
// symlinks; a missing p removes nothing.
func removeTree(ctx context.Context, cl *sftp.Client, p string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	fi, err := cl.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int64
	if fi.IsDir() {
		entries, err := cl.ReadDir(p)
		if err != nil {
			return 0, err
		}
		for _, e := range entries {
			k, err := removeTree(ctx, cl, path.Join(p, e.Name()))
			n += k
			if err != nil {
				return n, err
			}
		}
		if err := cl.RemoveDirectory(p); err != nil {
			return n, err
		}
		return n + 1, nil
	}
	if err := cl.Remove(p); err != nil {
		return n, err
	}
	return 1, nil
}

// pruneEmpty removes dir and its parents while they are empty, stopping
// below root.
func pruneEmpty(cl *sftp.Client, root, dir string) []string {
	var pruned []string
	for strings.HasPrefix(dir, root+"/") {
		entries, err := cl.ReadDir(dir)
		if err != nil || len(entries) > 0 || cl.RemoveDirectory(dir) != nil {
			break
		}
		pruned = append(pruned, dir)
		dir = path.Dir(dir)
	}
	return pruned
}
