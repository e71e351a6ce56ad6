package activities

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/treecmp"

	"github.com/umzug-dev/umzug/activities/contract"
)

// copyFixture is two in-process SSH/SFTP servers ("source" and "target")
// on loopback serving this machine's filesystem, with a client key and a
// known_hosts file that pins both host keys.
type copyFixture struct {
	a        *Activities
	src, dst Host
	dir      string
	srcRoot  string // source tree
	dstRoot  string // target root (does not exist yet)
	// state is the identity state the last seed through copy reported;
	// copy passes it on to the next copy, as the workflows do, unless
	// the input names one or noChain is set.
	state   *IdentState
	noChain bool
}

func newCopyFixture(t testing.TB, targetEnv ...string) *copyFixture {
	t.Helper()
	return newCopyFixtureWith(t, sshserver.Options{Env: targetEnv})
}

// newCopyFixtureWith is newCopyFixture with the target server's options.
func newCopyFixtureWith(t testing.TB, target sshserver.Options) *copyFixture {
	t.Helper()
	dir := t.TempDir()
	s := testkit.StartSSH(t, dir, sshserver.Options{}, target)
	host := func(name string, srv *sshserver.Server) Host {
		return Host{Name: name, Address: srv.Addr(), User: "tester", IdentityFile: s.Key, KnownHosts: s.KnownHosts}
	}
	f := &copyFixture{
		a:   &Activities{IdentStateDir: filepath.Join(dir, "identstate")},
		src: host("fin_pb", s.Servers[0]), dst: host("fin_lg", s.Servers[1]),
		dir: dir, srcRoot: filepath.Join(dir, "src", "data"), dstRoot: filepath.Join(dir, "dst", "data"),
	}
	if err := os.MkdirAll(f.srcRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(f.dstRoot), 0o755); err != nil {
		t.Fatal(err)
	}
	// The copy tests run the default engine, the agent's;
	// UMZUG_TEST_COPY_ENGINE=classic runs them through the classic engine,
	// the fallback for hosts that run no commands.
	if os.Getenv("UMZUG_TEST_COPY_ENGINE") == CopyEngineClassic {
		f.a.CopyEngine = CopyEngineClassic
	} else {
		useAgentEngine(t, f)
	}
	return f
}

func (f *copyFixture) input(set CopySet) CopyInput {
	set.Name = "ledger"
	set.From, set.To = f.srcRoot, f.dstRoot
	if set.Verify == "" {
		set.Verify = VerifySHA256
	}
	return CopyInput{MoveID: "umzug/test/finance", Phase: PhaseSeed, Source: f.src, Target: f.dst, Set: set}
}

func (f *copyFixture) copy(t *testing.T, in CopyInput) CopyResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if in.IdentState == nil && !f.noChain {
		in.IdentState = f.state
	}
	res, err := f.a.CopyTree(ctx, in)
	if err != nil {
		t.Fatalf("CopyTree: %v", err)
	}
	if in.Phase == PhaseSeed {
		f.state = res.IdentState
	}
	return res
}

func writeFile(t testing.TB, p string, data []byte, mode fs.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// buildTree writes a tree with nested dirs, an empty dir, a symlink, odd
// names and several modes. It returns the number of regular files and bytes.
func buildTree(t *testing.T, root string) (files int, bytes int64) {
	t.Helper()
	old := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	add := func(rel string, n int, mode fs.FileMode) {
		writeFile(t, filepath.Join(root, rel), randBytes(uint64(len(rel)*31+n), n), mode, old.Add(time.Duration(files)*time.Hour))
		files++
		bytes += int64(n)
	}
	add("README", 100, 0o644)
	add("secret.key", 3000, 0o600)
	add("bin/run.sh", 500, 0o755)
	add("ledger/2024/jan.csv", 200<<10, 0o640)
	add("ledger/2024/feb.csv", 0, 0o640)
	add("ledger/2025/big.bin", 5<<20+123, 0o644)
	add("odd/with space 'quote\".txt", 10, 0o644)
	add("odd/new\nline.txt", 11, 0o644)
	add("odd/back\\slash.txt", 12, 0o644)
	if err := os.MkdirAll(filepath.Join(root, "empty", "deeper"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../README", filepath.Join(root, "bin", "readme-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "ledger", "2024"), 0o750); err != nil {
		t.Fatal(err)
	}
	// Directory mtimes last (creating entries changed them).
	for _, d := range []string{"empty/deeper", "empty", "ledger/2024", "ledger", "bin", "odd"} {
		if err := os.Chtimes(filepath.Join(root, d), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return files, bytes
}

func listTmp(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestCopyTreeSeedAndResync(t *testing.T) {
	f := newCopyFixture(t)
	files, nbytes := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	res := f.copy(t, in)
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	if res.Files != int64(files) || res.Bytes != nbytes || res.CopiedFiles != int64(files) || res.CopiedBytes != nbytes {
		t.Errorf("counts: files %d bytes %d copied %d/%d; want %d, %d", res.Files, res.Bytes, res.CopiedFiles, res.CopiedBytes, files, nbytes)
	}
	if res.Dirs != 7 || res.Symlinks != 1 || res.Refused != 0 {
		t.Errorf("dirs %d symlinks %d refused %d (%v); want 7, 1, 0", res.Dirs, res.Symlinks, res.Refused, res.Refusals)
	}
	if res.Verified != int64(files) || res.VerifiedBy != f.verifiedByDigest() || res.Recopied != 0 {
		t.Errorf("verified %d by %q recopied %d; want %d by %s", res.Verified, res.VerifiedBy, res.Recopied, files, f.verifiedByDigest())
	}
	checkManifest(t, f, res, files+7+1)
	if tmp := listTmp(t, filepath.Dir(f.dstRoot)); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// Nothing changed: nothing is copied; every file is confirmed by both
	// hosts' sha256sum.
	res2 := f.copy(t, in)
	if res2.CopiedFiles != 0 || res2.Unchanged != int64(files) || res2.Verified != int64(files) {
		t.Errorf("re-sync: copied %d unchanged %d verified %d; want 0, %d, %d", res2.CopiedFiles, res2.Unchanged, res2.Verified, files, files)
	}
	if res2.ManifestSHA256 != res.ManifestSHA256 && res2.ManifestEntries != res.ManifestEntries {
		t.Errorf("re-sync manifest has %d entries, seed had %d", res2.ManifestEntries, res.ManifestEntries)
	}

	// size_mtime re-sync of a touched file copies exactly that file.
	p := filepath.Join(f.srcRoot, "ledger/2024/jan.csv")
	later := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	os.Chtimes(p, later, later)
	in.Set.Verify = VerifySizeMtime
	in.Phase = PhaseFinalSync
	res3 := f.copy(t, in)
	// The agent engine compares the digests of every file it copies, under
	// size_mtime too; the classic engine then verifies nothing.
	wantVerified := int64(0)
	if f.agentEngine() {
		wantVerified = 1
	}
	if res3.CopiedFiles != 1 || res3.Verified != wantVerified || res3.Verify != VerifySizeMtime {
		t.Errorf("size_mtime re-sync: copied %d verified %d verify %q; want 1, %d, size_mtime", res3.CopiedFiles, res3.Verified, res3.Verify, wantVerified)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

func checkManifest(t *testing.T, f *copyFixture, res CopyResult, entries int) {
	t.Helper()
	want := filepath.Join(filepath.Dir(f.dstRoot), ".umzug", "umzug_test_finance", "ledger-"+res.Phase+".jsonl")
	if res.ManifestPath != want {
		t.Fatalf("manifest path %q, want %q", res.ManifestPath, want)
	}
	data, err := os.ReadFile(res.ManifestPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != res.ManifestSHA256 {
		t.Errorf("manifest digest %x, result says %s", sum, res.ManifestSHA256)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e manifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("manifest line %d: %v", n+1, err)
		}
		if e.Type == "file" && len(e.SHA256) != 64 {
			t.Errorf("manifest entry %q has no sha256", e.Path)
		}
		n++
	}
	if int64(n) != res.ManifestEntries || n != entries {
		t.Errorf("manifest has %d lines, result says %d, tree has %d entries", n, res.ManifestEntries, entries)
	}
}

func TestCopyTreeDetectsCorruptTarget(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	f.copy(t, in)
	// Flip one byte and restore size and mtime: only a hash can tell.
	p := filepath.Join(f.dstRoot, "ledger/2024/jan.csv")
	st, _ := os.Stat(p)
	data, _ := os.ReadFile(p)
	data[1000] ^= 0xff
	os.WriteFile(p, data, 0o640)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err == nil {
		t.Fatal("corruption not visible to treecmp; test is broken")
	}
	res := f.copy(t, in)
	if res.CopiedFiles != 1 {
		t.Errorf("copied %d files, want 1 (the corrupted one)", res.CopiedFiles)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeRecopiesOnVerifyMismatch(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	corrupt := func(rel string) {
		p := filepath.Join(f.dstRoot, rel)
		st, _ := os.Stat(p)
		data, _ := os.ReadFile(p)
		if len(data) > 0 {
			data[0] ^= 1
			os.WriteFile(p, data, st.Mode())
			os.Chtimes(p, st.ModTime(), st.ModTime())
		}
	}
	var once atomic.Bool
	f.a.hooks.afterPlace = func(rel string) {
		if rel == "bin/run.sh" && once.CompareAndSwap(false, true) {
			corrupt(rel)
		}
	}
	// The agent engine compares the digest of the bytes the target agent
	// wrote with the source's: it is the stream into the target that
	// carries other bytes (the classic engine reads the placed file back).
	f.corruptAgentWrites("bin/run.sh", false)
	defer func() { f.a.hooks.afterPlace = nil }()
	res := f.copy(t, f.input(CopySet{}))
	if res.Recopied != 1 {
		t.Errorf("recopied %d, want 1", res.Recopied)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}

	// A target that corrupts every write fails loudly and non-retryably.
	f2 := newCopyFixture(t)
	buildTree(t, f2.srcRoot)
	f2.a.hooks.afterPlace = func(rel string) {
		if rel == "bin/run.sh" {
			p := filepath.Join(f2.dstRoot, rel)
			st, _ := os.Stat(p)
			data, _ := os.ReadFile(p)
			data[0] ^= 1
			os.WriteFile(p, data, st.Mode())
		}
	}
	f2.corruptAgentWrites("bin/run.sh", true)
	_, err := f2.a.CopyTree(context.Background(), f2.input(CopySet{}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != contract.ErrVerificationFailed || !strings.Contains(err.Error(), "bin/run.sh") {
		t.Fatalf("want non-retryable VerificationFailed naming bin/run.sh, got %v", err)
	}
	if tmp := listTmp(t, filepath.Dir(f2.dstRoot)); len(tmp) > 0 {
		t.Errorf("temporary files left after failure: %v", tmp)
	}
}

func TestCopyTreeResumesAfterKill(t *testing.T) {
	f := newCopyFixture(t)
	const n = 300
	for i := range n {
		writeFile(t, filepath.Join(f.srcRoot, fmt.Sprintf("d%02d/f%04d", i%10, i)), randBytes(uint64(i), 1000+i*37), 0o644, time.Unix(1700000000+int64(i), 0))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var placed atomic.Int64
	f.a.hooks.afterPlace = func(string) {
		if placed.Add(1) == 100 {
			cancel() // the worker "dies" here
		}
	}
	_, err := f.a.CopyTree(ctx, f.input(CopySet{Concurrency: 4}))
	f.a.hooks.afterPlace = nil
	if err == nil {
		t.Fatal("cancelled copy returned no error")
	}
	if tmp := listTmp(t, f.dstRoot); len(tmp) > 0 {
		t.Errorf("temporary files left after cancel: %v", tmp)
	}
	// A crashed (not cancelled) worker leaves temporary files behind: a
	// partial file and a partial manifest in the state directory.
	staleMan := filepath.Join(filepath.Dir(f.dstRoot), ".umzug", "umzug_test_finance", tmpPrefix+"ledger-seed.jsonl.0123456789ab")
	writeFile(t, staleMan, []byte("{}\n"), 0o600, time.Now())
	stale := filepath.Join(f.dstRoot, "d03", tmpPrefix+"f0003.abcdef")
	writeFile(t, stale, []byte("partial"), 0o600, time.Now())

	res := f.copy(t, f.input(CopySet{Concurrency: 4}))
	if res.CopiedFiles >= n || res.CopiedFiles == 0 || res.Unchanged < 100 {
		t.Errorf("second run copied %d, unchanged %d; want finished files skipped", res.CopiedFiles, res.Unchanged)
	}
	if res.CopiedFiles+res.Unchanged != n {
		t.Errorf("copied %d + unchanged %d != %d", res.CopiedFiles, res.Unchanged, n)
	}
	for _, p := range []string{stale, staleMan} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale temporary file %s not removed: %v", p, err)
		}
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeRefusesEscapes(t *testing.T) {
	f := newCopyFixture(t)
	writeFile(t, filepath.Join(f.srcRoot, "a/ok.txt"), []byte("ok"), 0o644, time.Unix(1700000000, 0))
	os.Symlink("../../etc/passwd", filepath.Join(f.srcRoot, "a", "up"))
	os.Symlink("/etc/passwd", filepath.Join(f.srcRoot, "abs"))
	os.Symlink("ok.txt", filepath.Join(f.srcRoot, "a", "fine"))
	if err := syscall.Mkfifo(filepath.Join(f.srcRoot, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// By default the refusals fail the copy, naming each entry, the kinds
	// and how to accept them; the result still comes with the error.
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != contract.ErrCopyRefused {
		t.Fatalf("want non-retryable %s, got %v", contract.ErrCopyRefused, err)
	}
	for _, want := range []string{`"a/up" (escaping_symlink`, `"abs" (escaping_symlink`, `"fifo" (fifo`, `accept_refusals = ["escaping_symlink", "fifo"]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %s: %v", want, err)
		}
	}
	var details CopyResult
	if !ae.HasDetails() || ae.Details(&details) != nil || details.RefusedByKind[RefusalEscapingSymlink] != 2 || details.RefusedByKind[RefusalFIFO] != 1 {
		t.Errorf("error details: %+v", details)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.dstRoot), ".umzug", "umzug_test_finance", "ledger-seed.jsonl")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused copy committed its manifest: %v", err)
	}

	res := f.copy(t, f.input(CopySet{AcceptRefusals: []string{RefusalEscapingSymlink, RefusalFIFO}}))
	if res.Refused != 3 || len(res.Refusals) != 3 || len(res.RefusalList) != 3 {
		t.Fatalf("refused %d %q; want 3", res.Refused, res.Refusals)
	}
	for _, r := range res.RefusalList {
		if !r.Accepted {
			t.Errorf("refusal %+v not marked accepted", r)
		}
	}
	all := strings.Join(res.Refusals, "\n")
	for _, want := range []string{"a/up", "leaves the copy root", "abs", "absolute", "fifo", "FIFO"} {
		if !strings.Contains(all, want) {
			t.Errorf("refusals %q do not mention %q", all, want)
		}
	}
	for _, p := range []string{"a/up", "abs", "fifo"} {
		if _, err := os.Lstat(filepath.Join(f.dstRoot, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists on the target", p)
		}
	}
	if l, err := os.Readlink(filepath.Join(f.dstRoot, "a", "fine")); err != nil || l != "ok.txt" {
		t.Errorf("in-tree symlink: %q %v", l, err)
	}

	// A target root that is a symlink is refused outright.
	f2 := newCopyFixture(t)
	writeFile(t, filepath.Join(f2.srcRoot, "x"), []byte("x"), 0o644, time.Now())
	real := filepath.Join(f2.dir, "elsewhere")
	os.Mkdir(real, 0o755)
	os.Symlink(real, f2.dstRoot)
	_, err = f2.a.CopyTree(context.Background(), f2.input(CopySet{}))
	if err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("target root symlink: got %v", err)
	}
	if ents, _ := os.ReadDir(real); len(ents) != 0 {
		t.Errorf("wrote through the target root symlink: %v", ents)
	}
}

func TestCopyTreeSourceRootSymlink(t *testing.T) {
	f := newCopyFixture(t)
	writeFile(t, filepath.Join(f.srcRoot, "x"), []byte("x"), 0o644, time.Unix(1700000000, 0))
	link := filepath.Join(f.dir, "srclink")
	os.Symlink(f.srcRoot, link)
	in := f.input(CopySet{})
	in.Set.From = link
	res := f.copy(t, in)
	if res.Files != 1 || res.Refused != 0 || len(res.Refusals) != 1 || !strings.Contains(res.Refusals[0], "symlink") {
		t.Fatalf("files %d refused %d notes %q", res.Files, res.Refused, res.Refusals)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeDeleteStaysInRoot(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	in := f.input(CopySet{Exclude: []string{"*.keep"}})
	f.copy(t, in)
	sibling := filepath.Join(filepath.Dir(f.dstRoot), "sibling")
	writeFile(t, filepath.Join(sibling, "precious.txt"), []byte("keep me"), 0o644, time.Now())
	// Entries gone from the source, one a symlink into the sibling and
	// one a directory holding a symlink to it.
	writeFile(t, filepath.Join(f.dstRoot, "gone.txt"), []byte("x"), 0o644, time.Now())
	writeFile(t, filepath.Join(f.dstRoot, "gonedir/sub/y"), []byte("y"), 0o644, time.Now())
	os.Symlink("../../sibling", filepath.Join(f.dstRoot, "gonedir", "to-sibling"))
	os.Symlink(sibling, filepath.Join(f.dstRoot, "abs-to-sibling"))
	writeFile(t, filepath.Join(f.dstRoot, "local.keep"), []byte("excluded, not ours"), 0o644, time.Now())
	os.Remove(filepath.Join(f.srcRoot, "README"))
	os.Remove(filepath.Join(f.srcRoot, "bin", "readme-link"))

	est, err := f.a.EstimateDelta(context.Background(), func() CopyInput { c := in; c.Delete = true; return c }())
	if err != nil {
		t.Fatal(err)
	}
	// README, readme-link, gone.txt, gonedir (+sub, y, to-sibling), abs-to-sibling
	if est.DeletedFiles != 8 || est.ChangedFiles != 0 {
		t.Errorf("estimate: deleted %d changed %d; want 8, 0", est.DeletedFiles, est.ChangedFiles)
	}

	in.Delete = true
	in.Phase = PhaseFinalSync
	res := f.copy(t, in)
	if res.Deleted != 8 {
		t.Errorf("deleted %d, want 8", res.Deleted)
	}
	if b, err := os.ReadFile(filepath.Join(sibling, "precious.txt")); err != nil || string(b) != "keep me" {
		t.Fatalf("sibling damaged: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(f.dstRoot, "local.keep")); err != nil {
		t.Errorf("excluded target file was deleted: %v", err)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{Skip: []string{"local.keep"}}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeExcludes(t *testing.T) {
	f := newCopyFixture(t)
	mt := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(f.srcRoot, "a/keep.txt"), []byte("keep"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "a/scratch.tmp"), []byte("tmp"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "cache/x/y.bin"), []byte("cache"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "top.tmp"), []byte("tmp"), 0o644, mt)
	os.Chtimes(filepath.Join(f.srcRoot, "a"), mt, mt)
	res := f.copy(t, f.input(CopySet{Exclude: []string{"*.tmp", "cache/**"}}))
	if res.Files != 1 || res.Excluded < 3 {
		t.Errorf("files %d excluded %d; want 1 and >= 3", res.Files, res.Excluded)
	}
	for _, p := range []string{"a/scratch.tmp", "top.tmp", "cache"} {
		if _, err := os.Lstat(filepath.Join(f.dstRoot, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("excluded %s was copied", p)
		}
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{Skip: []string{"a/scratch.tmp", "top.tmp", "cache"}}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeReadBackVerification(t *testing.T) {
	// The target's commands run with a PATH that has no sha256sum: the
	// engine must notice and read files back instead.
	f := newCopyFixture(t, "PATH=/nonexistent")
	f.classicOnly(t, "the agent hashes what it writes and needs no sha256sum on the target")
	files, _ := buildTree(t, f.srcRoot)
	res := f.copy(t, f.input(CopySet{}))
	if res.VerifiedBy != "read-back" || res.Verified != int64(files) {
		t.Errorf("verified %d by %q; want %d by read-back", res.Verified, res.VerifiedBy, files)
	}
	// The forced path (hook) on a host that has sha256sum behaves the same.
	f2 := newCopyFixture(t)
	f2.classicOnly(t, "read-back is the classic engine's")
	buildTree(t, f2.srcRoot)
	f2.a.hooks.forceReadBack = true
	res2 := f2.copy(t, f2.input(CopySet{}))
	if res2.VerifiedBy != "read-back" || res2.Verified != int64(files) {
		t.Errorf("forced: verified %d by %q", res2.Verified, res2.VerifiedBy)
	}
	if _, err := treecmp.Equal(f2.srcRoot, f2.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeBigFileOverSeveralConnections(t *testing.T) {
	old := bigFile
	bigFile = 3 << 20
	defer func() { bigFile = old }()
	f := newCopyFixture(t)
	writeFile(t, filepath.Join(f.srcRoot, "big"), randBytes(9, 9<<20+77), 0o644, time.Unix(1700000000, 0))
	res := f.copy(t, f.input(CopySet{}))
	if res.CopiedBytes != 9<<20+77 || res.Verified != 1 || res.Recopied != 0 {
		t.Errorf("copied %d bytes, verified %d, recopied %d", res.CopiedBytes, res.Verified, res.Recopied)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeBandwidthLimit(t *testing.T) {
	f := newCopyFixture(t)
	writeFile(t, filepath.Join(f.srcRoot, "f"), randBytes(3, 3<<20), 0o644, time.Unix(1700000000, 0))
	start := time.Now()
	f.copy(t, f.input(CopySet{BandwidthBytesPerSec: 1 << 20}))
	// 3 MiB at 1 MiB/s with a 1 MiB burst: at least 2 s.
	if el := time.Since(start); el < 1900*time.Millisecond {
		t.Errorf("3 MiB at 1 MiB/s took %v", el)
	}
}

func TestEstimateDeltaAndSampleThroughput(t *testing.T) {
	f := newCopyFixture(t)
	files, nbytes := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	est, err := f.a.EstimateDelta(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if est.SourceFiles != int64(files) || est.SourceBytes != nbytes || est.ChangedFiles != int64(files) || est.ChangedBytes != nbytes {
		t.Errorf("before seed: %+v; want %d files %d bytes all changed", est, files, nbytes)
	}
	if _, err := os.Lstat(f.dstRoot); !errors.Is(err, os.ErrNotExist) {
		t.Error("EstimateDelta created the target root")
	}
	f.copy(t, in)
	writeFile(t, filepath.Join(f.srcRoot, "new.txt"), []byte("12345"), 0o644, time.Now())
	est, err = f.a.EstimateDelta(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if est.ChangedFiles != 1 || est.ChangedBytes != 5 || est.SourceFiles != int64(files)+1 {
		t.Errorf("after seed + 1 new file: %+v", est)
	}
	bps, err := f.a.SampleThroughput(context.Background(), f.src, f.srcRoot, 4<<20)
	if err != nil || bps <= 0 {
		t.Fatalf("SampleThroughput: %v %v", bps, err)
	}
}

func TestParseSHA256Sum(t *testing.T) {
	h := strings.Repeat("ab", 32)
	out := h + "  /a b/c'd\n" +
		"\\" + h + "  /x\\nnew\\\\line\n" +
		h + " */bin\n" +
		"garbage\n"
	got := parseSHA256Sum([]byte(out))
	want := map[string]string{"/a b/c'd": h, "/x\nnew\\line": h, "/bin": h}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q: got %q", k, got[k])
		}
	}
}

func TestCopyTreeRefusesWhenTargetTooSmall(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	f.a.hooks.freeBytes = 1 << 20
	defer func() { f.a.hooks.freeBytes = 0 }()
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != contract.ErrTargetNoSpace {
		t.Fatalf("want non-retryable %s, got %v", contract.ErrTargetNoSpace, err)
	}
	if !strings.Contains(err.Error(), "target fin_lg has 1.0 MiB free at ") || !strings.Contains(err.Error(), "needs at least") {
		t.Errorf("message: %v", err)
	}
}

func TestCopyTreeSHA256SumWithoutXargs(t *testing.T) {
	// A target with sha256sum but no xargs: paths go on quoted command
	// lines; names with quotes, spaces, newlines and backslashes survive.
	bin := t.TempDir()
	if err := os.Symlink("/usr/bin/sha256sum", filepath.Join(bin, "sha256sum")); err != nil {
		t.Fatal(err)
	}
	f := newCopyFixture(t, "PATH="+bin)
	f.classicOnly(t, "the target's tools are the classic engine's; the agent needs none")
	files, _ := buildTree(t, f.srcRoot)
	res := f.copy(t, f.input(CopySet{}))
	if res.VerifiedBy != "sha256sum" || res.Verified != int64(files) {
		t.Errorf("verified %d by %q; want %d by sha256sum", res.Verified, res.VerifiedBy, files)
	}
	res = f.copy(t, f.input(CopySet{}))
	if res.CopiedFiles != 0 || res.Verified != int64(files) {
		t.Errorf("re-sync copied %d verified %d", res.CopiedFiles, res.Verified)
	}
}

func TestCopyTreeInActivityHeartbeats(t *testing.T) {
	f := newCopyFixture(t)
	files, nbytes := buildTree(t, f.srcRoot)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	var beats atomic.Int64
	var last CopyProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p CopyProgress
		if err := d.Get(&p); err == nil {
			last = p
			beats.Add(1)
		}
	})
	env.RegisterActivity(f.a.CopyTree)
	v, err := env.ExecuteActivity(f.a.CopyTree, f.input(CopySet{}))
	if err != nil {
		t.Fatal(err)
	}
	var res CopyResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.CopiedFiles != int64(files) {
		t.Errorf("copied %d files, want %d", res.CopiedFiles, files)
	}
	if beats.Load() == 0 || last.FilesDone != int64(files) || last.BytesDone != nbytes || last.Set != "ledger" {
		t.Errorf("heartbeats %d, last %+v; want the final position %d files %d bytes", beats.Load(), last, files, nbytes)
	}
}

func TestCopyTreeSourceFileVanishes(t *testing.T) {
	f := newCopyFixture(t)
	files, _ := buildTree(t, f.srcRoot)
	f.a.hooks.beforeCopy = func(rel string) {
		if rel == "README" {
			os.Remove(filepath.Join(f.srcRoot, rel))
		}
	}
	defer func() { f.a.hooks.beforeCopy = nil }()
	res := f.copy(t, f.input(CopySet{}))
	// Gone is not refused: the final sync sees the tree as it is then.
	if res.Files != int64(files-1) || res.Refused != 0 || !strings.Contains(strings.Join(res.Refusals, ""), "vanished") {
		t.Errorf("files %d refused %d %q", res.Files, res.Refused, res.Refusals)
	}
	// The dangling in-tree symlink to README is still copied as a link.
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}
