package mirror

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// BenchmarkSmallFilesVsCp copies 20,000 files of 1–64 KiB (200 directories
// of 100) local→local through LocalSide with verify = "sha256", and the same
// tree with `cp -a`, and reports the engine's time over cp's as "x-cp".
func BenchmarkSmallFilesVsCp(b *testing.B) {
	const dirs, per = 200, 100
	base := b.TempDir()
	src := filepath.Join(base, "src")
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64<<10)
	var total int64
	for d := range dirs {
		dir := filepath.Join(src, fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(dir, 0755); err != nil {
			b.Fatal(err)
		}
		for f := range per {
			n := 1<<10 + rng.IntN(63<<10+1)
			for i := range n {
				buf[i] = byte(rng.Uint32())
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", f)), buf[:n], 0644); err != nil {
				b.Fatal(err)
			}
			total += int64(n)
		}
	}
	b.SetBytes(total)
	var engine, cp time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := filepath.Join(base, fmt.Sprintf("dst%d", i))
		cpDst := filepath.Join(base, fmt.Sprintf("cp%d", i))
		if err := os.Mkdir(dst, 0755); err != nil {
			b.Fatal(err)
		}
		s, err := NewLocalSide(src, LocalOptions{})
		if err != nil {
			b.Fatal(err)
		}
		d, err := NewLocalSide(dst, LocalOptions{StateDir: base})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := Run(context.Background(), Spec{Name: "bench", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed,
			State: StateRef{Name: "bench.state"}}, s, d, Options{NoSync: true}, nil)
		engine += time.Since(start)
		b.StopTimer()
		s.Close()
		d.Close()
		if err != nil || res.CopiedFiles != dirs*per {
			b.Fatalf("run: %v (%+v)", err, res)
		}
		start = time.Now()
		if out, err := exec.Command("cp", "-a", src, cpDst).CombinedOutput(); err != nil {
			b.Fatalf("cp -a: %v\n%s", err, out)
		}
		cp += time.Since(start)
		os.RemoveAll(dst)
		os.RemoveAll(cpDst)
		b.StartTimer()
	}
	b.ReportMetric(float64(engine)/float64(cp), "x-cp")
	b.ReportMetric(float64(engine.Milliseconds())/float64(b.N), "engine-ms/op")
	b.ReportMetric(float64(cp.Milliseconds())/float64(b.N), "cp-ms/op")
}
