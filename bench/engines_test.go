//go:build interop

package bench

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
)

var enginesSize = flag.Int64("umzug.engines-size", 1<<30, "BenchmarkBigFileEngines: the file's size in bytes")

// BenchmarkBigFileEngines seeds one big file (-umzug.engines-size,
// default 1 GiB) with verify = "sha256" through the classic engine and
// the agent engine, against rsync in the same run (fastest of
// -umzug.reps each, interleaved).
func BenchmarkBigFileEngines(b *testing.B) {
	e := getEnv(b)
	agentDir := filepath.Join(e.dir, "agent")
	cmd := exec.Command("go", "build", "-o", filepath.Join(agentDir, "umzug-agent-linux-"+runtime.GOARCH), "github.com/umzug-dev/umzug/cmd/umzug-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build umzug-agent: %v: %s", err, out)
	}
	root := filepath.Join(e.dir, "engines")
	src := filepath.Join(root, "src")
	os.MkdirAll(src, 0o755)
	if err := GenLargeFile(filepath.Join(src, "big.bin"), *enginesSize, 1); err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(root)
	defer func() { e.engineArgs = nil }()
	for b.Loop() {
		best := map[string]float64{"rsync": 1e9, "classic": 1e9, "agent": 1e9}
		for range *reps {
			dst := filepath.Join(root, "rsync")
			best["rsync"] = min(best["rsync"], e.rsync(b, src, dst))
			os.RemoveAll(dst)
			for _, engine := range []string{"classic", "agent"} {
				e.engineArgs = []string{"-engine", engine, "-agent-dir", agentDir}
				dst := filepath.Join(root, engine)
				res, wall, _ := e.umzug(b, "engines-"+engine, src, dst, contract.VerifySHA256, false)
				mustEqual(b, src, dst)
				if res.Verified != 1 {
					b.Fatalf("%s engine verified %d files", engine, res.Verified)
				}
				best[engine] = min(best[engine], res.Duration.Seconds())
				b.Logf("%s engine: %.2f s (process %.2f s)", engine, res.Duration.Seconds(), wall)
				os.RemoveAll(dst)
			}
		}
		mib := float64(*enginesSize) / (1 << 20)
		b.Logf("%.0f MiB seed, sha256: rsync %.2f s, classic %.2f s (%.2f× rsync's speed), agent %.2f s (%.2f× rsync's, %.2f× classic's)",
			mib, best["rsync"], best["classic"], best["rsync"]/best["classic"], best["agent"], best["rsync"]/best["agent"], best["classic"]/best["agent"])
		b.ReportMetric(best["classic"]/best["agent"], "agent-speed-vs-classic")
		b.ReportMetric(best["rsync"]/best["agent"], "agent-speed-vs-rsync")
	}
}

var (
	rowsBig  = flag.Int64("umzug.rows-big", 2<<30, "BenchmarkEngineRows: the big file's size in bytes")
	rowsMany = flag.Int("umzug.rows-many", 200000, "BenchmarkEngineRows: number of files of 0–2 KiB")
)

// buildAgent builds umzug-agent for this machine into dir/agent once.
func (e *env) buildAgent(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(e.dir, "agent")
	p := filepath.Join(dir, "umzug-agent-linux-"+runtime.GOARCH)
	if _, err := os.Stat(p); err == nil {
		return dir
	}
	cmd := exec.Command("go", "build", "-o", p, "github.com/umzug-dev/umzug/cmd/umzug-agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build umzug-agent: %v: %s", err, out)
	}
	return dir
}

// engineCopy runs one copy through the named engine, passed explicitly
// so the worker's default does not decide what is measured.
func (e *env) engineCopy(b *testing.B, engine, agentDir, name, from, to, phase string) (contract.CopyResult, float64) {
	b.Helper()
	e.engineArgs = []string{"-engine", engine, "-agent-dir", agentDir}
	defer func() { e.engineArgs = nil }()
	res, wall, _ := e.umzugPhase(b, name+"-"+engine, from, to, contract.VerifySHA256, phase, false)
	return res, wall
}

// engineRow records one row: rsync, then each engine with its ratio to
// rsync (speed: above 1.0× faster than rsync).
func (e *env) engineRow(b *testing.B, name string, files, bytes int64, rs float64, best map[string]float64) {
	e.record(row{Case: name, Tool: "rsync -a", Seconds: rs, Files: files, Bytes: bytes})
	for _, en := range []string{activities.CopyEngineClassic, activities.CopyEngineAgent} {
		e.record(row{Case: name, Tool: "umzug " + en + " verify=sha256", Seconds: best[en], Files: files, Bytes: bytes, Baseline: "rsync -a", BaselineSeconds: rs})
	}
	b.Logf("%s: rsync %.2f s, classic %.2f s (%.2f× rsync), agent %.2f s (%.2f× rsync); agent/classic time %.3f",
		name, rs, best["classic"], rs/best["classic"], best["agent"], rs/best["agent"], best["agent"]/best["classic"])
}

// BenchmarkEngineRows measures every target row of the copy engine with
// the classic engine (before) and the agent engine (after) against rsync
// in the same run, the tools taking turns: (a) a big-file seed
// (-umzug.rows-big, once), (b) 20,000 files of 1–64 KiB, (g) a final
// sync after 1 % of them changed (best of -umzug.reps each), (e)
// -umzug.rows-many files of 0–2 KiB (once).
func BenchmarkEngineRows(b *testing.B) {
	e := getEnv(b)
	agentDir := e.buildAgent(b)
	engines := []string{activities.CopyEngineClassic, activities.CopyEngineAgent}
	for b.Loop() {
		// (b) and (g): 20,000 small files; the trees stay (see
		// BenchmarkSmallFilesAndResync on deleted inodes).
		n := 20000
		root := filepath.Join(e.dir, "rows-b")
		src := filepath.Join(root, "src")
		total, err := GenSmallFiles(src, n, 1<<10, 64<<10, 100, 2)
		if err != nil {
			b.Fatal(err)
		}
		rs, best := 1e9, map[string]float64{"classic": 1e9, "agent": 1e9}
		dsts := map[string]string{}
		rdst := ""
		for i := range *reps {
			rdst = filepath.Join(root, fmt.Sprintf("rsync-%d", i))
			rs = min(rs, e.rsync(b, src, rdst))
			order := slices.Clone(engines)
			if i%2 == 1 {
				slices.Reverse(order)
			}
			for _, en := range order {
				// Each engine's targets under a parent of their own: the
				// identity state lives next to the target.
				dsts[en] = filepath.Join(root, en, strconv.Itoa(i))
				os.MkdirAll(filepath.Dir(dsts[en]), 0o755)
				res, wall := e.engineCopy(b, en, agentDir, "rows-small", src, dsts[en], contract.PhaseSeed)
				if res.CopiedFiles != int64(n) {
					b.Fatalf("%s engine copied %d of %d files", en, res.CopiedFiles, n)
				}
				mustEqual(b, src, dsts[en])
				best[en] = min(best[en], wall)
			}
		}
		e.engineRow(b, fmt.Sprintf("(b) %d files 1–64 KiB, seed (best of %d)", n, *reps), int64(n), total, rs, best)

		rs, best = 1e9, map[string]float64{"classic": 1e9, "agent": 1e9}
		states := map[string]*contract.IdentState{}
		var cf int
		var cb int64
		for i := range *reps {
			for _, en := range engines { // the seed before the window, its state kept per engine
				e.engineCopy(b, en, agentDir, "rows-reseed", src, dsts[en], contract.PhaseSeed)
				states[en] = e.state
			}
			cf, cb, err = ModifyFraction(src, 0.01, uint64(200+i))
			if err != nil {
				b.Fatal(err)
			}
			rs = min(rs, e.rsync(b, src, rdst))
			order := slices.Clone(engines)
			if i%2 == 1 {
				slices.Reverse(order)
			}
			for _, en := range order {
				e.state = states[en]
				res, wall := e.engineCopy(b, en, agentDir, "rows-final1pct", src, dsts[en], contract.PhaseFinalSync)
				if res.CopiedFiles != int64(cf) || res.Kept != int64(n-cf) {
					b.Fatalf("%s engine: 1%% final sync copied %d kept %d, want %d, %d", en, res.CopiedFiles, res.Kept, cf, n-cf)
				}
				mustEqual(b, src, dsts[en])
				best[en] = min(best[en], wall)
			}
		}
		e.engineRow(b, fmt.Sprintf("(g) final sync, 1%% of %d changed (best of %d)", n, *reps), int64(cf), cb, rs, best)

		// (e) many tiny files, once each.
		m := *rowsMany
		root = filepath.Join(e.dir, "rows-e")
		src = filepath.Join(root, "src")
		if total, err = GenSmallFiles(src, m, 0, 2<<10, 500, 5); err != nil {
			b.Fatal(err)
		}
		best = map[string]float64{}
		rs = e.rsync(b, src, filepath.Join(root, "rsync"))
		for _, en := range engines {
			dst := filepath.Join(root, en)
			res, wall := e.engineCopy(b, en, agentDir, "rows-many", src, dst, contract.PhaseSeed)
			if res.CopiedFiles != int64(m) {
				b.Fatalf("%s engine copied %d of %d files", en, res.CopiedFiles, m)
			}
			mustEqual(b, src, dst)
			best[en] = wall
		}
		e.engineRow(b, fmt.Sprintf("(e) %d files 0–2 KiB, seed (once)", m), int64(m), total, rs, best)

		// (a) one big file, once each; removed afterwards (one file, no
		// inode effect).
		root = filepath.Join(e.dir, "rows-a")
		src = filepath.Join(root, "src")
		os.MkdirAll(src, 0o755)
		if err := GenLargeFile(filepath.Join(src, "big.bin"), *rowsBig, 1); err != nil {
			b.Fatal(err)
		}
		best = map[string]float64{}
		rs = e.rsync(b, src, filepath.Join(root, "rsync"))
		os.RemoveAll(filepath.Join(root, "rsync"))
		for _, en := range engines {
			dst := filepath.Join(root, en)
			res, wall := e.engineCopy(b, en, agentDir, "rows-big", src, dst, contract.PhaseSeed)
			if res.Verified != 1 {
				b.Fatalf("%s engine verified %d files", en, res.Verified)
			}
			mustEqual(b, src, dst)
			best[en] = wall
			os.RemoveAll(dst)
		}
		e.engineRow(b, fmt.Sprintf("(a) 1 file %d MiB, seed (once)", *rowsBig>>20), 1, *rowsBig, rs, best)
		os.RemoveAll(root)
	}
}
