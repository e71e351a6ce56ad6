//go:build linux

package agentclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Ranges land out of order in a partial copy, the landed prefix is hashed
// ahead of the commit, and the commit places the copy only with the
// right digest; a source root takes none of it, and a parent swapped for
// a symlink to outside the root is never written through.
func TestAgentPartialCopy(t *testing.T) {
	for _, o := range []rootfs.Options{{}, {NoOpenat2: true, NoTmpfile: true}} {
		t.Run(fmt.Sprintf("openat2=%v", !o.NoOpenat2), func(t *testing.T) {
			base := t.TempDir()
			root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
			os.MkdirAll(filepath.Join(root, "d"), 0o755)
			os.MkdirAll(outside, 0o755)
			os.Symlink(outside, filepath.Join(root, "link"))
			c := startAgent(t, agentserver.Options{Root: o})
			ctx := context.Background()
			const chunk = agentproto.MinChunk
			data := bytes.Repeat([]byte("0123456789abcdef"), 3*chunk/16+5)
			os.WriteFile(filepath.Join(root, "src.bin"), data, 0o644)
			key := "00112233445566aa"

			src, err := c.OpenRoot(ctx, root, agentproto.RoleSource)
			if err != nil {
				t.Fatal(err)
			}
			sums, size, err := src.Sums(ctx, "src.bin", "", nil, 0, chunk, 10)
			if err != nil || size != int64(len(data)) || len(sums) != 4 || sums[3] != sha256.Sum256(data[3*chunk:]) {
				t.Fatalf("source sums: %d sums, size %d, %v", len(sums), size, err)
			}
			if _, _, err := src.Sums(ctx, "d/f", key, nil, 0, chunk, 1); err == nil {
				t.Error("a source root opened a partial copy")
			}
			if _, err := src.WriteRange(ctx, "d/f", key, 0, bytes.NewReader(data)); err == nil {
				t.Error("a source root took a write-range")
			}

			dst, err := c.OpenRoot(ctx, root, agentproto.RoleTarget)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dst.WriteRange(ctx, "link/f", key, 0, bytes.NewReader(data)); err == nil {
				t.Error("write-range through a symlinked parent succeeded")
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("written outside the root: %v", ents)
			}
			if _, n, err := dst.Sums(ctx, "d/f", key, nil, 0, chunk, 1); err != nil || n != -1 {
				t.Fatalf("sums of a missing partial copy: size %d, %v", n, err)
			}
			for _, i := range []int{2, 0, 3, 1} { // out of order
				end := min((i+1)*chunk, len(data))
				if _, err := dst.WriteRange(ctx, "d/f", key, int64(i*chunk), bytes.NewReader(data[i*chunk:end])); err != nil {
					t.Fatal(err)
				}
			}
			if from, err := dst.HashPartial(ctx, "d/f", key, 0, 2*chunk); err != nil || from != 0 {
				t.Fatalf("hash-partial: %d %v", from, err)
			}
			want := sha256.Sum256(data)
			cr, err := dst.CommitPartial(ctx, "d/f", key, 2*chunk, int64(len(data)), [32]byte{1}, WriteOptions{})
			if err != nil || cr.Placed || cr.SHA256 != want {
				t.Fatalf("commit with a wrong digest: %+v %v", cr, err)
			}
			cr, err = dst.CommitPartial(ctx, "d/f", key, 0, int64(len(data)), want, WriteOptions{Meta: rootfs.Meta{SetMode: true, Mode: 0o640}})
			if err != nil || !cr.Placed || cr.Size != int64(len(data)) {
				t.Fatalf("commit: %+v %v", cr, err)
			}
			got, _ := os.ReadFile(filepath.Join(root, "d/f"))
			fi, _ := os.Stat(filepath.Join(root, "d/f"))
			if !bytes.Equal(got, data) || fi.Mode().Perm() != 0o640 {
				t.Errorf("placed file: %d bytes, mode %v", len(got), fi.Mode())
			}
			if ents, _ := os.ReadDir(filepath.Join(root, "d")); len(ents) != 1 {
				t.Errorf("partial copy left: %v", ents)
			}
		})
	}
}
