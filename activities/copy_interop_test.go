//go:build interop

package activities

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"

	"github.com/umzug-dev/umzug/activities/contract"
)

const interopUser = realsshd.CIUser

// unprivilegedUser returns the uid and gid of interopUser, creating the account
// when running as root, or skips with the reason.
func unprivilegedUser(t *testing.T) (int, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to give %s a tree it cannot fully read", realsshd.CIUser)
	}
	uid, gid, err := realsshd.EnsureUser(realsshd.CIUser)
	if err != nil {
		t.Fatal(err)
	}
	return uid, gid
}

// nonRootCopy starts real OpenSSH for interopUser and returns a copy
// input from src to dst under a fresh directory that user can traverse
// (the target's parent is the user's).
func nonRootCopy(t *testing.T) (in CopyInput, src, dst string) {
	t.Helper()
	if err := realsshd.Available(); err != nil {
		t.Fatal(err)
	}
	uid, gid := unprivilegedUser(t)
	base, err := os.MkdirTemp("", "umzug-interop-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	daemons := testkit.StartRealSSHD(t, base, realsshd.Options{User: interopUser})
	s := daemons.Servers[0]
	host := Host{Name: "old-dc", Address: s.Addr, User: interopUser, IdentityFile: daemons.Key, KnownHosts: daemons.KnownHosts}
	src, dst = filepath.Join(base, "src", "payroll"), filepath.Join(base, "dst", "payroll")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(base, "src"), 0o755)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Dir(dst), uid, gid); err != nil {
		t.Fatal(err)
	}
	in = CopyInput{MoveID: "umzug/interop/payroll", Phase: PhaseSeed, Source: host, Target: host,
		Set: CopySet{Name: "payroll", From: src, To: dst, Verify: VerifySHA256,
			// root's files copied by a non-root login cannot keep their
			// owner: the agent engine says so (metadata), these tests
			// are about other things.
			AcceptRefusals: []string{RefusalMetadata}}}
	return in, src, dst
}

// TestCopyTreeInteropNonRootUnreadable copies, as a non-root SSH user
// against real OpenSSH, a tree holding a directory and a file that user
// cannot read: the copy must fail and name both, not succeed without them.
func TestCopyTreeInteropNonRootUnreadable(t *testing.T) {
	in, src, dst := nonRootCopy(t)
	mt := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(src, "2025", "nov.csv"), []byte("nov"), 0o644, mt)
	writeFile(t, filepath.Join(src, "payroll-2026", "dec.csv"), []byte("dec"), 0o644, mt)
	writeFile(t, filepath.Join(src, "bonus.csv"), []byte("bonus"), 0o600, mt)
	os.Chmod(filepath.Join(src, "2025"), 0o755)
	if err := os.Chmod(filepath.Join(src, "payroll-2026"), 0o700); err != nil {
		t.Fatal(err)
	}
	a := &Activities{AgentDir: agentBinDir(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := a.CopyTree(ctx, in)
	res := wantCopyError(t, err, contract.ErrCopyRefused, true, `"payroll-2026" (unreadable`, `"bonus.csv" (unreadable`, `accept_refusals = ["unreadable"]`)
	if res.RefusedByKind[RefusalUnreadable] != 2 {
		t.Errorf("refused by kind %v, want 2 unreadable", res.RefusedByKind)
	}
	// Everything readable was copied, and no entry was refused as changed:
	// real paths, listings and open handles agree on a tree that holds still.
	if b, err := os.ReadFile(filepath.Join(dst, "2025", "nov.csv")); err != nil || string(b) != "nov" {
		t.Errorf("readable file: %q %v", b, err)
	}
	if res.RefusedByKind[RefusalChanged] != 0 {
		t.Errorf("refused as changed on a still tree: %+v", res.RefusalList)
	}

	// Accepted explicitly, the copy succeeds and lists what it left out.
	in.Set.AcceptRefusals = []string{RefusalUnreadable, RefusalMetadata}
	res, err = a.CopyTree(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, res, "payroll-2026", RefusalUnreadable, true)
	wantRefusal(t, res, "bonus.csv", RefusalUnreadable, true)
}

// TestCopyTreeInteropSwapsAfterListing swaps, against real OpenSSH, a file
// and a directory for symlinks to a world-readable secret outside the tree
// right after they were listed: nothing of it may reach the target.
func TestCopyTreeInteropSwapsAfterListing(t *testing.T) {
	in, src, dst := nonRootCopy(t)
	mt := time.Unix(1700000000, 0)
	outside := filepath.Join(filepath.Dir(filepath.Dir(src)), "outside")
	writeFile(t, filepath.Join(outside, "secret"), secretBytes, 0o644, mt)
	os.Chmod(outside, 0o755)
	writeFile(t, filepath.Join(src, "a.txt"), []byte("listed file"), 0o644, mt)
	writeFile(t, filepath.Join(src, "d", "f.txt"), []byte("listed dir"), 0o644, mt)
	os.Chmod(filepath.Join(src, "d"), 0o755)
	a := &Activities{AgentDir: agentBinDir(t)}
	a.hooks.afterList = func(rel string) {
		if rel == "" {
			swapForLink(t, filepath.Join(src, "d"), outside)
		}
	}
	a.hooks.beforeCopy = func(rel string) {
		if rel == "a.txt" {
			swapForLink(t, filepath.Join(src, "a.txt"), filepath.Join(outside, "secret"))
		}
	}
	in.Phase = PhaseFinalSync
	_, err := a.CopyTree(context.Background(), in)
	res := wantCopyError(t, err, contract.ErrCopyChanged, false, `"a.txt"`, `"d"`)
	wantRefusal(t, res, "a.txt", RefusalChanged, false)
	wantRefusal(t, res, "d", RefusalChanged, false)
	noForeignBytes(t, filepath.Dir(dst), secretBytes)
}

// TestCopyBatchInteropNonRoot sends small files in tar batches between
// real OpenSSH daemons as a non-root user: the tree arrives whole with its
// modes; a file the user cannot read makes its batch fall back to SFTP,
// which refuses that file and copies the rest.
func TestCopyBatchInteropNonRoot(t *testing.T) {
	in, src, dst := nonRootCopy(t)
	buildSmallFiles(t, src, 200)
	for _, d := range []string{"small", "small/d00", "small/d01", "small/d02", "small/d03", "small/d04", "small/d05", "small/d06"} {
		os.Chmod(filepath.Join(src, d), 0o755)
	}
	// The user reads only what others may read: 0600 and 0640 files are
	// root's; make them readable except one.
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, _ := d.Info()
			os.Chmod(p, fi.Mode().Perm()|0o004)
		}
		return nil
	})
	a := &Activities{CopyEngine: CopyEngineClassic} // tar batches are the classic engine's
	a.hooks.batchMin = testBatchMin
	var placed sync.Map
	a.hooks.afterBatch = func(rels []string) {
		for _, r := range rels {
			placed.Store(r, true)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := a.CopyTree(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(&placed); n < 150 || res.CopiedFiles != 201 {
		t.Errorf("batches placed %d, copied %d; want most of 201 in batches", n, res.CopiedFiles)
	}
	wantExactTree(t, src, dst)

	// One unreadable file: its batch's tar fails, so nothing of that batch
	// (at least testBatchMin files) is placed by tar; SFTP refuses the
	// file and copies the others. Other batches may still place theirs.
	os.RemoveAll(dst)
	os.Chmod(filepath.Join(src, "small/d01/f0001.dat"), 0o600)
	placed.Clear()
	_, err = a.CopyTree(ctx, in)
	res = wantCopyError(t, err, contract.ErrCopyRefused, true, `"small/d01/f0001.dat" (unreadable`)
	if _, ok := placed.Load("small/d01/f0001.dat"); ok {
		t.Error("a batch placed the unreadable file")
	}
	if n := count(&placed); n > 200-testBatchMin {
		t.Errorf("batches placed %d of 200 readable files; the failed batch's %d or more must have gone over SFTP", n, testBatchMin)
	}
	if res.CopiedFiles != 200 {
		t.Errorf("copied %d, want the 200 readable files", res.CopiedFiles)
	}
}

// TestCopyBatchInteropRootKeepsOwners: as root between real OpenSSH
// daemons, batches keep every file's numeric owner, group and mode bits
// (set-id included), in the seed and in a final sync, whose changed files
// also keep their mtimes to the nanosecond.
func TestCopyBatchInteropRootKeepsOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to set owners")
	}
	f := realFixture(t)
	f.classicOnly(t, "tar batches are the classic engine's")
	owners := [][2]int{{0, 0}, {1234, 5678}, {65534, 65534}, {4321, 0}}
	modes := []os.FileMode{0o644, 0o640 | os.ModeSetgid, 0o750, 0o600}
	mt := time.Date(2026, 11, 30, 22, 15, 7, 0, time.UTC)
	write := func(i int, content []byte, mtime time.Time) string {
		rel := fmt.Sprintf("spool/d%d/job-%03d.ps", i%5, i)
		p := filepath.Join(f.srcRoot, rel)
		writeFile(t, p, content, 0o644, mtime)
		o := owners[i%len(owners)]
		if err := os.Lchown(p, o[0], o[1]); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, modes[i%len(modes)]); err != nil {
			t.Fatal(err)
		}
		return rel
	}
	for i := range 80 {
		write(i, randBytes(uint64(i), 200+i*50), mt)
	}
	f.a.hooks.batchMin = testBatchMin
	var placed sync.Map
	f.a.hooks.afterBatch = func(rels []string) {
		for _, r := range rels {
			placed.Store(r, true)
		}
	}
	same := func(rel string, ns bool) {
		t.Helper()
		s, _ := os.Lstat(filepath.Join(f.srcRoot, rel))
		d, err := os.Lstat(filepath.Join(f.dstRoot, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		ss, ds := s.Sys().(*syscall.Stat_t), d.Sys().(*syscall.Stat_t)
		if ss.Uid != ds.Uid || ss.Gid != ds.Gid || s.Mode() != d.Mode() {
			t.Errorf("%s: target %d:%d %v, source %d:%d %v", rel, ds.Uid, ds.Gid, d.Mode(), ss.Uid, ss.Gid, s.Mode())
		}
		if ns && !d.ModTime().Equal(s.ModTime()) {
			t.Errorf("%s: target mtime %v, source %v", rel, d.ModTime(), s.ModTime())
		}
	}
	res := f.copy(t, f.input(CopySet{}))
	if n := count(&placed); n < 60 || res.Verified != res.Files {
		t.Errorf("batches placed %d of 80, verified %d of %d", n, res.Verified, res.Files)
	}
	for i := range 80 {
		same(fmt.Sprintf("spool/d%d/job-%03d.ps", i%5, i), false)
	}

	var changed []string
	for i := 20; i < 60; i++ {
		changed = append(changed, write(i, randBytes(uint64(500+i), 300+i*40), mt.Add(time.Duration(i)*time.Microsecond+7)))
	}
	placed.Clear()
	in := f.input(CopySet{})
	in.Phase = PhaseFinalSync
	res = f.copy(t, in)
	if n := count(&placed); n != len(changed) || res.CopiedFiles != int64(len(changed)) || res.Verified != res.Files {
		t.Errorf("final sync: a batch placed %d, copied %d, verified %d of %d; want the %d changed files in one batch",
			n, res.CopiedFiles, res.Verified, res.Files, len(changed))
	}
	for _, rel := range changed {
		same(rel, true)
	}
	wantExactTree(t, f.srcRoot, f.dstRoot)
}
