package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/internal/treecmp"

	"github.com/umzug-dev/umzug/activities/contract"
)

var secretBytes = []byte("OUTSIDE-SECRET-7c1f: payroll master key, never leaves the host")

// outsideSecret writes a 0600 file outside the copy root and returns its
// path and its directory.
func outsideSecret(t *testing.T, f *copyFixture) (file, dir string) {
	t.Helper()
	dir = filepath.Join(f.dir, "outside")
	file = filepath.Join(dir, "secret")
	writeFile(t, file, secretBytes, 0o600, time.Unix(1600000000, 0))
	return file, dir
}

// noForeignBytes fails when any regular file under root holds the start
// of secret (a copy may take only the listed size's worth of it).
func noForeignBytes(t *testing.T, root string, secret []byte) {
	secret = secret[:8]
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, secret) {
			t.Errorf("%s on the target holds bytes from outside the copy root", p)
		}
		return nil
	})
}

func wantRefusal(t *testing.T, res CopyResult, path, kind string, accepted bool) {
	t.Helper()
	for _, r := range res.RefusalList {
		if r.Path == path && r.Kind == kind {
			if r.Accepted != accepted {
				t.Errorf("refusal %+v: accepted %v, want %v", r, r.Accepted, accepted)
			}
			return
		}
	}
	t.Errorf("no %s refusal of %q in %+v", kind, path, res.RefusalList)
}

func wantCopyError(t *testing.T, err error, typ string, nonRetryable bool, says ...string) CopyResult {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != typ || ae.NonRetryable() != nonRetryable {
		t.Fatalf("want %s (non-retryable %v), got %v", typ, nonRetryable, err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not say %q: %v", s, err)
		}
	}
	var res CopyResult
	if err := ae.Details(&res); err != nil {
		t.Fatalf("error carries no copy result: %v", err)
	}
	return res
}

// swapForLink replaces p by a symlink to target.
func swapForLink(t *testing.T, p, target string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
		t.Error(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Error(err)
	}
}

func TestCopyTreeFileSwappedForSymlinkAfterListing(t *testing.T) {
	f := newCopyFixture(t)
	secret, _ := outsideSecret(t, f)
	victim := filepath.Join(f.srcRoot, "a", "victim.txt")
	mt := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(f.srcRoot, "a", "ok.txt"), []byte("fine"), 0o644, mt)
	restore := func() { os.Remove(victim); writeFile(t, victim, []byte("listed content"), 0o644, mt) }
	restore()
	f.a.hooks.beforeCopy = func(rel string) {
		if rel == "a/victim.txt" {
			swapForLink(t, victim, secret)
		}
	}
	defer func() { f.a.hooks.beforeCopy = nil }()

	// Seed: the application still runs, so the file is left for the
	// final sync, reported, and the seed succeeds.
	res := f.copy(t, f.input(CopySet{}))
	wantRefusal(t, res, "a/victim.txt", RefusalChanged, true)
	noForeignBytes(t, filepath.Dir(f.dstRoot), secretBytes)
	if _, err := os.Lstat(filepath.Join(f.dstRoot, "a", "victim.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the swapped file was placed: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(f.dstRoot, "a", "ok.txt")); err != nil || string(b) != "fine" {
		t.Errorf("the rest of the tree was not copied: %q %v", b, err)
	}

	// Final sync: the attempt fails retryably, so the next one lists again.
	restore()
	in := f.input(CopySet{})
	in.Phase = PhaseFinalSync
	_, err := f.a.CopyTree(context.Background(), in)
	res = wantCopyError(t, err, contract.ErrCopyChanged, false, "a/victim.txt", "changed")
	wantRefusal(t, res, "a/victim.txt", RefusalChanged, false)
	noForeignBytes(t, filepath.Dir(f.dstRoot), secretBytes)
	if tmp := listTmp(t, f.dstRoot); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// Once the tree holds still, the next attempt copies it.
	f.a.hooks.beforeCopy = nil
	restore()
	f.copy(t, in)
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTreeFileChangedWhileRead(t *testing.T) {
	f := newCopyFixture(t)
	p := filepath.Join(f.srcRoot, "log.txt")
	// Larger than what the SSH window and the agent's queue hold, so the
	// read is still under way on the host when the hook rewrites the file
	// (the agent engine calls afterOpen on the first bytes that arrive).
	writeFile(t, p, bytes.Repeat([]byte("first line\n"), 16<<20/11), 0o644, time.Unix(1700000000, 0))
	f.a.hooks.afterOpen = func(rel string) {
		if rel == "log.txt" {
			writeFile(t, p, []byte("rewritten while read\n"), 0o644, time.Unix(1700000100, 0))
		}
	}
	defer func() { f.a.hooks.afterOpen = nil }()
	in := f.input(CopySet{})
	in.Phase = PhaseFinalSync
	_, err := f.a.CopyTree(context.Background(), in)
	res := wantCopyError(t, err, contract.ErrCopyChanged, false, "log.txt", "while it was copied")
	wantRefusal(t, res, "log.txt", RefusalChanged, false)
	if _, err := os.Lstat(filepath.Join(f.dstRoot, "log.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file that changed while read was placed: %v", err)
	}
}

func TestCopyTreeDirSwappedForSymlinkAfterListing(t *testing.T) {
	f := newCopyFixture(t)
	_, outside := outsideSecret(t, f)
	mt := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(f.srcRoot, "d", "f.txt"), []byte("in tree"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "top.txt"), []byte("top"), 0o644, mt)
	f.a.hooks.afterList = func(rel string) {
		if rel == "" {
			swapForLink(t, filepath.Join(f.srcRoot, "d"), outside)
		}
	}
	defer func() { f.a.hooks.afterList = nil }()
	res := f.copy(t, f.input(CopySet{}))
	wantRefusal(t, res, "d", RefusalChanged, true)
	noForeignBytes(t, filepath.Dir(f.dstRoot), secretBytes)
	if _, err := os.Lstat(filepath.Join(f.dstRoot, "d", "secret")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("listed the swapped-in directory: %v", err)
	}

	// Final sync: retryable failure naming the directory.
	os.Remove(filepath.Join(f.srcRoot, "d"))
	writeFile(t, filepath.Join(f.srcRoot, "d", "f.txt"), []byte("in tree"), 0o644, mt)
	in := f.input(CopySet{})
	in.Phase = PhaseFinalSync
	_, err := f.a.CopyTree(context.Background(), in)
	wantCopyError(t, err, contract.ErrCopyChanged, false, `"d"`, "source directory changed")
	noForeignBytes(t, filepath.Dir(f.dstRoot), secretBytes)
}

func TestCopyTreeRefusesEscapingSymlinkChain(t *testing.T) {
	f := newCopyFixture(t)
	mt := time.Unix(1700000000, 0)
	deep := filepath.Join(f.srcRoot, "a/b/c/d/e/f/g/h")
	writeFile(t, filepath.Join(deep, "file.txt"), []byte("deep"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "etc", "passwd"), []byte("in-tree passwd"), 0o644, mt)
	link := func(target, at string) {
		if err := os.Symlink(target, filepath.Join(f.srcRoot, at)); err != nil {
			t.Fatal(err)
		}
	}
	// u points at the copy root itself: in the tree, accepted. esc looks
	// lexically like a/etc/passwd, but resolves through u to /etc/passwd.
	link("../../../../../../../..", "a/b/c/d/e/f/g/h/u")
	link("a/b/c/d/e/f/g/h/u/../../../../../../../../etc/passwd", "esc")
	// Legitimate chains stay: through u back into the tree, and via a
	// link that is listed later than the one using it.
	link("a/b/c/d/e/f/g/h/u/etc/passwd", "good")
	link("zlink/c/d/../d/e/f/g/h/file.txt", "chain")
	link("a/b", "zlink")
	// A chain that leaves through a link not yet listed, and a loop
	// (unresolvable: refused too, the plan may accept it).
	link("zup/x", "bad2")
	link("..", "zup")
	link("loop2", "loop1")
	link("loop1", "loop2")

	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	wantCopyError(t, err, contract.ErrCopyRefused, true, `"esc"`, `accept_refusals = ["escaping_symlink"]`)

	res := f.copy(t, f.input(CopySet{AcceptRefusals: []string{RefusalEscapingSymlink}}))
	for _, p := range []string{"esc", "bad2", "zup", "loop1", "loop2"} {
		wantRefusal(t, res, p, RefusalEscapingSymlink, true)
		if _, err := os.Lstat(filepath.Join(f.dstRoot, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s was copied", p)
		}
	}
	for p, want := range map[string]string{"good": "in-tree passwd", "chain": "deep"} {
		if b, err := os.ReadFile(filepath.Join(f.dstRoot, p)); err != nil || string(b) != want {
			t.Errorf("%s on the target reads %q, %v; want %q", p, b, err, want)
		}
	}
	if _, err := os.Readlink(filepath.Join(f.dstRoot, "a/b/c/d/e/f/g/h/u")); err != nil {
		t.Errorf("u (a link to the copy root) was not copied: %v", err)
	}
	if res.Refused != 5 {
		t.Errorf("refused %d: %+v; want esc, bad2, zup, loop1, loop2", res.Refused, res.RefusalList)
	}
}

func TestCopyTreeKeepsTargetOnlyEntriesWithoutDelete(t *testing.T) {
	for _, now := range []string{"symlink", "file"} {
		t.Run(now, func(t *testing.T) {
			f := newCopyFixture(t)
			mt := time.Unix(1700000000, 0)
			writeFile(t, filepath.Join(f.srcRoot, "cfg", "a.conf"), []byte("a"), 0o644, mt)
			writeFile(t, filepath.Join(f.srcRoot, "other", "b.conf"), []byte("b"), 0o644, mt)
			writeFile(t, filepath.Join(f.srcRoot, "empty", "gone.conf"), []byte("g"), 0o644, mt)
			in := f.input(CopySet{})
			f.copy(t, in)
			// Only on the target: written there after the seed.
			local := filepath.Join(f.dstRoot, "cfg", "local.only")
			writeFile(t, local, []byte("target's own"), 0o644, mt)
			// The source's cfg is now a symlink (or a file); empty/ holds
			// nothing the source lacks once its file is gone, so it may go.
			os.RemoveAll(filepath.Join(f.srcRoot, "cfg"))
			os.RemoveAll(filepath.Join(f.srcRoot, "empty"))
			os.Remove(filepath.Join(f.dstRoot, "empty", "gone.conf"))
			if now == "symlink" {
				os.Symlink("other", filepath.Join(f.srcRoot, "cfg"))
				os.Symlink("other", filepath.Join(f.srcRoot, "empty"))
			} else {
				writeFile(t, filepath.Join(f.srcRoot, "cfg"), []byte("now a file"), 0o644, mt)
				writeFile(t, filepath.Join(f.srcRoot, "empty"), []byte("now a file"), 0o644, mt)
			}
			in.Phase = PhaseFinalSync
			_, err := f.a.CopyTree(context.Background(), in)
			res := wantCopyError(t, err, contract.ErrCopyRefused, true, `"cfg"`, "holding 2 entries", "delete = true")
			wantRefusal(t, res, "cfg", RefusalTargetConflict, false)
			if b, err := os.ReadFile(local); err != nil || string(b) != "target's own" {
				t.Fatalf("delete = false removed a target-only file: %q %v", b, err)
			}
			if fi, err := os.Lstat(filepath.Join(f.dstRoot, "empty")); err != nil || fi.IsDir() {
				t.Errorf("empty target directory was not replaced: %v", err)
			}
			// With delete, the target follows the source.
			in.Delete = true
			f.copy(t, in)
			if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCopyTreeRefusesReservedSourceNames(t *testing.T) {
	f := newCopyFixture(t)
	mt := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(f.srcRoot, "x", tmpPrefix+"mine"), []byte("the app's own file"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "x", "y"), []byte("y"), 0o644, mt)
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	res := wantCopyError(t, err, contract.ErrCopyRefused, true, "x/"+tmpPrefix+"mine", RefusalReservedName)
	if res.RefusedByKind[RefusalReservedName] != 1 {
		t.Errorf("refused by kind: %v", res.RefusedByKind)
	}
	res = f.copy(t, f.input(CopySet{AcceptRefusals: []string{RefusalReservedName}}))
	wantRefusal(t, res, "x/"+tmpPrefix+"mine", RefusalReservedName, true)
}

func TestCopyTreeRefusalKindsAndAcceptance(t *testing.T) {
	f := newCopyFixture(t)
	mt := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(f.srcRoot, "run", "app.pid"), []byte("42"), 0o644, mt)
	ln, err := net.Listen("unix", filepath.Join(f.srcRoot, "run", "app.sock"))
	if err != nil {
		t.Skipf("cannot create a unix socket here: %v", err)
	}
	defer ln.Close()
	if err := syscall.Mkfifo(filepath.Join(f.srcRoot, "run", "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Only sockets accepted: the FIFO still fails the copy, and the
	// message offers exactly the kind left to accept.
	_, err = f.a.CopyTree(context.Background(), f.input(CopySet{AcceptRefusals: []string{RefusalSocket}}))
	res := wantCopyError(t, err, contract.ErrCopyRefused, true, `"run/pipe" (fifo`, `accept_refusals = ["fifo"]`, "1 source entry was not copied")
	if res.RefusedByKind[RefusalSocket] != 1 || res.RefusedByKind[RefusalFIFO] != 1 || res.Refused != 2 {
		t.Errorf("counts: %d %v", res.Refused, res.RefusedByKind)
	}
	wantRefusal(t, res, "run/app.sock", RefusalSocket, true)
	wantRefusal(t, res, "run/pipe", RefusalFIFO, false)

	res = f.copy(t, f.input(CopySet{AcceptRefusals: []string{RefusalSocket, RefusalFIFO}}))
	if res.Refused != 2 || len(res.Refusals) != 2 || res.Files != 1 {
		t.Errorf("accepted: refused %d %q files %d", res.Refused, res.Refusals, res.Files)
	}
}

func TestRefusalMessageIsBounded(t *testing.T) {
	var list []Refusal
	for i := range 30 {
		list = append(list, Refusal{Path: fmt.Sprintf("f%02d", i), Kind: RefusalDevice, Reason: "device"})
	}
	msg := refusalLines(list, 250)
	if !strings.Contains(msg, `"f19"`) || strings.Contains(msg, `"f20"`) || !strings.HasSuffix(msg, "and 230 more") {
		t.Errorf("message: %s", msg)
	}
}

func TestRefusalPathsKeepNonUTF8Bytes(t *testing.T) {
	if got := escapeInvalidUTF8("bad\xff/na\xe9me\x00"); got != `bad\xff/na\xe9me`+"\x00" {
		t.Errorf("got %q", got)
	}
}
