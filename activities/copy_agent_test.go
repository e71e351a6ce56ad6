//go:build linux

package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/umzug-dev/umzug/internal/testkit"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// agentBinDir is the agent built for this test binary.
func agentBinDir(t testing.TB) string { return testkit.AgentDir(t) }

// useAgentEngine makes f's activities copy through the agents.
func useAgentEngine(t testing.TB, f *copyFixture) {
	f.a.CopyEngine, f.a.AgentDir = CopyEngineAgent, agentBinDir(t)
	f.a.AgentHome = filepath.Join(f.dir, "home")
	if err := os.MkdirAll(f.a.AgentHome, 0o700); err != nil {
		t.Fatal(err)
	}
}

func agentFixture(t *testing.T) (*copyFixture, *bytes.Buffer) {
	f := newCopyFixture(t)
	useAgentEngine(t, f)
	var trace bytes.Buffer
	f.a.Options.Trace = &trace
	f.a.Pool.IdleTimeout = time.Minute
	t.Cleanup(func() { f.a.Close() })
	return f, &trace
}

// manifestLines reads a manifest, checks its digest and returns its
// lines sorted.
func manifestLines(t *testing.T, res CopyResult) []string {
	t.Helper()
	b, err := os.ReadFile(res.ManifestPath)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != res.ManifestSHA256 {
		t.Fatalf("manifest digest %s, result says %s", hex.EncodeToString(s[:]), res.ManifestSHA256)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if int64(len(lines)) != res.ManifestEntries {
		t.Fatalf("manifest has %d lines, result says %d", len(lines), res.ManifestEntries)
	}
	slices.Sort(lines)
	return lines
}

// TestCopyTreeAgentEngine runs CopyTree through umzug-agent on both hosts:
// a seed, a trusted final sync, and a sync whose state was forged.
func TestCopyTreeAgentEngine(t *testing.T) {
	f, trace := agentFixture(t)
	files, size := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})

	seed := f.copy(t, in)
	if !strings.Contains(trace.String(), "umzug-agent on fin_pb") || !strings.Contains(trace.String(), "umzug-agent on fin_lg") {
		t.Fatalf("the agents did not run; trace:\n%s", trace)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	if seed.CopiedFiles != int64(files) || seed.CopiedBytes != size || seed.Files != int64(files) || seed.Verified != int64(files) ||
		seed.IdentState == nil || seed.IdentState.Records != int64(files) || seed.Refused != 0 {
		t.Fatalf("seed: %+v", seed)
	}
	agentMan := manifestLines(t, seed)
	plain := slices.Clone(agentMan)
	// The agent engine also records owner names (and ACLs and attribute
	// digests, none here); the rest of each line is the classic engine's.
	for i, l := range agentMan {
		var e manifestEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e.Owner != "root" || e.Group != "root" {
			t.Fatalf("agent manifest line without the owner's names: %s", l)
		}
		e.Owner, e.Group = "", ""
		plain[i] = string(mustJSON(e))
	}

	// The classic engine's manifest of the same tree has the same lines.
	classic := &Activities{IdentStateDir: filepath.Join(f.dir, "identstate-classic"), CopyEngine: CopyEngineClassic}
	cin := in
	cin.Set.To = filepath.Join(f.dir, "dst", "classic")
	cin.IdentState = nil
	cres, err := classic.CopyTree(t.Context(), cin)
	if err != nil {
		t.Fatal(err)
	}
	if cm := manifestLines(t, cres); !slices.Equal(cm, plain) {
		t.Fatalf("manifests differ\nclassic:\n%s\nagent:\n%s", strings.Join(cm, "\n"), strings.Join(plain, "\n"))
	}

	// A final sync trusts the state the seed returned and reads nothing.
	in.Phase, in.Delete = PhaseFinalSync, true
	sync := f.copy(t, in)
	if sync.Kept != int64(files) || sync.CopiedFiles != 0 || sync.VerifiedBy != verifiedByIdentity || sync.IdentStateNote != "" {
		t.Fatalf("trusted sync: %+v", sync)
	}
	if m := manifestLines(t, sync); !slices.Equal(m, agentMan) {
		t.Fatalf("final sync manifest differs from the seed's:\n%s", strings.Join(m, "\n"))
	}

	// A state rewritten on the target no longer hashes to the digest the
	// seed returned: every file is hashed on both hosts, the change found.
	sp := filepath.Join(f.a.IdentStateDir, sanitizeName(in.MoveID), "ledger"+agentStateSuffix)
	b, err := os.ReadFile(sp)
	if err != nil {
		t.Fatalf("the agent engine's state: %v", err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(sp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	writeFile(t, filepath.Join(f.dstRoot, "secret.key"), bytes.Repeat([]byte{'x'}, 3000), 0o600, old.Add(time.Hour))
	forged := f.copy(t, in)
	if forged.Kept != 0 || forged.Recopied != 1 || forged.IdentStateNote == "" {
		t.Fatalf("forged state: %+v", forged)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	// Both test hosts share one home: one upload. The worker keeps its
	// agents: one start per host for all three copies.
	if up, started := strings.Count(trace.String(), "uploaded true"), strings.Count(trace.String(), "(started, "); up != 1 || started != 2 || f.a.agentStarts() != 2 {
		t.Errorf("%d uploads and %d agent starts, want 1 and 2:\n%s", up, started, trace)
	}
}

// The agent engine refuses a target root that is a symlink, writes
// nothing through it, and copies without a state when the state's place
// is open to others (saying why), as the classic engine does.
func TestCopyTreeAgentUnsafePlaces(t *testing.T) {
	f, _ := agentFixture(t)
	files, _ := buildTree(t, f.srcRoot)

	real := filepath.Join(f.dir, "elsewhere")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, f.dstRoot); err != nil {
		t.Fatal(err)
	}
	_, err := f.a.CopyTree(t.Context(), f.input(CopySet{}))
	if err == nil || !strings.Contains(err.Error(), "is a symlink; refusing to write through it") {
		t.Fatalf("target root symlink: %v", err)
	}
	if ents, _ := os.ReadDir(real); len(ents) != 0 {
		t.Fatalf("wrote through the target root symlink: %v", ents)
	}
	os.Remove(f.dstRoot)

	open := filepath.Join(f.dir, "open")
	if err := os.MkdirAll(filepath.Join(open, "deeper"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	f.a.IdentStateDir = filepath.Join(open, "deeper", "identstate")
	res := f.copy(t, f.input(CopySet{}))
	if res.IdentState != nil || res.CopiedFiles != int64(files) || !strings.Contains(strings.Join(res.Refusals, "\n"), "could not record verified identities") {
		t.Fatalf("state dir open to others: %+v", res)
	}
	if _, err := os.Stat(f.a.IdentStateDir); !os.IsNotExist(err) {
		t.Fatalf("state dir created below a directory open to others: %v", err)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// EstimateDelta through the agents: nothing to do after a seed, one file
// to hash after a change that moved only its ctime, one to copy after an
// edit.
func TestEstimateDeltaAgentEngine(t *testing.T) {
	f, trace := agentFixture(t)
	files, size := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	// No target yet: the classic estimate answers, every file is new.
	est, err := f.a.EstimateDelta(t.Context(), in)
	if err != nil || est.ChangedFiles != int64(files) || est.ChangedBytes != size {
		t.Fatalf("before the seed: %+v, %v", est, err)
	}
	f.copy(t, in)
	in.Phase, in.IdentState = PhaseFinalSync, f.state
	est, err = f.a.EstimateDelta(t.Context(), in)
	// The tree is root's on both hosts: umzug plan shows how owners map.
	if !slices.Contains(est.Owners, "user root 0→0 (by name)") || !slices.Contains(est.Owners, "group root 0→0 (by name)") || len(est.UnknownOwners) != 0 {
		t.Errorf("owners: %q, unknown %q", est.Owners, est.UnknownOwners)
	}
	if err != nil || est.HashFiles != 0 || est.ChangedFiles != 0 || est.SourceFiles != int64(files) || est.SourceBytes != size {
		t.Fatalf("after seed: %+v, %v; want nothing to hash or copy", est, err)
	}
	p := filepath.Join(f.srcRoot, "secret.key")
	st, _ := os.Stat(p)
	time.Sleep(10 * time.Millisecond)
	os.Chmod(p, 0o600) // moves ctime only
	os.Chtimes(p, st.ModTime(), st.ModTime())
	writeFile(t, filepath.Join(f.srcRoot, "README"), []byte("edited"), 0o644, time.Now())
	est, err = f.a.EstimateDelta(t.Context(), in)
	if err != nil || est.HashFiles != 1 || est.HashBytes != 3000 || est.ChangedFiles != 1 || est.ChangedBytes != 6 {
		t.Fatalf("after a ctime change and an edit: %+v, %v; want 1 file (3000 bytes) to hash, 1 (6 bytes) to copy", est, err)
	}
	if !strings.Contains(trace.String(), "umzug copy: agent ") {
		t.Fatalf("the agents did not run:\n%s", trace)
	}
}

// The worker keeps one agent per host across copies and estimates, and
// ends them when it stops (Close): the next copy starts new ones.
func TestAgentPoolReusesAndCloses(t *testing.T) {
	f, _ := agentFixture(t)
	buildTree(t, f.srcRoot)
	f.copy(t, f.input(CopySet{}))
	if _, err := f.a.EstimateDelta(t.Context(), f.input(CopySet{})); err != nil {
		t.Fatal(err)
	}
	f.copy(t, f.input(CopySet{}))
	if n := f.a.agentStarts(); n != 2 {
		t.Fatalf("%d agents started for two copies and an estimate on two hosts, want 2", n)
	}
	p := f.a.agentPool()
	p.mu.Lock()
	var agents []*agentEntry
	for _, e := range p.entries {
		agents = append(agents, e)
	}
	p.mu.Unlock()
	f.a.Close()
	for _, e := range agents {
		select {
		case <-e.agent.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("agent on %s still runs after Close", e.conn.Host.Name)
		}
	}
	f.copy(t, f.input(CopySet{}))
	if n := f.a.agentStarts(); n != 4 {
		t.Errorf("%d agents started after Close and another copy, want 4", n)
	}
}

// BenchmarkCopyTreeEngines seeds the same tree (2,000 files of 8 KiB and
// one of 64 MiB) with each engine over the in-process SSH servers.
func BenchmarkCopyTreeEngines(b *testing.B) {
	for _, engine := range []string{CopyEngineClassic, CopyEngineAgent} {
		b.Run(engine, func(b *testing.B) {
			f := newCopyFixture(b)
			f.a.CopyEngine = engine
			mt := time.Unix(1700000000, 0)
			for i := range 2000 {
				writeFile(b, filepath.Join(f.srcRoot, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d", i)), randBytes(uint64(i), 8<<10), 0o644, mt)
			}
			writeFile(b, filepath.Join(f.srcRoot, "big.bin"), randBytes(7, 64<<20), 0o644, mt)
			b.ResetTimer()
			for i := range b.N {
				in := f.input(CopySet{})
				in.Set.To = filepath.Join(f.dir, "dst", fmt.Sprintf("run%d", i))
				in.MoveID = fmt.Sprintf("bench-%d", i)
				if _, err := f.a.CopyTree(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFinalSyncEngines runs a final sync of an unchanged tree (4,000
// files of 4 KiB) without an identity state, so that every file is hashed
// on both hosts: the case a final sync's per-file round trips cost most.
func BenchmarkFinalSyncEngines(b *testing.B) {
	for _, engine := range []string{CopyEngineClassic, CopyEngineAgent} {
		b.Run(engine, func(b *testing.B) {
			f := newCopyFixture(b)
			f.a.CopyEngine = engine
			mt := time.Unix(1700000000, 0)
			for i := range 4000 {
				writeFile(b, filepath.Join(f.srcRoot, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d", i)), randBytes(uint64(i), 4<<10), 0o644, mt)
			}
			in := f.input(CopySet{})
			if _, err := f.a.CopyTree(b.Context(), in); err != nil {
				b.Fatal(err)
			}
			in.Phase = PhaseFinalSync
			b.ResetTimer()
			for range b.N {
				res, err := f.a.CopyTree(b.Context(), in)
				if err != nil {
					b.Fatal(err)
				}
				if res.CopiedFiles != 0 || res.Verified != 4000 || res.Kept != 0 {
					b.Fatalf("final sync copied %d, verified %d, kept %d; want 0, 4000, 0", res.CopiedFiles, res.Verified, res.Kept)
				}
			}
		})
	}
}

// stuckSide never finishes a write while the connections still answer:
// nothing moves, nothing runs remotely.
type stuckSide struct{ mirror.Side }

func (s stuckSide) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	<-ctx.Done()
	return mirror.Placed{}, ctx.Err()
}

// A copy through the agents that moves nothing for the no-progress bound
// ends with a retryable NoProgress error (heartbeats alone would keep it
// running forever) and leaves its connections out of the pool.
func TestCopyTreeAgentStallEnds(t *testing.T) {
	f, trace := agentFixture(t)
	buildTree(t, f.srcRoot)
	f.a.Options.NoProgress = 300 * time.Millisecond
	f.a.hooks.wrapAgentTarget = func(s mirror.Side) mirror.Side { return stuckSide{s} }
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := f.a.CopyTree(ctx, f.input(CopySet{}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrNoProgress || ae.NonRetryable() {
		t.Fatalf("want a retryable NoProgress error, got %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("stall noticed after %v", d)
	}
	f.a.hooks.wrapAgentTarget = nil
	f.copy(t, f.input(CopySet{}))
	if n := strings.Count(trace.String(), "umzug copy: agent "); n != 4 {
		t.Errorf("%d agent starts, want 4 (the stalled copy's connections were not reused):\n%s", n, trace)
	}
}

// freezeOnWrite freezes the source's link once the first file's write
// began: the source agent's stream stops mid-file.
type freezeOnWrite struct {
	mirror.Side
	once  sync.Once
	proxy *freezeProxy
}

func (s *freezeOnWrite) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	s.once.Do(func() { s.proxy.freeze(true) })
	return s.Side.WriteFile(ctx, rel, m, r)
}

// A link to the source that hangs mid-copy ends the attempt by the
// no-progress bound, with the SSH channel's window full: the stall closes
// the connections instead of waiting on them.
func TestCopyTreeAgentReturnsOnHungLink(t *testing.T) {
	f, _ := agentFixture(t)
	var proxy *freezeProxy
	f.src, proxy = proxied(t, f.src)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(9, 16<<20), 0o644, time.Unix(1700000000, 0))
	f.a.Options.NoProgress = 300 * time.Millisecond
	f.a.hooks.wrapAgentTarget = func(s mirror.Side) mirror.Side { return &freezeOnWrite{Side: s, proxy: proxy} }
	err := copyReturns(t, f.a, t.Context(), f.input(CopySet{}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrNoProgress {
		t.Fatalf("want NoProgress, got %v", err)
	}
	proxy.freeze(false)
	f.a.hooks.wrapAgentTarget = nil
	f.copy(t, f.input(CopySet{}))
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A first copy into a target whose parents do not exist yet (a
// partner's landing directory) makes them, as the classic engine does,
// and copies the tree whole.
func TestCopyTreeAgentMakesMissingParents(t *testing.T) {
	f, _ := agentFixture(t)
	buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	in.Set.To = filepath.Join(f.dir, "landing", "owl", "key-1")
	res := f.copy(t, in)
	if res.CopiedFiles == 0 {
		t.Fatalf("nothing copied: %+v", res)
	}
	if _, err := treecmp.Equal(f.srcRoot, in.Set.To, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}
