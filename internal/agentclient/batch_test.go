//go:build linux

package agentclient

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// A read batch answers every file on its own: good files with their
// bytes and digest, a file changed since listed and a vanished one with
// their errors, and never the changed file's bytes.
func TestReadBatchPerFileResults(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	for i := range 5 {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("f%d", i)), []byte(strings.Repeat(fmt.Sprint(i), 1000*i)), 0o644)
	}
	c := startAgent(t, agentserver.Options{})
	r, err := c.OpenRoot(ctx, src, agentproto.RoleSource)
	if err != nil {
		t.Fatal(err)
	}
	var q []BatchRead
	for i := range 5 {
		info, err := r.Lstat(ctx, fmt.Sprintf("f%d", i))
		if err != nil {
			t.Fatal(err)
		}
		q = append(q, BatchRead{Rel: info.Name, Expect: info.Identity()})
	}
	// Changed after the listing: same inode, other size.
	os.WriteFile(filepath.Join(src, "f2"), []byte("foreign bytes, longer than before"), 0o644)
	os.Remove(filepath.Join(src, "f4"))
	res, err := r.ReadBatch(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range res {
		switch i {
		case 2:
			if !errors.Is(x.Err, rootfs.ErrIdentityMismatch) || x.Data != nil {
				t.Errorf("changed file: err %v, %d bytes", x.Err, len(x.Data))
			}
		case 4:
			if !errors.Is(x.Err, fs.ErrNotExist) {
				t.Errorf("vanished file: err %v", x.Err)
			}
		default:
			want, _ := os.ReadFile(filepath.Join(src, q[i].Rel))
			if x.Err != nil || string(x.Data) != string(want) || x.SHA256 != sha256.Sum256(want) || x.Size != int64(len(want)) ||
				x.Info.Identity() != q[i].Expect {
				t.Errorf("%s: err %v, %d bytes, info %+v", q[i].Rel, x.Err, len(x.Data), x.Info)
			}
		}
	}
	// The bounds hold on the client before anything is sent.
	big := make([]BatchRead, agentproto.MaxBatchFiles+1)
	for i := range big {
		big[i] = BatchRead{Rel: fmt.Sprint(i)}
	}
	if _, err := r.ReadBatch(ctx, big); err == nil {
		t.Error("a batch above MaxBatchFiles was sent")
	}
	if _, err := r.ReadBatch(ctx, []BatchRead{{Rel: "f1", Expect: rootfs.Identity{Size: agentproto.MaxBatchFileSize + 1}}}); err == nil {
		t.Error("a file above MaxBatchFileSize was batched")
	}
}

// A write batch places each file whole with its metadata; a file whose
// parent is a symlink out of the root fails alone and nothing lands
// outside; a source root takes no batch writes.
func TestWriteBatchPerFileResults(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dst, outside := filepath.Join(base, "dst"), filepath.Join(base, "outside")
	os.MkdirAll(filepath.Join(dst, "d"), 0o755)
	os.Mkdir(outside, 0o755)
	os.Symlink(outside, filepath.Join(dst, "escape"))
	c := startAgent(t, agentserver.Options{})
	r, err := c.OpenRoot(ctx, dst, agentproto.RoleTarget)
	if err != nil {
		t.Fatal(err)
	}
	const mt = 1700000000_123456789
	meta := rootfs.Meta{SetMode: true, Mode: 0o640, SetTimes: true, AtimeNs: mt, MtimeNs: mt}
	files := []BatchWrite{
		{Rel: "a", Meta: meta, Data: []byte("alpha")},
		{Rel: "escape/x", Meta: meta, Data: []byte("must not land outside")},
		{Rel: "d/empty", Meta: meta},
		{Rel: "d/b", Meta: meta, Data: []byte(strings.Repeat("b", 300<<10))},
	}
	res, err := r.WriteBatch(ctx, files, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range res {
		f := files[i]
		if i == 1 {
			if x.Err == nil {
				t.Errorf("%s: written through a symlink", f.Rel)
			}
			continue
		}
		got, err := os.ReadFile(filepath.Join(dst, f.Rel))
		st, serr := os.Lstat(filepath.Join(dst, f.Rel))
		if x.Err != nil || err != nil || serr != nil || string(got) != string(f.Data) || x.SHA256 != sha256.Sum256(f.Data) ||
			st.Mode().Perm() != 0o640 || st.ModTime().UnixNano() != mt || x.Info.Size != int64(len(f.Data)) || x.Info.MtimeNs != mt {
			t.Errorf("%s: err %v/%v/%v, %d bytes, mode %v, info %+v", f.Rel, x.Err, err, serr, len(got), st.Mode(), x.Info)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("written outside the root: %v", ents)
	}
	for _, d := range []string{dst, filepath.Join(dst, "d")} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".umzug-tmp-") {
				t.Errorf("temporary file left: %s/%s", d, e.Name())
			}
		}
	}
	sr, err := c.OpenRoot(ctx, dst, agentproto.RoleSource)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sr.WriteBatch(ctx, files[:1], false); !errors.Is(err, ErrReadOnlyRoot) {
		t.Fatalf("write batch on a source root: %v", err)
	}
	// The connection still serves after all of this.
	if _, err := r.Lstat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
}
