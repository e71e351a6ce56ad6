//go:build linux

package rootfs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// resolvers runs fn once per resolver (openat2 where the kernel has it, and
// the per-component fallback) and once with every fallback (named
// temporary files, chmod through /proc/self/fd).
func resolvers(t *testing.T, fn func(t *testing.T, o Options)) {
	if Openat2Available() {
		t.Run("openat2", func(t *testing.T) { fn(t, Options{}) })
	} else {
		t.Log("kernel has no openat2: only the fallback resolver runs")
	}
	t.Run("walk", func(t *testing.T) { fn(t, Options{NoOpenat2: true}) })
	t.Run("fallbacks", func(t *testing.T) { fn(t, Options{NoOpenat2: true, NoTmpfile: true, NoFchmodat2: true}) })
}

func mustOpen(t *testing.T, dir string, o Options) *Root {
	t.Helper()
	r, err := OpenWith(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if r.UsesOpenat2() == o.NoOpenat2 && (o.NoOpenat2 || Openat2Available()) {
		t.Fatalf("resolver: openat2=%v with options %+v", r.UsesOpenat2(), o)
	}
	return r
}

func writeFile(t *testing.T, r *Root, rel string, data []byte, m Meta) [32]byte {
	t.Helper()
	parent, name, err := splitParent(rel)
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.OpenDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tf, err := d.CreateTemp()
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	if _, err := tf.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tf.SetMeta(m); err != nil {
		t.Fatal(err)
	}
	if err := tf.Commit(name); err != nil {
		t.Fatal(err)
	}
	return tf.Sum()
}

func TestOperations(t *testing.T) {
	resolvers(t, func(t *testing.T, o Options) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		outside := filepath.Join(base, "outside")
		for _, d := range []string{root, outside} {
			if err := os.Mkdir(d, 0755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0600); err != nil {
			t.Fatal(err)
		}
		r := mustOpen(t, root, o)

		if err := r.Mkdir("a", 0750); err != nil {
			t.Fatal(err)
		}
		if err := r.Mkdir("a/b", 0700); err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte("0123456789"), 100_000)
		m := Meta{SetOwner: true, UID: 1234, GID: 2345, SetMode: true, Mode: 04640, SetTimes: true, AtimeNs: 1_600_000_000_123_456_789, MtimeNs: 1_500_000_000_987_654_321}
		sum := writeFile(t, r, "a/b/f", data, m)
		if sum != sha256.Sum256(data) {
			t.Fatal("TempFile.Sum differs from the data's SHA-256")
		}
		got, err := os.ReadFile(filepath.Join(root, "a/b/f"))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("written file: %v, %d bytes", err, len(got))
		}
		info, err := r.Lstat("a/b/f")
		if err != nil {
			t.Fatal(err)
		}
		if info.Type != TypeFile || info.Mode != 04640 || info.UID != 1234 || info.GID != 2345 || info.MtimeNs != m.MtimeNs || info.Size != int64(len(data)) {
			t.Fatalf("meta not applied: %+v", info)
		}
		if fi, _ := os.Stat(filepath.Join(root, "a")); fi.Mode().Perm() != 0750 {
			t.Fatalf("mkdir mode %v, want 0750 regardless of umask", fi.Mode())
		}
		// Replace an existing file.
		writeFile(t, r, "a/b/f", []byte("new"), Meta{})
		if got, _ := os.ReadFile(filepath.Join(root, "a/b/f")); string(got) != "new" {
			t.Fatalf("replace: %q", got)
		}

		if err := r.Symlink(outside, "a/link"); err != nil {
			t.Fatal(err)
		}
		if err := r.Symlink("../../outside/secret", "a/rel"); err != nil {
			t.Fatal(err)
		}
		if tgt, err := r.Readlink("a/link"); err != nil || tgt != outside {
			t.Fatalf("readlink: %q %v", tgt, err)
		}
		if err := r.SetMeta("a/link", Meta{SetOwner: true, UID: 7, GID: 8, SetMode: true, Mode: 0600, SetTimes: true, MtimeNs: 1e18}); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, "a/link"), &st); err != nil || st.Uid != 7 || st.Mtim.Nano() != 1e18 {
			t.Fatalf("symlink meta: %+v %v", st, err)
		}
		if err := unix.Stat(outside, &st); err != nil || st.Uid == 7 {
			t.Fatal("SetMeta on a symlink changed its target")
		}

		// No lookup goes through a symlink.
		for _, rel := range []string{"a/link/secret", "a/rel", "a/link"} {
			if _, err := r.OpenFile(rel, nil); err == nil {
				t.Fatalf("OpenFile(%q) went through a symlink", rel)
			}
		}
		if _, err := r.List("a/link"); err == nil {
			t.Fatal("List followed a symlink")
		}
		d, err := r.OpenDir("a/link")
		if err == nil {
			d.Close()
			t.Fatal("OpenDir followed a symlink")
		}
		if err := r.Mkdir("a/link/x", 0755); err == nil {
			t.Fatal("Mkdir through a symlink")
		}
		for _, bad := range []string{"/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a/b/", "a\x00b"} {
			if _, err := r.OpenFile(bad, nil); !errors.Is(err, ErrInvalidName) {
				t.Fatalf("OpenFile(%q): %v, want ErrInvalidName", bad, err)
			}
		}

		// Walk: every entry once, symlinks not followed.
		var walked []string
		if err := r.Walk("", func(i Info) error { walked = append(walked, i.Name+":"+i.Type.String()); return nil }); err != nil {
			t.Fatal(err)
		}
		want := []string{"a:dir", "a/b:dir", "a/b/f:file", "a/link:symlink", "a/rel:symlink"}
		if !slices.Equal(walked, want) {
			t.Fatalf("walk %v, want %v", walked, want)
		}

		// Read with identity.
		fi, _ := r.Lstat("a/b/f")
		id := fi.Identity()
		f, err := r.OpenFile("a/b/f", &id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != "new" {
			t.Fatalf("read %q", b)
		}
		hs, _, err := r.HashFile("a/b/f", &id)
		if err != nil || hs != sha256.Sum256([]byte("new")) {
			t.Fatalf("hash: %v", err)
		}
		stale := id
		stale.MtimeNs++
		if _, err := r.OpenFile("a/b/f", &stale); !errors.Is(err, ErrIdentityMismatch) {
			t.Fatalf("stale identity: %v", err)
		}
		if err := unix.Mkfifo(filepath.Join(root, "a/fifo"), 0600); err != nil {
			t.Fatal(err)
		}
		if _, err := r.OpenFile("a/fifo", nil); err == nil {
			t.Fatal("opened a FIFO as a file")
		}

		sf, err := r.Statfs("a")
		if err != nil || sf.BlockSize == 0 || sf.Blocks == 0 {
			t.Fatalf("statfs %+v %v", sf, err)
		}

		// RemoveAll never follows a symlink.
		if err := r.Remove("a/b"); err == nil {
			t.Fatal("Remove of a non-empty directory succeeded")
		}
		if err := r.RemoveAll("a"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(root, "a")); !os.IsNotExist(err) {
			t.Fatalf("a still there: %v", err)
		}
		if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
			t.Fatalf("RemoveAll reached outside the root: %v", err)
		}
		if err := r.RemoveAll("a"); err != nil {
			t.Fatalf("RemoveAll of a missing name: %v", err)
		}
		// Nothing left behind by temporaries.
		if l, _ := r.List(""); len(l) != 0 {
			t.Fatalf("root not empty: %+v", l)
		}
	})
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
