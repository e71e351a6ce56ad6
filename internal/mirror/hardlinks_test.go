package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

func statT(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	noErr(t, syscall.Lstat(p, &st))
	return &st
}

// linked fails unless the names are one inode with exactly that many links.
func linked(t *testing.T, root string, nlink uint64, names ...string) {
	t.Helper()
	first := statT(t, filepath.Join(root, names[0]))
	if uint64(first.Nlink) != nlink {
		t.Errorf("%s/%s: %d links, want %d", root, names[0], first.Nlink, nlink)
	}
	for _, n := range names[1:] {
		if st := statT(t, filepath.Join(root, n)); st.Ino != first.Ino {
			t.Errorf("%s/%s (inode %d) is not a hard link of %s (inode %d)", root, n, st.Ino, names[0], first.Ino)
		}
	}
}

func linkTree(t *testing.T, e *env) {
	write(t, filepath.Join(e.src, "a"), "group one", 0640)
	write(t, filepath.Join(e.src, "p"), "plain", 0644)
	write(t, filepath.Join(e.src, "r"), "plain", 0644)
	write(t, filepath.Join(e.src, "x"), "group two", 0600)
	noErr(t, os.MkdirAll(filepath.Join(e.src, "dir/sub"), 0755))
	noErr(t, os.Link(filepath.Join(e.src, "a"), filepath.Join(e.src, "dir/b")))
	noErr(t, os.Link(filepath.Join(e.src, "a"), filepath.Join(e.src, "dir/sub/c")))
	noErr(t, os.Link(filepath.Join(e.src, "x"), filepath.Join(e.src, "y")))
	for _, p := range []string{"a", "p", "r", "x"} {
		setMtime(t, filepath.Join(e.src, p), t0)
	}
}

func TestHardLinkGroupsStayLinked(t *testing.T) {
	e := newEnv(t)
	linkTree(t, e)
	res, _, _, err := e.run(baseSpec(contract.PhaseSeed))
	noErr(t, err)
	sameTree(t, e.src, e.dst)
	linked(t, e.dst, 3, "a", "dir/b", "dir/sub/c")
	linked(t, e.dst, 2, "x", "y")
	linked(t, e.dst, 1, "p")
	want(t, "files", res.Files, 7)
	want(t, "verified", res.Verified, 7)
	want(t, "copied files", res.CopiedFiles, 7) // 4 by their bytes, 3 as links
	want(t, "copied bytes", res.CopiedBytes, int64(len("group one")+2*len("plain")+len("group two")))

	// The final sync trusts the state: the groups are verified by inode.
	res, src, _, err := e.run(baseSpec(contract.PhaseFinalSync))
	noErr(t, err)
	want(t, "copied", res.CopiedFiles, 0)
	want(t, "verified", res.Verified, 7)
	want(t, "source reads", src.reads.Load()+src.hashes.Load(), 0)
	linked(t, e.dst, 3, "a", "dir/b", "dir/sub/c")
}

func TestHardLinkAddedAndBrokenBeforeFinalSync(t *testing.T) {
	e := newEnv(t)
	linkTree(t, e)
	_, _, _, err := e.run(baseSpec(contract.PhaseSeed))
	noErr(t, err)
	// Broken: c becomes a file of its own with the same bytes and mtime.
	c := filepath.Join(e.src, "dir/sub/c")
	noErr(t, os.Remove(c))
	write(t, c, "group one", 0640)
	setMtime(t, c, t0)
	// Added: r becomes a second name of p (same bytes and mtime before).
	noErr(t, os.Remove(filepath.Join(e.src, "r")))
	noErr(t, os.Link(filepath.Join(e.src, "p"), filepath.Join(e.src, "r")))
	res, _, _, err := e.run(baseSpec(contract.PhaseFinalSync))
	noErr(t, err)
	sameTree(t, e.src, e.dst)
	linked(t, e.dst, 2, "a", "dir/b")
	linked(t, e.dst, 1, "dir/sub/c")
	linked(t, e.dst, 2, "p", "r")
	want(t, "refused", res.Refused, 0)
}

// A target file that is a hard link to a file outside the target tree is
// written anew: a chmod of it would reach the outside file.
func TestHostileTargetHardLinkIsNotWrittenThrough(t *testing.T) {
	e := newEnv(t)
	write(t, filepath.Join(e.src, "a"), "same bytes", 0644)
	setMtime(t, filepath.Join(e.src, "a"), t0)
	outside := filepath.Join(e.base, "shadow")
	write(t, outside, "same bytes", 0600)
	setMtime(t, outside, t0)
	noErr(t, os.Link(outside, filepath.Join(e.dst, "a")))
	_, _, _, err := e.run(baseSpec(contract.PhaseSeed))
	noErr(t, err)
	sameTree(t, e.src, e.dst)
	st := statT(t, outside)
	if st.Mode&0o7777 != 0o600 || st.Nlink != 1 {
		t.Fatalf("the outside file has mode %o and %d links after the copy, want 0600 and 1: the copy wrote through the target's hard link", st.Mode&0o7777, st.Nlink)
	}
	if b, _ := os.ReadFile(outside); string(b) != "same bytes" {
		t.Fatalf("outside file now holds %q", b)
	}
}

// A target that makes no hard links refuses further names as metadata.
func TestHardLinkTargetWithoutLinksRefusesMetadata(t *testing.T) {
	e := newEnv(t)
	linkTree(t, e)
	src, dst := e.sides()
	noLink := struct{ Side }{dst.Side} // hides Link
	res, err := Run(t.Context(), baseSpec(contract.PhaseSeed), src, noLink, Options{NoSync: true}, nil)
	var re *RefusedError
	if !errors.As(err, &re) || len(re.Kinds) != 1 || re.Kinds[0] != contract.RefusalMetadata {
		t.Fatalf("run: %v, want a metadata refusal", err)
	}
	want(t, "refused", res.Refused, 3)
	spec := baseSpec(contract.PhaseSeed)
	spec.AcceptRefusals = []string{contract.RefusalMetadata}
	if _, err := Run(t.Context(), spec, src, noLink, Options{NoSync: true}, nil); err != nil {
		t.Fatalf("accepted: %v", err)
	}
}

func (c *counting) Link(ctx context.Context, oldRel, newRel string, want rootfs.Identity) (rootfs.Info, error) {
	return c.Side.(Linker).Link(ctx, oldRel, newRel, want)
}

func (c *counting) FirstHole(ctx context.Context, rel string, want rootfs.Identity) (int64, error) {
	return c.Side.(HoleFinder).FirstHole(ctx, rel, want)
}

// refusingLinks is a target whose file system refuses every hard link.
type refusingLinks struct{ Side }

func (refusingLinks) Link(_ context.Context, oldRel, newRel string, _ rootfs.Identity) (rootfs.Info, error) {
	return rootfs.Info{}, fmt.Errorf("link %s to %s: %w: %w", newRel, oldRel, rootfs.ErrCannotLink, syscall.EXDEV)
}

// A link the target's file system refuses is a metadata refusal naming
// the link, the rest is copied; accepted, the run succeeds.
func TestHardLinkRefusedByTargetFileSystem(t *testing.T) {
	e := newEnv(t)
	linkTree(t, e)
	src, dst := e.sides()
	res, err := Run(t.Context(), baseSpec(contract.PhaseSeed), src, refusingLinks{dst.Side}, Options{NoSync: true}, nil)
	var re *RefusedError
	if !errors.As(err, &re) || re.Kinds[0] != contract.RefusalMetadata || !strings.Contains(err.Error(), "cross-device") {
		t.Fatalf("run: %v, want a metadata refusal that says why", err)
	}
	want(t, "refused", res.RefusedByKind[contract.RefusalMetadata], 3)
	want(t, "copied", res.CopiedFiles, 4)
	want(t, "files", res.Files, 4)
}

// A target file linked to a name the set excludes is outside the set too:
// written anew, the excluded name keeps its mode.
func TestTargetHardLinkToExcludedNameIsNotWrittenThrough(t *testing.T) {
	e := newEnv(t)
	write(t, filepath.Join(e.src, "a"), "same bytes", 0o644)
	setMtime(t, filepath.Join(e.src, "a"), t0)
	noErr(t, os.Link(filepath.Join(e.src, "a"), filepath.Join(e.src, "b")))
	write(t, filepath.Join(e.dst, "keep.log"), "same bytes", 0o600)
	setMtime(t, filepath.Join(e.dst, "keep.log"), t0)
	noErr(t, os.Link(filepath.Join(e.dst, "keep.log"), filepath.Join(e.dst, "a")))
	spec := baseSpec(contract.PhaseSeed)
	spec.Exclude = []string{"*.log"}
	_, _, _, err := e.run(spec)
	noErr(t, err)
	if st := statT(t, filepath.Join(e.dst, "keep.log")); st.Mode&0o7777 != 0o600 || st.Nlink != 1 {
		t.Fatalf("excluded keep.log: mode %o, %d links; want 0600 and 1", st.Mode&0o7777, st.Nlink)
	}
	linked(t, e.dst, 2, "a", "b")
}
