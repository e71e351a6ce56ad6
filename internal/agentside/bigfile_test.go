//go:build linux

package agentside

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// bigRun copies src to dst through the agents with big-file ranges on.
func bigRun(t *testing.T, sides sidesFunc, src, dst, state string, o mirror.BigOptions) mirror.Result {
	t.Helper()
	s, d := sides(t, src, dst, state)
	defer s.Close()
	defer d.Close()
	res, err := mirror.Run(context.Background(), mirror.Spec{Name: "set", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed},
		s, d, mirror.Options{Big: o}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), ".umzug-tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// A partial copy left by an earlier attempt is resumed: its whole chunks
// that match the source are kept, the one that differs and the rest are
// sent; something planted under the partial copy's name (a symlink or a
// hard link to a file outside) is never written through.
func TestBigFileResumesAndRefusesPlantedPartial(t *testing.T) {
	sa, da := agents(t)
	sides := agentSides(sa, da)
	const chunk = 1 << 20
	o := mirror.BigOptions{ResumeSalt: "move-1", Chunk: chunk, StripeFrom: 64 << 20}
	for _, plant := range []string{"partial", "symlink", "hardlink"} {
		t.Run(plant, func(t *testing.T) {
			base := t.TempDir()
			src, dst, state := filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "state")
			for _, d := range []string{dst, state} {
				os.MkdirAll(d, 0o700)
			}
			data := randomBytes(7, 9*chunk+333)
			write(t, filepath.Join(src, "db/big.bin"), string(data), 0o640)
			os.MkdirAll(filepath.Join(dst, "db"), 0o755)
			fi, _ := os.Stat(filepath.Join(src, "db/big.bin"))
			key := mirror.PartialKey(o.ResumeSalt, "set", "db/big.bin", fi.Size(), fi.ModTime().UnixNano())
			name, err := agentproto.PartialName(key, "big.bin")
			if err != nil {
				t.Fatal(err)
			}
			part := filepath.Join(dst, "db", name)
			victim := filepath.Join(base, "victim")
			os.WriteFile(victim, []byte("outside"), 0o600)
			switch plant {
			case "partial":
				p := bytes.Clone(data[:4*chunk+10])
				p[chunk+5] ^= 0xff // a write that had not finished
				os.WriteFile(part, p, 0o600)
			case "symlink":
				os.Symlink(victim, part)
			case "hardlink":
				if err := os.Link(victim, part); err != nil {
					t.Skip(err)
				}
			}
			res := bigRun(t, sides, src, dst, state, o)
			if plant == "partial" && (res.ResumedBytes != 3*chunk || res.ResentBytes != chunk+10) {
				t.Errorf("resumed %d re-sent %d; want 3 chunks kept, the corrupt one and the tail sent again", res.ResumedBytes, res.ResentBytes)
			}
			if plant != "partial" && res.ResumedBytes != 0 {
				t.Errorf("resumed %d bytes of a planted file", res.ResumedBytes)
			}
			if b, _ := os.ReadFile(victim); string(b) != "outside" {
				t.Errorf("the file outside was written through the partial copy's name (now %d bytes)", len(b))
			}
			if res.CopiedFiles != 1 || res.Verified != 1 {
				t.Errorf("copied %d verified %d", res.CopiedFiles, res.Verified)
			}
			if _, err := treecmp.Equal(src, dst, treecmp.Options{}); err != nil {
				t.Fatal(err)
			}
			noTemps(t, dst)
		})
	}
}

// A striped file lands out of order over several requests at once and
// is placed with the source's digest.
func TestBigFileStriped(t *testing.T) {
	sa, da := agents(t)
	base := t.TempDir()
	src, dst, state := filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "state")
	os.MkdirAll(dst, 0o700)
	os.MkdirAll(state, 0o700)
	write(t, filepath.Join(src, "big.bin"), string(randomBytes(9, 13<<20+7)), 0o644)
	write(t, filepath.Join(src, "small"), "s", 0o644)
	res := bigRun(t, agentSides(sa, da), src, dst, state,
		mirror.BigOptions{ResumeSalt: "m", Chunk: 1 << 20, StripeFrom: 4 << 20, Lanes: 4, HashEvery: 2 << 20})
	if res.CopiedFiles != 2 || res.Verified != 2 || res.CopiedBytes != 13<<20+8 {
		t.Errorf("copied %d files %d bytes, verified %d", res.CopiedFiles, res.CopiedBytes, res.Verified)
	}
	if _, err := treecmp.Equal(src, dst, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	noTemps(t, dst)
}
