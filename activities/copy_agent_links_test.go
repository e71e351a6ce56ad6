//go:build linux

package activities

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The agent engine keeps a hard-link group and a sparse file through
// CopyTree, and the manifest names each further name's first one.
func TestCopyTreeAgentHardLinksAndSparse(t *testing.T) {
	f, _ := agentFixture(t)
	old := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	writeFile(t, filepath.Join(f.srcRoot, "a"), []byte("group"), 0o644, old)
	if err := os.Link(filepath.Join(f.srcRoot, "a"), filepath.Join(f.srcRoot, "b")); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(f.srcRoot, "disk.img")
	fh, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	fh.Truncate(64 << 20)
	fh.WriteAt([]byte("data"), 32<<20)
	fh.Close()
	res := f.copy(t, f.input(CopySet{}))
	var sa, sb, si syscall.Stat_t
	syscall.Lstat(filepath.Join(f.dstRoot, "a"), &sa)
	syscall.Lstat(filepath.Join(f.dstRoot, "b"), &sb)
	syscall.Lstat(filepath.Join(f.dstRoot, "disk.img"), &si)
	if sa.Ino != sb.Ino || sa.Nlink != 2 {
		t.Fatalf("a and b on the target: inodes %d and %d, %d links; want one inode with 2", sa.Ino, sb.Ino, sa.Nlink)
	}
	if si.Size != 64<<20 || si.Blocks > 64 {
		t.Fatalf("disk.img on the target: %d bytes in %d blocks", si.Size, si.Blocks)
	}
	var found bool
	for _, l := range manifestLines(t, res) {
		if strings.HasPrefix(l, `{"path":"b",`) {
			found = strings.Contains(l, `"hardlink":"a"`) && strings.Contains(l, `"sha256":"`)
		}
	}
	if !found {
		t.Fatalf("the manifest does not name b as a hard link of a with its digest:\n%s", strings.Join(manifestLines(t, res), "\n"))
	}
}
