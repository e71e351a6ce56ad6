package activities

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// A target that runs no commands (ForceCommand internal-sftp) is copied
// to over SFTP by path: the copy checks who can write the target tree
// before it writes, refuses a directory others can write (unsafe_target)
// unless the set accepts it, and never trusts an identity state there.
func TestCopyTreeSFTPOnlyTarget(t *testing.T) {
	f := newCopyFixtureWith(t, sshserver.Options{SFTPOnly: true})
	var trace bytes.Buffer
	f.a.Options.Trace = &trace
	files, _ := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	seed := f.copy(t, in)
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trace.String(), "fin_lg runs no commands (SFTP only)") {
		t.Errorf("the copy did not find the target SFTP only; trace:\n%s", trace.String())
	}
	if seed.IdentState != nil || seed.Refused != 0 {
		t.Errorf("seed onto an SFTP-only target: state %+v, refused %d (%v); want no state, nothing refused", seed.IdentState, seed.Refused, seed.RefusalList)
	}
	// The agent engine (the default) says in the result why the copy
	// took the classic engine.
	if f.agentEngine() && (len(seed.Refusals) == 0 || !strings.Contains(seed.Refusals[0], "target fin_lg allows SFTP only") || !strings.Contains(seed.Refusals[0], "classic engine")) {
		t.Errorf("seed onto an SFTP-only target does not say it took the classic engine: %q", seed.Refusals)
	}

	// A final sync handed a state hashes every unchanged file anyway.
	fin := in
	fin.Phase = PhaseFinalSync
	fin.IdentState = &IdentState{SHA256: strings.Repeat("ab", 32), Records: int64(files)}
	res := f.copy(t, fin)
	if res.Kept != 0 || res.Verified != int64(files) || res.CopiedFiles != 0 || !strings.Contains(res.IdentStateNote, "SFTP only") {
		t.Errorf("final sync: kept %d verified %d copied %d note %q; want 0, %d, 0 and why no state", res.Kept, res.Verified, res.CopiedFiles, res.IdentStateNote, files)
	}

	// A local user on the target opens a directory of the tree to others:
	// the next copy writes nothing and names it.
	ledger := filepath.Join(f.dstRoot, "ledger")
	if err := os.Chmod(ledger, 0o777); err != nil {
		t.Fatal(err)
	}
	later := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	writeFile(t, filepath.Join(f.srcRoot, "README"), []byte("changed on the source"), 0o644, later)
	fin.IdentState = nil
	_, err := f.a.CopyTree(context.Background(), fin)
	r := wantCopyError(t, err, contract.ErrCopyRefused, true, ledger, "writable by group or others", `accept_refusals = ["unsafe_target"]`)
	wantRefusal(t, r, "ledger", RefusalUnsafeTarget, false)
	if b, _ := os.ReadFile(filepath.Join(f.dstRoot, "README")); string(b) == "changed on the source" {
		t.Error("the refused copy wrote into the target")
	}
	if fi, err := os.Stat(ledger); err != nil || fi.Mode().Perm() != 0o777 {
		t.Errorf("the refused copy changed the unsafe directory: %v %v", fi.Mode(), err)
	}

	// Accepted: the copy goes on, lists the directory and leaves the
	// target as the source (whose mode closes the directory again).
	acc := fin
	acc.Set.AcceptRefusals = []string{RefusalUnsafeTarget}
	res = f.copy(t, acc)
	wantRefusal(t, res, "ledger", RefusalUnsafeTarget, true)
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}

	// The parent of the target root holds it: open to others (and not
	// sticky), the copy is refused too.
	if err := os.Chmod(filepath.Dir(f.dstRoot), 0o757); err != nil {
		t.Fatal(err)
	}
	_, err = f.a.CopyTree(context.Background(), fin)
	wantCopyError(t, err, contract.ErrCopyRefused, true, filepath.Dir(f.dstRoot)+" (writable by group or others")
	if err := os.Chmod(filepath.Dir(f.dstRoot), 0o755); err != nil {
		t.Fatal(err)
	}

	// A directory owned by another user.
	if os.Geteuid() == 0 {
		if err := os.Chown(filepath.Join(f.dstRoot, "bin"), 4242, 4242); err != nil {
			t.Fatal(err)
		}
		_, err = f.a.CopyTree(context.Background(), fin)
		wantCopyError(t, err, contract.ErrCopyRefused, true, "owned by uid 4242")
	}
}

// The same directory open to others on a target that runs commands is
// written as before: the check is the SFTP-only path's.
func TestCopyTreeUnsafeTargetOnlyWithoutCommands(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	f.copy(t, in)
	if err := os.Chmod(filepath.Join(f.dstRoot, "ledger"), 0o777); err != nil {
		t.Fatal(err)
	}
	in.Phase = PhaseFinalSync
	if res := f.copy(t, in); res.Refused != 0 {
		t.Errorf("refused %d (%v) on a target that runs commands", res.Refused, res.RefusalList)
	}
}
