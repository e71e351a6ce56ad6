//go:build linux

package agentside

import (
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/mirror"
)

func lstat(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

// linkedAs fails unless the names are one inode with nlink links.
func linkedAs(t *testing.T, root string, nlink uint64, names ...string) {
	t.Helper()
	first := lstat(t, filepath.Join(root, names[0]))
	if uint64(first.Nlink) != nlink {
		t.Errorf("%s: %d links, want %d", names[0], first.Nlink, nlink)
	}
	for _, n := range names[1:] {
		if lstat(t, filepath.Join(root, n)).Ino != first.Ino {
			t.Errorf("%s is not a hard link of %s", n, names[0])
		}
	}
}

func mustRun(t *testing.T, spec mirror.Spec, s, d mirror.Side, o mirror.Options) mirror.Result {
	t.Helper()
	defer s.Close()
	defer d.Close()
	res, err := mirror.Run(context.Background(), spec, s, d, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Link groups, a link broken and one added between seed and final sync, and
// a target file planted as a hard link to a file outside the target: the
// same outcome over LocalSide and over two agents.
func TestHardLinksThroughAgents(t *testing.T) {
	sa, da := agents(t)
	for name, mk := range map[string]sidesFunc{"local": localSides, "agent": agentSides(sa, da)} {
		t.Run(name, func(t *testing.T) {
			base := t.TempDir()
			src, dst, state := filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "state")
			for _, d := range []string{src, dst, state} {
				os.Mkdir(d, 0o700)
			}
			write(t, filepath.Join(src, "a"), "group one", 0o640)
			write(t, filepath.Join(src, "p"), "plain", 0o644)
			write(t, filepath.Join(src, "r"), "plain", 0o644)
			write(t, filepath.Join(src, "h"), "same", 0o644)
			os.MkdirAll(filepath.Join(src, "d/s"), 0o755)
			os.Link(filepath.Join(src, "a"), filepath.Join(src, "d/b"))
			os.Link(filepath.Join(src, "a"), filepath.Join(src, "d/s/c"))
			// The target's h is a hard link to a file outside the target.
			outside := filepath.Join(base, "outside-h")
			write(t, outside, "same", 0o600)
			os.Link(outside, filepath.Join(dst, "h"))

			spec := mirror.Spec{Name: "set", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed, State: mirror.StateRef{Name: "set.bin"}}
			s, d := mk(t, src, dst, state)
			res := mustRun(t, spec, s, d, mirror.Options{})
			linkedAs(t, dst, 3, "a", "d/b", "d/s/c")
			if st := lstat(t, outside); st.Nlink != 1 || st.Mode&0o777 != 0o600 {
				t.Fatalf("outside file: %d links, mode %o: written through the target's hard link", st.Nlink, st.Mode&0o777)
			}
			if res.CopiedFiles != 6 || res.Verified != 6 {
				t.Fatalf("seed: %+v", res)
			}

			c := filepath.Join(src, "d/s/c")
			os.Remove(c)
			write(t, c, "group one", 0o640)
			os.Remove(filepath.Join(src, "r"))
			os.Link(filepath.Join(src, "p"), filepath.Join(src, "r"))
			spec.Phase, spec.State.SHA256, spec.State.Records = contract.PhaseFinalSync, res.StateSHA256, res.StateRecords
			s, d = mk(t, src, dst, state)
			res = mustRun(t, spec, s, d, mirror.Options{})
			linkedAs(t, dst, 2, "a", "d/b")
			linkedAs(t, dst, 1, "d/s/c")
			linkedAs(t, dst, 2, "p", "r")
			if res.Refused != 0 || !res.StateTrusted {
				t.Fatalf("final sync: %+v", res)
			}
		})
	}
}

func sparseFile(t *testing.T, p string, size, off int64, data []byte) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

func sum(t *testing.T, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	var s [32]byte
	h.Sum(s[:0])
	return s
}

// A 512 MiB file holding 4 KiB of data lands through the agents with its
// holes and the same digest, with the big-file ranges on (it is copied as
// one stream; a dense big file beside it still goes striped).
func TestSparseFileThroughAgents(t *testing.T) {
	sa, da := agents(t)
	base := t.TempDir()
	src, dst, state := filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "state")
	for _, d := range []string{src, dst, state} {
		os.Mkdir(d, 0o700)
	}
	data := randomBytes(7, 4096)
	sparseFile(t, filepath.Join(src, "disk.img"), 512<<20, 200<<20, data)
	if lstat(t, filepath.Join(src, "disk.img")).Blocks > 64 {
		t.Skip("the temporary directory's file system keeps no holes")
	}
	dense := randomBytes(8, 6<<20)
	os.WriteFile(filepath.Join(src, "dense.bin"), dense, 0o644)
	s, d := agentSides(sa, da)(t, src, dst, state)
	res := mustRun(t, mirror.Spec{Name: "set", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed}, s, d,
		mirror.Options{Big: mirror.BigOptions{ResumeSalt: "m", Chunk: 1 << 20, StripeFrom: 2 << 20, Lanes: 4}})
	st := lstat(t, filepath.Join(dst, "disk.img"))
	if st.Size != 512<<20 || st.Blocks > 64 {
		t.Fatalf("disk.img on the target: %d bytes in %d blocks, want %d bytes in at most 64 blocks", st.Size, st.Blocks, 512<<20)
	}
	if sum(t, filepath.Join(src, "disk.img")) != sum(t, filepath.Join(dst, "disk.img")) {
		t.Fatal("disk.img differs on the target")
	}
	if sum(t, filepath.Join(src, "dense.bin")) != sum(t, filepath.Join(dst, "dense.bin")) {
		t.Fatal("dense.bin differs on the target")
	}
	if res.CopiedFiles != 2 || res.Verified != 2 {
		t.Fatalf("seed: %+v", res)
	}
	noTemps(t, dst)
}
