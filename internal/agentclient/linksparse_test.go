package agentclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// spans records what a sparse read delivered.
type spans struct {
	data  bytes.Buffer
	holes []int64
}

func (s *spans) Write(p []byte) (int, error) { return s.data.Write(p) }
func (s *spans) WriteHole(n int64) error     { s.holes = append(s.holes, n); return nil }

// spanReader hands out data, a hole, data.
type spanReader struct{ parts []any }

func (r *spanReader) ReadSpan(p []byte) (int, int64, error) {
	if len(r.parts) == 0 {
		return 0, 0, io.EOF
	}
	switch v := r.parts[0].(type) {
	case int64:
		r.parts = r.parts[1:]
		return 0, v, nil
	case []byte:
		n := copy(p, v)
		if n == len(v) {
			r.parts = r.parts[1:]
		} else {
			r.parts[0] = v[n:]
		}
		return n, 0, nil
	}
	return 0, 0, errors.New("bad part")
}

func (r *spanReader) Read(p []byte) (int, error) { panic("Write must use ReadSpan") }

// A sparse file read through the agent comes as its data and its holes
// (nothing else), written back through the agent it keeps them, and a
// further name made with Link is the same inode.
func TestSparseAndLinkRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "img")
	f, _ := os.Create(p)
	f.Truncate(8 << 20)
	f.WriteAt([]byte("middle"), 4<<20)
	f.Close()
	var st syscall.Stat_t
	syscall.Stat(p, &st)
	if st.Blocks > 64 {
		t.Skip("no holes on this file system")
	}
	c := startAgent(t, agentserver.Options{})
	ctx := context.Background()
	src, err := c.OpenRoot(ctx, dir, agentproto.RoleSource)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := src.Lstat(ctx, "img")
	want := info.Identity()
	var got spans
	res, err := src.ReadSparse(ctx, "img", &want, &got)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != 8<<20 || len(got.holes) == 0 || int64(got.data.Len()) >= 1<<20 {
		t.Fatalf("sparse read: size %d, %d data bytes, holes %v", res.Size, got.data.Len(), got.holes)
	}
	plain, _ := src.Hash(ctx, "img", &want)
	if plain.SHA256 != res.SHA256 {
		t.Fatal("the sparse read's digest differs from the hash")
	}
	if off, err := src.FirstHole(ctx, "img", &want); err != nil || off >= 8<<20 {
		t.Fatalf("first hole: %d %v", off, err)
	}

	out := t.TempDir()
	dst, err := c.OpenRoot(ctx, out, agentproto.RoleTarget)
	if err != nil {
		t.Fatal(err)
	}
	wr, err := dst.Write(ctx, "copy", &spanReader{parts: []any{[]byte("head"), int64(1 << 30), []byte("tail"), int64(4096)}}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	syscall.Stat(filepath.Join(out, "copy"), &st)
	if wr.Size != 8+1<<30+4096 || st.Size != wr.Size || st.Blocks > 64 {
		t.Fatalf("written: %d bytes, on disk %d bytes in %d blocks", wr.Size, st.Size, st.Blocks)
	}
	if b := make([]byte, 4); func() bool {
		fh, _ := os.Open(filepath.Join(out, "copy"))
		defer fh.Close()
		fh.ReadAt(b, 4+1<<30)
		return string(b) != "tail"
	}() {
		t.Fatal("the data after the hole is not at its offset")
	}

	ci, _ := dst.Lstat(ctx, "copy")
	li, err := dst.Link(ctx, "copy", "again", ci.Identity())
	if err != nil || li.Ino != ci.Ino || li.Nlink != 2 {
		t.Fatalf("link: %+v %v", li, err)
	}
	if _, err := src.Link(ctx, "img", "again", want); !errors.Is(err, ErrReadOnlyRoot) {
		t.Fatalf("link on a source root: %v", err)
	}
	other := ci.Identity()
	other.Ino++
	if _, err := dst.Link(ctx, "copy", "third", other); !errors.Is(err, rootfs.ErrIdentityMismatch) {
		t.Fatalf("link of an unexpected file: %v", err)
	}
}

// A hostile agent's hole beyond the listed size is refused before the
// writer takes it.
func TestSparseReadRefusesHoleBeyondListedSize(t *testing.T) {
	ar, cw := io.Pipe()
	cr, aw := io.Pipe()
	go func() {
		w := agentproto.NewWriter(aw)
		_ = w.WriteRaw([]byte(agentproto.Magic))
		_ = w.Write(agentproto.THello, 0, agentproto.Hello{Proto: agentproto.Version}.Encode())
		fr := agentproto.NewReader(ar)
		for {
			f, err := fr.Read()
			if err != nil {
				aw.Close()
				return
			}
			switch f.Type {
			case agentproto.TOpenRoot:
				_ = w.Write(agentproto.TResult, f.ID, (&agentproto.Result{Root: 1}).Encode())
			case agentproto.TReadSparse:
				_ = w.Write(agentproto.THole, f.ID, agentproto.EncodeHole(1<<40))
				_ = w.Write(agentproto.TResult, f.ID, (&agentproto.Result{Size: 1 << 40}).Encode())
			}
		}
	}()
	c, err := New(context.Background(), cr, cw)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, _ := c.OpenRoot(context.Background(), "/x", agentproto.RoleSource)
	var got spans
	_, err = r.ReadSparse(context.Background(), "f", &rootfs.Identity{Size: 10}, &got)
	if err == nil || !strings.Contains(err.Error(), "more than the 10 bytes listed") || len(got.holes) != 0 {
		t.Fatalf("hole of 1 TiB for a 10-byte file: %v, holes taken %v", err, got.holes)
	}
}

// A hole frame for a request that takes data but is not a write ends the
// session as a protocol error.
func TestHoleForReadIsProtocolError(t *testing.T) {
	if _, err := agentproto.DecodeHole(agentproto.EncodeHole(0)); err == nil {
		t.Error("a hole of 0 bytes decoded")
	}
	if _, err := agentproto.DecodeHole(append(agentproto.EncodeHole(5), 0)); err == nil {
		t.Error("a hole with trailing bytes decoded")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	ar, cw, _ := os.Pipe()
	cr, aw, _ := os.Pipe()
	done := make(chan error, 1)
	go func() { done <- agentserver.Serve(context.Background(), ar, aw, agentserver.Options{}); aw.Close() }()
	go io.Copy(io.Discard, cr)
	w := agentproto.NewWriter(cw)
	_ = w.Write(agentproto.TOpenRoot, 1, (&agentproto.Request{Path: dir, Role: agentproto.RoleTarget}).Encode())
	// A write-range takes data (it stays open until End) but no holes.
	_ = w.Write(agentproto.TWriteRange, 2, (&agentproto.Request{Root: 1, Rel: "f", Big: agentproto.Big{Key: "0123456789abcdef"}}).Encode())
	_ = w.Write(agentproto.THole, 2, agentproto.EncodeHole(4096))
	err := <-done
	cw.Close()
	if err == nil || !strings.Contains(err.Error(), "not a write") {
		t.Fatalf("serve ended with %v, want a protocol error for the hole", err)
	}
}
