//go:build linux

package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func noTempNames(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), ".umzug-tmp") {
			t.Errorf("temporary name left: %s", p)
		}
		return nil
	})
}

// Link stays beneath the root on both names, never follows a symlink,
// replaces (never writes through) what the new name held, and refuses a
// file other than the one expected.
func TestLinkBeneathRoot(t *testing.T) {
	resolvers(t, func(t *testing.T, o Options) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		os.MkdirAll(filepath.Join(root, "d"), 0o755)
		os.WriteFile(filepath.Join(root, "a"), []byte("a"), 0o644)
		outside := filepath.Join(base, "outside")
		os.WriteFile(outside, []byte("keep"), 0o600)
		os.Link(outside, filepath.Join(root, "d/x")) // planted: a link to a file outside
		os.Symlink(filepath.Join(base), filepath.Join(root, "sl"))
		os.Symlink("a", filepath.Join(root, "la"))
		r, err := OpenWith(root, o)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		a, _ := r.Lstat("a")
		id := a.Identity()

		info, err := r.Link("a", "d/x", &id)
		if err != nil {
			t.Fatal(err)
		}
		if info.Ino != a.Ino || info.Nlink != 2 {
			t.Fatalf("d/x: inode %d with %d links, want %d with 2", info.Ino, info.Nlink, a.Ino)
		}
		if b, _ := os.ReadFile(outside); string(b) != "keep" {
			t.Fatalf("the outside file now holds %q", b)
		}
		// Linking a name to its own inode again changes nothing.
		if _, err := r.Link("a", "d/x", &id); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ old, new string }{{"../outside", "d/y"}, {"a", "../y"}, {"sl/outside", "d/y"}, {"a", "sl/y"}, {"la", "d/y"}} {
			if _, err := r.Link(c.old, c.new, nil); err == nil {
				t.Errorf("Link(%q, %q) succeeded", c.old, c.new)
			}
		}
		if _, err := os.Lstat(filepath.Join(base, "y")); err == nil {
			t.Error("a link was made outside the root")
		}
		other := Identity{Dev: a.Dev, Ino: a.Ino + 1}
		if _, err := r.Link("a", "d/z", &other); !errors.Is(err, ErrIdentityMismatch) {
			t.Fatalf("link of another file than expected: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(root, "d/z")); err == nil {
			t.Error("d/z made though the file was not the one expected")
		}
		noTempNames(t, root)
	})
}

// A link the file system refuses (here across a mount point below the
// root: EXDEV) matches ErrCannotLink.
func TestLinkAcrossMountCannotLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs in a private mount namespace")
	}
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "mnt"), 0o755)
	os.WriteFile(filepath.Join(root, "a"), []byte("a"), 0o644)
	done := make(chan error, 1)
	go func() {
		// The namespace is this thread's; the thread ends with the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			done <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			done <- err
			return
		}
		if err := unix.Mount("tmpfs", filepath.Join(root, "mnt"), "tmpfs", 0, "size=1m"); err != nil {
			done <- err
			return
		}
		r, err := Open(root)
		if err != nil {
			done <- err
			return
		}
		defer r.Close()
		_, err = r.Link("a", "mnt/b", nil)
		if !errors.Is(err, ErrCannotLink) {
			done <- errors.New("link across a mount: want ErrCannotLink, got " + errString(err))
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
