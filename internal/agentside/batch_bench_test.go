//go:build linux

package agentside

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/mirror"
)

// single hides a side's batch methods: the engine copies file by file.
type single struct{ mirror.Side }

// BenchmarkSmallFiles copies 2,000 files of 1–16 KiB between two agents
// reached over SSH, file by file and in batches, each with and without
// the per-file fsync.
func BenchmarkSmallFiles(b *testing.B) {
	sa, da := agents(b)
	base := b.TempDir()
	src := filepath.Join(base, "src")
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 16<<10)
	for i := range 2000 {
		n := 1<<10 + rng.IntN(15<<10)
		for j := range n {
			buf[j] = byte(rng.Uint32())
		}
		p := filepath.Join(src, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf[:n], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	runs := 0
	for _, batch := range []bool{false, true} {
		for _, fsync := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%v/fsync=%v", batch, fsync), func(b *testing.B) {
				ctx := context.Background()
				for range b.N {
					runs++
					dst := filepath.Join(base, fmt.Sprint("dst", runs))
					os.Mkdir(dst, 0o755)
					sr, err := sa.OpenRoot(ctx, src, agentproto.RoleSource)
					if err != nil {
						b.Fatal(err)
					}
					dr, err := da.OpenRoot(ctx, dst, agentproto.RoleTarget)
					if err != nil {
						b.Fatal(err)
					}
					var s, d mirror.Side = New(sr, Options{}), New(dr, Options{NoFsync: !fsync})
					if !batch {
						s, d = single{s}, single{d}
					}
					res, err := mirror.Run(ctx, mirror.Spec{Name: "bench", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed}, s, d, mirror.Options{}, nil)
					s.Close()
					d.Close()
					if err != nil || res.CopiedFiles != 2000 {
						b.Fatalf("run: %v (%+v)", err, res)
					}
				}
			})
		}
	}
}
