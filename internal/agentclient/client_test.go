//go:build linux

package agentclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/rootfs"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// sameMeta compares what treecmp does not: owners and nanosecond mtimes.
func sameMeta(t *testing.T, a, b string) {
	t.Helper()
	ra, err := rootfs.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	rb, err := rootfs.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	n := 0
	err = ra.Walk("", func(x rootfs.Info) error {
		y, err := rb.Lstat(x.Name)
		if err != nil {
			return err
		}
		if x.Type != y.Type || x.UID != y.UID || x.GID != y.GID || x.MtimeNs != y.MtimeNs ||
			(x.Type != rootfs.TypeSymlink && x.Mode != y.Mode) || (x.Type != rootfs.TypeDir && x.Size != y.Size) {
			t.Errorf("%s: source %+v, copy %+v", x.Name, x, y)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("nothing compared")
	}
}

func TestCopyTreeBetweenAgents(t *testing.T) {
	for _, o := range []rootfs.Options{{}, {NoOpenat2: true, NoTmpfile: true, NoFchmodat2: true}} {
		t.Run(map[bool]string{false: "openat2", true: "fallback"}[o.NoOpenat2], func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			makeTree(t, src)
			ctx := context.Background()
			// One agent per "host", as in production.
			sc := startAgent(t, agentserver.Options{Root: o})
			tc := startAgent(t, agentserver.Options{Root: o})
			if h := sc.Hello(); h.Proto != agentproto.Version || h.AgentVersion != agentserver.Version || h.EUID != uint32(os.Geteuid()) {
				t.Fatalf("hello %+v", h)
			}
			sr, err := sc.OpenRoot(ctx, src, agentproto.RoleSource)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := tc.OpenRoot(ctx, dst, agentproto.RoleTarget)
			if err != nil {
				t.Fatal(err)
			}
			n, err := copyTree(ctx, sr, tr, 8)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := treecmp.Equal(src, dst, treecmp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Files < 49 || sum.Symlinks != 3 || n != sum.Files+sum.Dirs+sum.Symlinks {
				t.Fatalf("copied %d entries, compared %+v", n, sum)
			}
			sameMeta(t, src, dst)
			// Hash on the host agrees with a local digest.
			res, err := tr.Hash(ctx, "a/b/c/deep", nil)
			if err != nil || res.SHA256 != sumFile(t, filepath.Join(src, "a/b/c/deep")) || res.Size != 3<<20 {
				t.Fatalf("hash %+v %v", res, err)
			}
			// Ranged read.
			var buf bytes.Buffer
			if _, err := sr.Read(ctx, "chunk+1", nil, agentproto.ChunkSize-2, 3, &buf); err != nil || buf.Len() != 3 {
				t.Fatalf("ranged read: %d bytes, %v", buf.Len(), err)
			}
			whole, _ := os.ReadFile(filepath.Join(src, "chunk+1"))
			if !bytes.Equal(buf.Bytes(), whole[agentproto.ChunkSize-2:agentproto.ChunkSize+1]) {
				t.Fatal("ranged read returned other bytes")
			}
			st, err := tr.Statfs(ctx, "")
			if err != nil || st.BytesFree() == 0 || st.FilesFree == 0 {
				t.Fatalf("statfs %+v %v", st, err)
			}
			if err := tr.RemoveAll(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(dst, "a")); !os.IsNotExist(err) {
				t.Fatalf("RemoveAll left a: %v", err)
			}
			if err := sr.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := sr.Lstat(ctx, "small"); err == nil {
				t.Fatal("closed root still answers")
			}
		})
	}
}

func TestErrorsAreTypedAndTheConnectionSurvives(t *testing.T) {
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{root + "/d", outside} {
		if err := os.MkdirAll(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "d/f"), []byte("good"), 0644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "esc")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := startAgent(t, agentserver.Options{})
	src, err := c.OpenRoot(ctx, root, agentproto.RoleSource)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := c.OpenRoot(ctx, root, agentproto.RoleTarget)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.OpenRoot(ctx, "relative/path", agentproto.RoleTarget); err == nil {
		t.Fatal("relative root accepted")
	}
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	check("mkdir in a source root", src.Mkdir(ctx, "new", 0755), ErrReadOnlyRoot)
	_, err = src.Write(ctx, "w", strings.NewReader("x"), WriteOptions{})
	check("write in a source root", err, ErrReadOnlyRoot)
	_, err = src.Lstat(ctx, "missing")
	check("lstat missing", err, fs.ErrNotExist)
	_, err = src.Hash(ctx, "../etc/passwd", nil)
	check("dot-dot", err, rootfs.ErrInvalidName)
	check("mkdir existing", tgt.Mkdir(ctx, "d", 0755), fs.ErrExist)
	// Through a symlink: refused, nothing outside touched.
	_, err = tgt.Write(ctx, "esc/planted", strings.NewReader("x"), WriteOptions{})
	if err == nil {
		t.Fatal("write through a symlink succeeded")
	}
	if !errors.Is(err, syscall.ELOOP) && !errors.Is(err, syscall.ENOTDIR) {
		t.Errorf("write through a symlink: %v, want ELOOP or ENOTDIR (a changed tree, not a failure)", err)
	}
	if err := tgt.Mkdir(ctx, "esc/dir", 0755); err == nil {
		t.Fatal("mkdir through a symlink succeeded")
	}
	if l, _ := os.ReadDir(outside); len(l) != 0 {
		t.Fatalf("%d entries written outside the root", len(l))
	}
	// Identity: the listed file replaced by another → refused.
	info, err := src.Lstat(ctx, "d/f")
	if err != nil {
		t.Fatal(err)
	}
	id := info.Identity()
	if err := os.Rename(filepath.Join(root, "d/f"), filepath.Join(root, "d/old")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "d/f"), []byte("evil"), 0644); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, err = src.Read(ctx, "d/f", &id, 0, -1, &got)
	check("read replaced file", err, rootfs.ErrIdentityMismatch)
	if got.Len() != 0 {
		t.Fatalf("foreign bytes returned: %q", got.Bytes())
	}
	// A failing source reader aborts the write and leaves no file.
	_, err = tgt.Write(ctx, "d/partial", io.MultiReader(bytes.NewReader(make([]byte, 600<<10)), failingReader{}), WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "reading the source") {
		t.Fatalf("write with failing source: %v", err)
	}
	// A write into a missing directory fails early while data is sent.
	_, err = tgt.Write(ctx, "nodir/f", bytes.NewReader(make([]byte, 4<<20)), WriteOptions{})
	check("write into missing dir", err, fs.ErrNotExist)
	// The connection still works, and no temporary file was left.
	res, err := tgt.Write(ctx, "d/ok", strings.NewReader("fine"), WriteOptions{Fsync: true, Meta: rootfs.Meta{SetMode: true, Mode: 0600}})
	if err != nil || res.Size != 4 {
		t.Fatalf("write after errors: %+v %v", res, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		names, _ := os.ReadDir(filepath.Join(root, "d"))
		var ls []string
		for _, n := range names {
			ls = append(ls, n.Name())
		}
		if strings.Join(ls, ",") == "f,ok,old" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("directory holds %v, want f, ok, old", ls)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestCancelStopsAStream(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 64<<20), 0644); err != nil {
		t.Fatal(err)
	}
	c := startAgent(t, agentserver.Options{})
	r, err := c.OpenRoot(context.Background(), dir, agentproto.RoleSource)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelAfter{n: 1 << 20, cancel: cancel}
	_, err = r.Read(ctx, "big", nil, 0, -1, w)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled read: %v", err)
	}
	if w.got >= 64<<20 {
		t.Fatal("the whole file arrived despite the cancel")
	}
	res, err := r.Hash(context.Background(), "big", nil)
	if err != nil || res.Size != 64<<20 {
		t.Fatalf("hash after cancel: %+v %v", res, err)
	}
}

type cancelAfter struct {
	n, got int
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.got += len(p)
	if c.got >= c.n {
		c.cancel()
	}
	return len(p), nil
}

func TestHandshakeRefusesStrangers(t *testing.T) {
	for name, tc := range map[string]struct {
		out  []byte
		want string
	}{
		"banner":  {[]byte("Last login: Mon Dec 7\n"), "magic"},
		"nothing": {nil, "sent nothing"},
		"version": {func() []byte {
			var b bytes.Buffer
			b.WriteString(agentproto.Magic)
			w := agentproto.NewWriter(&b)
			h := agentserver.Hello(agentserver.Options{})
			h.Proto = agentproto.Version + 1
			_ = w.Write(agentproto.THello, 0, h.Encode())
			return b.Bytes()
		}(), "protocol version"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(context.Background(), bytes.NewReader(tc.out), nopCloser{io.Discard})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
