//go:build interop && linux

package chaos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

var (
	hostileDoc     = flag.String("chaos.hostile-doc", "", "Markdown file whose hostile-host section to rewrite (../../docs/reliability.md publishes the run)")
	hostileRounds  = flag.Int("chaos.hostile-rounds", 4, "copies per phase made under attack, per job and engine")
	hostileEngines = flag.String("chaos.hostile-engines", "agent,classic", "copy engines to run the hostile-host jobs with, comma-separated; only agent must hold the promise")
)

// attackerEnv tells a child copy of the test binary to be the attacker:
// "swap ROOT OUTSIDE" or "exchange A B". It attacks until its stdin
// closes, puts everything back and prints "attacks N".
const attackerEnv = "UMZUG_CHAOS_ATTACKER"

// attackerUser is the unprivileged local user who attacks: it may write
// inside the target tree (hostile-target) or owns the source tree
// (source-exchange).
const attackerUser = "umzugevil"

const awaySuffix = ".chaos-away"

// TestChaosAttackerProcess is the attacker's body when the test binary
// runs as TestChaosHostileInterop's child under attackerUser's uid.
func TestChaosAttackerProcess(t *testing.T) {
	spec := strings.Fields(os.Getenv(attackerEnv))
	if len(spec) != 3 {
		t.Skip("runs only as the attacker child of TestChaosHostileInterop")
	}
	var stop atomic.Bool
	go func() { io.Copy(io.Discard, os.Stdin); stop.Store(true) }()
	var n int64
	switch spec[0] {
	case "swap":
		n = swapLoop(spec[1], spec[2], &stop)
	case "exchange":
		n = exchangeLoop(spec[1], spec[2], &stop)
	}
	fmt.Printf("attacks %d\n", n)
}

// hold keeps an attack in place for a moment: long enough for a copy to
// meet it, short enough to strike again and again.
func hold() { time.Sleep(200 * time.Microsecond) }

// swapLoop swaps every directory below root (the batch staging
// directories included, as they appear) for a symlink to outside, holds
// it, and puts the directory back, over and over.
func swapLoop(root, outside string, stop *atomic.Bool) int64 {
	var n int64
	for !stop.Load() {
		var dirs []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != root && !strings.HasSuffix(p, awaySuffix) {
				dirs = append(dirs, p)
			}
			return nil
		})
		if len(dirs) == 0 {
			hold()
		}
		for _, d := range dirs {
			if stop.Load() {
				break
			}
			away := d + awaySuffix
			if os.Rename(d, away) != nil {
				continue
			}
			if os.Symlink(outside, d) == nil {
				n++
				hold()
				if fi, err := os.Lstat(d); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
					os.Remove(d)
				}
			}
			os.Rename(away, d) // fails when the copy made d anew: the leftover is counted
		}
	}
	return n
}

// exchangeLoop exchanges every directory below a with its twin below b
// (renameat2 RENAME_EXCHANGE), holds, and exchanges them back.
func exchangeLoop(a, b string, stop *atomic.Bool) int64 {
	ents, _ := os.ReadDir(a)
	var n int64
	for !stop.Load() {
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			x, y := filepath.Join(a, e.Name()), filepath.Join(b, e.Name())
			if unix.Renameat2(unix.AT_FDCWD, x, unix.AT_FDCWD, y, unix.RENAME_EXCHANGE) != nil {
				continue
			}
			n++
			hold()
			unix.Renameat2(unix.AT_FDCWD, x, unix.AT_FDCWD, y, unix.RENAME_EXCHANGE)
			hold()
		}
	}
	return n
}

// attacker is a running attacker process.
type attacker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

// startAttacker runs the test binary's copy exe as attackerUser with spec.
func startAttacker(t *testing.T, exe string, uid, gid int, spec string) *attacker {
	a := &attacker{cmd: exec.Command(exe, "-test.run", "^TestChaosAttackerProcess$")}
	a.cmd.Env = append(os.Environ(), attackerEnv+"="+spec)
	a.cmd.Dir = "/"
	a.cmd.Stdout, a.cmd.Stderr = &a.out, &a.out
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	var err error
	if a.stdin, err = a.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start the attacker: %v", err)
	}
	return a
}

// stop ends the attack (everything put back) and returns its count.
func (a *attacker) stop(t *testing.T) int64 {
	a.stdin.Close()
	if err := a.cmd.Wait(); err != nil {
		t.Errorf("attacker: %v: %s", err, a.out.String())
	}
	sc := bufio.NewScanner(&a.out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "attacks" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Errorf("attacker printed no count: %s", a.out.String())
	return 0
}

// hostileEnv is real OpenSSH on loopback, logged in to as root for both
// hosts, and the attacker's account and binary.
type hostileEnv struct {
	base, exe, agentDir string
	host                contract.Host
	uid, gid            int
}

func newHostileEnv(t *testing.T) *hostileEnv {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the copy logs in as root and the attacker is another local user")
	}
	if err := realsshd.Available(); err != nil {
		t.Fatal(err)
	}
	uid, gid, err := realsshd.EnsureUser(attackerUser)
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("/tmp", "umzug-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(base, 0o755)
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(base)
		}
	})
	d := testkit.StartRealSSHD(t, base, realsshd.Options{})
	s := d.Servers[0]
	e := &hostileEnv{base: base, agentDir: testkit.AgentDir(t), uid: uid, gid: gid,
		host: contract.Host{Name: "host", Address: s.Addr, User: s.User, IdentityFile: d.Key, KnownHosts: d.KnownHosts}}
	// The attacker runs a copy of this binary it may execute.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	e.exe = filepath.Join(base, "attacker.test")
	if err := os.WriteFile(e.exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return e
}

// copy runs one CopyTree through engine, bounded in time.
func (e *hostileEnv) copy(engine string, in contract.CopyInput) (contract.CopyResult, error) {
	in.Source, in.Target = e.host, e.host
	in.Source.Name, in.Target.Name = "source", "target"
	a := &activities.Activities{CopyEngine: engine, AgentDir: e.agentDir}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return a.CopyTree(ctx, in)
}

// note adds one copy's figures to r.
func (r *HostileRow) note(res contract.CopyResult, err error) {
	r.Copies++
	r.Copied += res.CopiedFiles
	r.RefusedChanged += res.RefusedByKind[contract.RefusalChanged]
	if err != nil {
		r.Failed++
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) && ae.NonRetryable() { // other errors are retried by Temporal
			r.FailedForGood++
			r.Problems = append(r.Problems, "not retryable: "+err.Error())
		}
	}
}

// entry is what a snapshot keeps of one path.
type entry struct {
	mode fs.FileMode
	size int64
	sum  [32]byte
	link string
}

// snapshot records every entry at and below dir, skipping the subtrees
// in skip (absolute paths).
func snapshot(dir string, skip ...string) map[string]entry {
	m := map[string]entry{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		for _, s := range skip {
			if p == s {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		en := entry{mode: fi.Mode(), size: fi.Size()}
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			en.sum = sha256.Sum256(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			en.link, _ = os.Readlink(p)
		}
		m[p] = en
		return nil
	})
	return m
}

// changes lists the entries added, removed or changed between snapshots.
func changes(before, after map[string]entry) []string {
	var out []string
	for p, a := range after {
		if b, ok := before[p]; !ok {
			out = append(out, "created "+p)
		} else if a != b {
			out = append(out, "changed "+p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, "removed "+p)
		}
	}
	return out
}

// foreign lists the regular files below to whose bytes are not the
// source's: the file at the same relative path in want, or, for an entry
// the source does not have (a directory the attacker left moved away),
// any source file's bytes.
func foreign(to string, want map[string][32]byte) []string {
	any := map[[32]byte]bool{}
	for _, s := range want {
		any[s] = true
	}
	var out []string
	filepath.WalkDir(to, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(to, p)
		b, _ := os.ReadFile(p)
		sum := sha256.Sum256(b)
		if s, ok := want[rel]; ok && s != sum || !ok && !any[sum] {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// sums records the SHA-256 of every regular file below dir by relative path.
func sums(dir string) map[string][32]byte {
	m := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			b, _ := os.ReadFile(p)
			m[rel] = sha256.Sum256(b)
		}
		return nil
	})
	return m
}

// fill writes n files of 4 KiB below dir, each with bytes of its own.
func fill(t *testing.T, dir, tag string, n int, mt time.Time) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("%s%03d", tag, i))
		line := fmt.Sprintf("%s file %s %d\n", tag, p, i)
		b := bytes.Repeat([]byte(line), 4096/len(line)+1)[:4096]
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mt, mt)
	}
}

// TestChaosHostileInterop runs the hostile-host jobs against real OpenSSH, logged
// in as root, with an unprivileged local user attacking:
//
//   - hostile-target: the attacker may write inside the target tree (its
//     directories are 0777) and, in a tight loop, swaps every directory
//     the copy creates there, the batch staging directories included,
//     for a symlink to a root-only directory outside the target root (an
//     .ssh holding authorized_keys), during seeds and during final syncs.
//   - source-exchange: the attacker owns the source tree and exchanges
//     its directories with twins outside `from` (same names, sizes and
//     mtimes, other bytes) during seeds; a quiet final sync follows.
//
// Each job counts entries written outside the target root and files
// whose bytes on the target are not the source's. The agent engine must
// show 0 of both; other engines are shown for contrast.
func TestChaosHostileInterop(t *testing.T) {
	began := time.Now()
	e := newHostileEnv(t)
	var rows []HostileRow
	for _, engine := range strings.Split(*hostileEngines, ",") {
		rows = append(rows, e.hostileTarget(t, engine), e.sourceExchange(t, engine))
	}
	table := HostileTable(rows, time.Since(began), time.Now())
	fmt.Println(table)
	if *hostileDoc != "" {
		if err := WriteHostileTable(*hostileDoc, table); err != nil {
			t.Error(err)
		}
	}
	for _, r := range rows {
		if r.Engine == activities.CopyEngineAgent && (r.Broken() || !r.Converged) {
			t.Errorf("%s, agent engine: %d entries written outside the root, %d files with foreign bytes, converged %v: %v",
				r.Job, r.Outside, r.Foreign, r.Converged, r.Problems)
		}
		if r.Attacks == 0 {
			t.Errorf("%s, %s engine: the attacker never struck", r.Job, r.Engine)
		}
	}
}

func (e *hostileEnv) hostileTarget(t *testing.T, engine string) HostileRow {
	r := HostileRow{Job: "hostile-target", Engine: engine}
	dir := filepath.Join(e.base, "target-"+engine)
	src, tgt := filepath.Join(dir, "src", "share"), filepath.Join(dir, "tgt", "share")
	victim := filepath.Join(dir, "victim", ".ssh")
	mt := time.Unix(1700000000, 0)
	for _, d := range []string{"a", "b/deep", "c/deep/er", "d"} {
		fill(t, filepath.Join(src, d), "seed", 30, mt)
	}
	// Directories writable by anyone, in the source and so on the target.
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o777)
		}
		return nil
	})
	os.MkdirAll(tgt, 0o777)
	os.Chmod(tgt, 0o777)
	os.MkdirAll(victim, 0o700)
	os.WriteFile(filepath.Join(victim, "authorized_keys"), []byte("ssh-ed25519 AAAA the victim's key\n"), 0o600)
	os.Chmod(filepath.Dir(victim), 0o700)
	outside := snapshot(filepath.Dir(victim))

	in := contract.CopyInput{MoveID: "chaos/hostile-target/" + engine, Phase: contract.PhaseSeed,
		Set: contract.CopySet{Name: "share", From: src, To: tgt, Verify: contract.VerifySHA256}}
	att := startAttacker(t, e.exe, e.uid, e.gid, "swap "+tgt+" "+victim)
	var state *contract.IdentState
	for round := range *hostileRounds {
		for _, d := range []string{"a", "b/deep", "c/deep/er", fmt.Sprintf("new%d/x", round)} {
			fill(t, filepath.Join(src, d), fmt.Sprintf("r%d-", round), 25, mt)
			os.Chmod(filepath.Join(src, d), 0o777)
		}
		os.Chmod(filepath.Join(src, fmt.Sprintf("new%d", round)), 0o777)
		res, err := e.copy(engine, in)
		r.note(res, err)
		if res.IdentState != nil {
			state = res.IdentState
		}
		t.Logf("%s seed %d under attack: err %s, copied %d, refused %v", engine, round, errKind(err), res.CopiedFiles, res.RefusedByKind)
	}
	fin := in
	fin.Phase, fin.Delete = contract.PhaseFinalSync, true
	for round := range *hostileRounds {
		fill(t, filepath.Join(src, "a"), fmt.Sprintf("f%d-", round), 20, mt.Add(time.Hour))
		fill(t, filepath.Join(src, "c/deep/er"), fmt.Sprintf("f%d-", round), 20, mt.Add(time.Hour))
		fin.IdentState = state
		res, err := e.copy(engine, fin)
		r.note(res, err)
		t.Logf("%s final sync %d under attack: err %s, copied %d, refused %v", engine, round, errKind(err), res.CopiedFiles, res.RefusedByKind)
	}
	r.Attacks = att.stop(t)
	e.count(&r, src, tgt, outside, filepath.Dir(victim))
	// Without the attacker a final sync brings the target up to date.
	fin.IdentState = state
	if _, err := e.copy(engine, fin); err != nil {
		r.Problems = append(r.Problems, "quiet final sync: "+err.Error())
	} else if _, err := treecmp.Equal(src, tgt, treecmp.Options{}); err != nil {
		r.Problems = append(r.Problems, "after a quiet final sync: "+err.Error())
	} else {
		r.Converged = true
	}
	return r
}

func (e *hostileEnv) sourceExchange(t *testing.T, engine string) HostileRow {
	r := HostileRow{Job: "source-exchange", Engine: engine, Converged: true}
	dir := filepath.Join(e.base, "exchange-"+engine)
	owner := filepath.Join(dir, "owner")
	src, twin := filepath.Join(owner, "app"), filepath.Join(owner, "twin")
	mt := time.Unix(1700000000, 0)
	for _, d := range []string{"d0", "d1", "d2", "d3"} {
		fill(t, filepath.Join(src, d), "f", 60, mt)
		fill(t, filepath.Join(twin, d), "f", 60, mt)
		// Same names, sizes and mtimes; other bytes.
		filepath.WalkDir(filepath.Join(twin, d), func(p string, de fs.DirEntry, err error) error {
			if err == nil && de.Type().IsRegular() {
				b, _ := os.ReadFile(p)
				copy(b, "TWIN")
				os.WriteFile(p, b, 0o644)
				os.Chtimes(p, mt, mt)
			}
			return nil
		})
	}
	fill(t, src, "top", 5, mt)
	filepath.WalkDir(owner, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			os.Lchown(p, e.uid, e.gid)
		}
		return nil
	})
	want := sums(src)
	tgtParent := filepath.Join(dir, "tgt")
	os.MkdirAll(tgtParent, 0o755)
	before := snapshot(tgtParent)

	att := startAttacker(t, e.exe, e.uid, e.gid, "exchange "+src+" "+twin)
	var ins []contract.CopyInput
	for round := range *hostileRounds {
		in := contract.CopyInput{MoveID: fmt.Sprintf("chaos/source-exchange/%s/%d", engine, round), Phase: contract.PhaseSeed,
			Set: contract.CopySet{Name: "app", From: src, To: filepath.Join(tgtParent, fmt.Sprintf("app%d", round)), Verify: contract.VerifySHA256}}
		res, err := e.copy(engine, in)
		r.note(res, err)
		t.Logf("%s seed %d under exchange: err %s, copied %d, refused %v", engine, round, errKind(err), res.CopiedFiles, res.RefusedByKind)
		in.Phase, in.Delete, in.IdentState = contract.PhaseFinalSync, true, res.IdentState
		ins = append(ins, in)
	}
	r.Attacks = att.stop(t)
	for _, in := range ins {
		// The final sync runs on a quiet source: what it keeps by the
		// seed's identities is what the move would commit.
		if _, err := e.copy(engine, in); err != nil {
			r.Problems = append(r.Problems, in.Set.To+": quiet final sync: "+err.Error())
			r.Converged = false
		}
		for _, f := range foreign(in.Set.To, want) {
			r.Foreign++
			if r.Foreign <= 3 {
				r.Problems = append(r.Problems, "foreign bytes committed at "+filepath.Join(in.Set.To, f))
			}
		}
		if _, err := treecmp.Equal(src, in.Set.To, treecmp.Options{}); err != nil {
			r.Converged = false
		}
	}
	var skip []string
	for _, in := range ins {
		skip = append(skip, in.Set.To)
	}
	skip = append(skip, filepath.Join(tgtParent, ".umzug"))
	for _, c := range changes(before, snapshot(tgtParent, skip...)) {
		r.Outside++
		r.Problems = append(r.Problems, c)
	}
	return r
}

// count fills the outside and foreign figures of a hostile-target row.
func (e *hostileEnv) count(r *HostileRow, src, tgt string, before map[string]entry, outsideDir string) {
	for _, c := range changes(before, snapshot(outsideDir)) {
		r.Outside++
		if r.Outside <= 3 {
			r.Problems = append(r.Problems, "outside the target root: "+c)
		}
	}
	for _, f := range foreign(tgt, sums(src)) {
		r.Foreign++
		if r.Foreign <= 3 {
			r.Problems = append(r.Problems, "foreign bytes at "+filepath.Join(tgt, f))
		}
	}
}

// errKind names an error with its Temporal type and whether it is retried.
func errKind(err error) string {
	var ae *temporal.ApplicationError
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &ae):
		return fmt.Sprintf("%s (retryable %v): %v", ae.Type(), !ae.NonRetryable(), err)
	}
	return fmt.Sprintf("untyped (retried): %v", err)
}
