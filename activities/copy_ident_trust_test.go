package activities

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// identOf is a file's identity as find -printf shows it.
func identOf(t *testing.T, p string) fileIdent {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return fileIdent{Size: st.Size, MtimeNs: st.Mtim.Nano(), CtimeNs: st.Ctim.Nano(), Inode: st.Ino, Dev: uint64(st.Dev)}
}

// sameSizeEdit changes a byte of p and puts its mtime back (touch -d).
func sameSizeEdit(t *testing.T, p string) {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	data[0] ^= 0xff
	time.Sleep(10 * time.Millisecond) // ctime moves past the seed's listing
	if err := os.WriteFile(p, data, st.Mode()); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// forgeState rewrites the state file as its owner could: the record of
// rel claims the file's identity as it is now on one side.
func forgeState(t *testing.T, state, rel string, src bool, now fileIdent) {
	t.Helper()
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := parseIdentState(bytes.NewReader(data))
	if recs[rel] == nil {
		t.Fatalf("state holds no record of %s", rel)
	}
	if src {
		recs[rel].Src = now
	} else {
		recs[rel].Dst = now
	}
	out := []byte(identStateMagic)
	for p, r := range recs {
		if out, err = appendIdentRec(out, p, *r); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(state, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A state rewritten to vouch for a changed file (same size, mtime put
// back) no longer hashes to the seed's digest: the final sync hashes every
// file, repairs the change and says why. The change is made on the target
// (by its SSH user) and, separately, on the source (the application's
// last write).
func TestCopyTreeFinalSyncRefusesForgedState(t *testing.T) {
	for _, side := range []string{"target", "source"} {
		t.Run(side, func(t *testing.T) {
			f := newCopyFixture(t)
			files, _ := buildTree(t, f.srcRoot)
			in := f.input(CopySet{})
			if seed := f.copy(t, in); !seed.IdentState.Valid() {
				t.Fatalf("seed reported state %+v", seed.IdentState)
			}
			root := f.dstRoot
			if side == "source" {
				root = f.srcRoot
			}
			p := filepath.Join(root, "bin/run.sh")
			sameSizeEdit(t, p)
			f.forgeState(t, f.statePath(in), "bin/run.sh", side == "source", identOf(t, p))

			in.Phase = PhaseFinalSync
			res := f.copy(t, in)
			if res.CopiedFiles != 1 || res.Kept != 0 || res.Verified != int64(files) {
				t.Errorf("final sync over a forged state: copied %d kept %d verified %d; want 1, 0, %d", res.CopiedFiles, res.Kept, res.Verified, files)
			}
			if !strings.Contains(res.IdentStateNote, "did not match the seed's digest") {
				t.Errorf("note %q does not say the state was not used", res.IdentStateNote)
			}
			if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A state in a place others could have written is not used, even with
// the right bytes: a symlink to a copy of the genuine file, or a state
// directory open to group or others. A seed does not write into such a
// directory.
func TestCopyTreeStateOnlyFromPrivatePlace(t *testing.T) {
	f := newCopyFixture(t)
	files, _ := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	f.copy(t, in)
	state := f.statePath(in)
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	fin := in
	fin.Phase = PhaseFinalSync
	if res := f.copy(t, fin); res.Kept != int64(files) {
		t.Fatalf("genuine state: kept %d, want %d", res.Kept, files)
	}

	elsewhere := filepath.Join(f.dir, "elsewhere.bin")
	if err := os.WriteFile(elsewhere, data, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(state)
	if err := os.Symlink(elsewhere, state); err != nil {
		t.Fatal(err)
	}
	res := f.copy(t, fin)
	if res.Kept != 0 || res.Verified != int64(files) || !strings.Contains(res.IdentStateNote, "not a regular file") {
		t.Errorf("symlinked state: kept %d verified %d note %q; want 0, %d and why", res.Kept, res.Verified, res.IdentStateNote, files)
	}
	os.Remove(state)
	if err := os.WriteFile(state, data, 0o600); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Dir(state)
	for _, mode := range []os.FileMode{0o770, 0o777} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		res := f.copy(t, fin)
		if res.Kept != 0 || res.Verified != int64(files) || !strings.Contains(res.IdentStateNote, "writable by group or others") {
			t.Errorf("state dir mode %v: kept %d verified %d note %q; want 0, %d and why", mode, res.Kept, res.Verified, res.IdentStateNote, files)
		}
	}
	seed := f.copy(t, in)
	if seed.IdentState != nil || !strings.Contains(strings.Join(seed.Refusals, "\n"), "could not record verified identities") {
		t.Errorf("seed into a state dir open to others: state %+v notes %q; want none written and why", seed.IdentState, seed.Refusals)
	}
	if b, _ := os.ReadFile(state); !bytes.Equal(b, data) {
		t.Error("a seed wrote into a state dir open to others")
	}
}

// A state directory reached through a directory others can write, or
// through a symlink, is never written.
func TestCopyTreeStateDirChainChecked(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	open, real := filepath.Join(f.dir, "open"), filepath.Join(f.dir, "real")
	for _, d := range []string{filepath.Join(open, "deeper"), real} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(f.dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{filepath.Join(open, "deeper", "identstate"), filepath.Join(f.dir, "link", "identstate")} {
		f.a.IdentStateDir = base
		res := f.copy(t, f.input(CopySet{}))
		if res.IdentState != nil || !strings.Contains(strings.Join(res.Refusals, "\n"), "could not record verified identities") {
			t.Errorf("state dir %s: state %+v notes %q; want none written and why", base, res.IdentState, res.Refusals)
		}
		if _, err := os.Stat(filepath.Join(base, sanitizeName("umzug/test/finance"))); !os.IsNotExist(err) {
			t.Errorf("state dir %s was created: %v", base, err)
		}
	}
}
