//go:build interop

package bench

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

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
