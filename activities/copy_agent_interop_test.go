//go:build interop && linux

package activities

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// attackerUser is a second unprivileged account that can write one
// directory of the target tree (a world-writable directory copied from
// the source) and races the copy there.
const attackerUser = "umzugevil"

// TestCopyTreeAgentInteropSymlinkSwapRace seeds through umzug-agent
// uploaded to real OpenSSH as an unprivileged user, while another user
// keeps swapping a directory of the target for a symlink to a directory
// outside it that the copying user may write: nothing may land outside.
func TestCopyTreeAgentInteropSymlinkSwapRace(t *testing.T) {
	in, src, dst := nonRootCopy(t)
	auid, agid, err := realsshd.EnsureUser(attackerUser)
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{CopyEngine: CopyEngineAgent, AgentDir: agentBinDir(t)}
	var trace strings.Builder
	a.Options.Trace = &trace
	mt := time.Unix(1700000000, 0)
	for i := range 20 {
		writeFile(t, filepath.Join(src, "uploads", "sub", "deep", fmt.Sprintf("f%03d", i)), []byte("first"), 0o644, mt)
	}
	if err := os.Chmod(filepath.Join(src, "uploads"), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CopyTree(t.Context(), in); err != nil {
		t.Fatalf("first seed: %v\n%s", err, trace.String())
	}
	if !strings.Contains(trace.String(), "umzug-agent on old-dc") {
		t.Fatalf("the agent engine did not run:\n%s", trace.String())
	}
	if fi, err := os.Stat(filepath.Join(dst, "uploads")); err != nil || fi.Mode().Perm() != 0o777 {
		t.Fatalf("target uploads: %v %v", fi, err)
	}

	// Much more to copy below the directory the attacker swaps.
	for i := range 400 {
		writeFile(t, filepath.Join(src, "uploads", "sub", "deep", fmt.Sprintf("g%03d", i)), []byte(strings.Repeat("x", 4096)), 0o644, mt)
	}
	outside, err := os.MkdirTemp("", "umzug-interop-outside-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	os.Chmod(outside, 0o777)
	stop := filepath.Join(os.TempDir(), fmt.Sprintf("umzug-attacker-stop-%d", os.Getpid()))
	os.Remove(stop)
	loop := fmt.Sprintf(`cd '%s' || exit 1
n=0
while [ ! -e '%s' ]; do
  mv sub sub.away 2>/dev/null && ln -s '%s' sub 2>/dev/null
  n=$((n+1))
  sleep 0.002
  rm -f sub 2>/dev/null; mv sub.away sub 2>/dev/null
  sleep 0.002
done
echo swaps $n`, filepath.Join(dst, "uploads"), stop, outside)
	cmd := exec.Command("/bin/sh", "-c", loop)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(auid), Gid: uint32(agid)}}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Several seeds while the attacker runs, each with new files below
	// the swapped directory, so writes meet the swaps, not only walks.
	var copied int64
	for round := range 6 {
		for i := range 100 {
			writeFile(t, filepath.Join(src, "uploads", "sub", "deep", fmt.Sprintf("r%d-%03d", round, i)), []byte("round"), 0o644, mt)
		}
		res, cerr := a.CopyTree(t.Context(), in)
		copied += res.CopiedFiles
		t.Logf("seed %d under attack: err %v, copied %d, refused %v", round, cerr, res.CopiedFiles, res.RefusedByKind)
	}
	os.WriteFile(stop, nil, 0o644)
	cmd.Wait()
	os.Remove(stop)
	t.Logf("attacker: %s; files copied under attack: %d", strings.TrimSpace(out.String()), copied)
	if copied == 0 {
		t.Error("no seed wrote while the attacker ran: the race was not exercised")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		names := []string{}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("%d entries written outside the target root: %v", len(ents), names)
	}

	// Without the attacker a final sync brings the target up to date.
	if fi, err := os.Lstat(filepath.Join(dst, "uploads", "sub")); err != nil || !fi.IsDir() {
		os.Remove(filepath.Join(dst, "uploads", "sub"))
		os.Rename(filepath.Join(dst, "uploads", "sub.away"), filepath.Join(dst, "uploads", "sub"))
	}
	in.Phase, in.Delete = PhaseFinalSync, true
	if _, err := a.CopyTree(t.Context(), in); err != nil {
		t.Fatalf("final sync: %v", err)
	}
	if _, err := treecmp.Equal(src, dst, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}
