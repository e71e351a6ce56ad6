package activities

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

func TestParseTreeRecord(t *testing.T) {
	p, fi, ok := parseTreeRecord([]byte("f 4755 1000 100 12 1700000000.1234567890 1700000001.5000000000 42 2049 /src/a b\nc"))
	if !ok || p != "/src/a b\nc" || fi.Name() != "a b\nc" {
		t.Fatalf("parse: ok %v path %q name %q", ok, p, fi.Name())
	}
	if fi.Mode() != fs.ModeSetuid|0o755 || fi.Size() != 12 || fi.ModTime().Unix() != 1700000000 || uidOf(fi) != 1000 || gidOf(fi) != 100 {
		t.Errorf("entry: mode %v size %d mtime %d owner %d:%d", fi.Mode(), fi.Size(), fi.ModTime().Unix(), uidOf(fi), gidOf(fi))
	}
	if id, _ := listedIdent(fi); id != (fileIdent{Size: 12, MtimeNs: 1700000000123456789, CtimeNs: 1700000001500000000, Inode: 42, Dev: 2049}) {
		t.Errorf("identity %+v", id)
	}
	if _, fi, ok := parseTreeRecord([]byte("l 777 0 0 3 1.0 1.0 7 1 /src/ln")); !ok || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("symlink: ok %v mode %v", ok, fi.Mode())
	} else if _, ok := listedIdent(fi); ok {
		t.Error("a symlink has a file identity")
	}
	if _, fi, ok := parseTreeRecord([]byte("f 644 0 0 3 1700000000 1700000000.5 7 1 /src/x")); !ok || fi.id.MtimeNs != 1700000000e9 || fi.id.CtimeNs != 1700000000500000000 {
		t.Errorf("times without or with a short fraction: ok %v %+v", ok, fi)
	}
	for _, bad := range []string{
		"D 644 0 0 0 1.0 1.0 1 1 /src/door", // a type SFTP cannot show: walk over SFTP
		"f 99 0 0 0 1.0 1.0 1 1 /src/x",
		"f 644 0 0 -1 1.0 1.0 1 1 /src/x",
		"f 644 0 0 0 1.0 1.0 1 /src/x",
		"f 644 0 0 0 1.0x 1.0 1 1 /src/x",
		"f 644 0 0 0 1.0 1.0 1 99999999999999999999 /src/x", // past uint64
		"f 644 4294967296 0 0 1.0 1.0 1 1 /src/x",           // past uint32
		"f 644 0 0 0 99999999999.0 1.0 1 1 /src/x",          // past int64 ns
		"ff 644 0 0 0 1.0 1.0 1 1 /src/x",
	} {
		if _, _, ok := parseTreeRecord([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A final sync walks both trees from one find listing per host and still
// does everything the SFTP walk does: new, changed and deleted entries,
// modes, symlinks.
func TestCopyTreeFinalSyncWalksFindListing(t *testing.T) {
	f := newCopyFixture(t)
	files, _ := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	in.Delete = true
	f.copy(t, in)

	mt := time.Unix(1700000500, 0)
	writeFile(t, filepath.Join(f.srcRoot, "new/deep/n.txt"), []byte("new"), 0o600, mt)
	writeFile(t, filepath.Join(f.srcRoot, "README"), []byte("changed readme"), 0o644, mt)
	if err := os.Symlink("README", filepath.Join(f.srcRoot, "readme.lnk")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(f.srcRoot, "bin/run.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(f.dstRoot, "stale/old.txt"), []byte("gone from the source"), 0o644, mt)

	var trace bytes.Buffer
	f.a.Options.Trace = &trace
	in.Phase = PhaseFinalSync
	res := f.copy(t, in)
	f.wantTreeWalk(t, trace.String())
	if res.CopiedFiles != 2 || res.Deleted < 1 || res.Kept != int64(files-2) {
		t.Errorf("copied %d deleted %d kept %d; want 2, ≥1, %d", res.CopiedFiles, res.Deleted, res.Kept, files-2)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A directory walked from the find listing that is swapped for a symlink
// before its changed file is copied is refused: the file behind the
// symlink, with the listed size and mtime, must not reach the target.
func TestCopyTreeFinalSyncTreeWalkChecksSwappedDir(t *testing.T) {
	f := newCopyFixture(t)
	mt := time.Unix(1700000000, 0)
	writeFile(t, filepath.Join(f.srcRoot, "d", "f.txt"), []byte("in tree"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "e", "g.txt"), []byte("untouched"), 0o644, mt)
	in := f.input(CopySet{})
	f.copy(t, in)

	// d/f.txt changes; outside holds a file of the same size, mode and
	// mtime.
	mt2 := time.Unix(1700000600, 0)
	writeFile(t, filepath.Join(f.srcRoot, "d", "f.txt"), bytes.Repeat([]byte("x"), len(secretBytes)), 0o644, mt2)
	outside := filepath.Join(f.dir, "outside")
	writeFile(t, filepath.Join(outside, "f.txt"), secretBytes, 0o644, mt2)
	f.a.hooks.afterList = func(rel string) {
		if rel == "" {
			swapForLink(t, filepath.Join(f.srcRoot, "d"), outside)
		}
	}
	var trace bytes.Buffer
	f.a.Options.Trace = &trace
	in.Phase = PhaseFinalSync
	_, err := f.a.CopyTree(context.Background(), in)
	wantCopyError(t, err, contract.ErrCopyChanged, false, `"d"`, "source directory changed")
	noForeignBytes(t, filepath.Dir(f.dstRoot), secretBytes)
	f.wantTreeWalk(t, trace.String())
}

// fakeRunner prints out and exits with code, whatever the command.
type fakeRunner struct {
	out, errOut string
	code        int
}

func (f fakeRunner) Run(_ context.Context, _ string, _ io.Reader, stdout, stderr io.Writer) (int, error) {
	io.WriteString(stdout, f.out)
	io.WriteString(stderr, f.errOut)
	return f.code, nil
}

// A tree listing groups entries by directory; one that reports any error
// (an unreadable directory: its entries would be missing and their
// targets deleted) or holds a record it cannot read is not used.
func TestListTreeFallsBackOnAnyError(t *testing.T) {
	rec := func(typ, p string) string { return typ + " 755 0 0 5 1.5 1.5 9 1 " + p + "\x00" }
	out := rec("d", "") + rec("d", "a") + rec("f", "a/x") + rec("f", "y")
	nop := func(string, ...any) {}
	tl := listTree(context.Background(), fakeRunner{out: out}, "h", "/r", false, nop)
	if tl == nil || len(tl.dirs[""]) != 2 || len(tl.dirs["a"]) != 1 || tl.dirs["a"][0].Name() != "x" {
		t.Fatalf("listing: %+v", tl)
	}
	if id, ok := listedIdent(tl.dirs["a"][0]); !ok || id.Inode != 9 {
		t.Fatalf("listing: %+v", tl)
	}
	if tl := listTree(context.Background(), fakeRunner{out: out, code: 1}, "h", "/r", false, nop); tl != nil {
		t.Error("a listing whose find failed was used")
	}
	if tl := listTree(context.Background(), fakeRunner{out: out + "garbage\x00"}, "h", "/r", false, nop); tl != nil {
		t.Error("a listing with an unreadable record was used")
	}
	for _, p := range []string{"/elsewhere/z", "../z", "a/../../z", "a//z", ""} {
		if tl := listTree(context.Background(), fakeRunner{out: out + rec("f", p)}, "h", "/r", false, nop); tl != nil {
			t.Errorf("a listing with the path %q was used", p)
		}
	}
}

// A final sync's tree listing also tells whether the host runs GNU tar
// 1.29 or later, so a copy with files to batch asks in no session of its
// own; a listing that says nothing of tar means no batches.
func TestListTreeLearnsTar(t *testing.T) {
	out := "d 755 0 0 5 1.5 1.5 9 1 \x00"
	nop := func(string, ...any) {}
	for stderr, want := range map[string]bool{
		"tar (GNU tar) 1.35\nCopyright (C) 2023 Free Software Foundation, Inc.\n": true,
		"tar (GNU tar) 1.29\n":              true,
		"tar (GNU tar) 1.28\n":              false,
		"bsdtar 3.7.2 - libarchive 3.7.2\n": false,
		"sh: 1: tar: not found\n":           false,
		"":                                  false,
		"find: warning: something\ntar (GNU tar) 2.0\n": true,
	} {
		tl := listTree(context.Background(), fakeRunner{out: out, errOut: stderr}, "h", "/r", false, nop)
		if tl == nil || tl.tar != want {
			t.Errorf("stderr %q: listing %+v, want tar %v", stderr, tl, want)
		}
		ep := &endpoint{}
		ep.knowTar(tl.tar)
		if ep.hasTar(context.Background()) != want {
			t.Errorf("stderr %q: the endpoint asked again or forgot", stderr)
		}
	}
	if cmd := treeCmd("/r", false); !strings.Contains(cmd, "tar --version >&2 2>/dev/null; exec find ") {
		t.Errorf("treeCmd %q does not ask for tar", cmd)
	}
}

func TestOptionsDefaults(t *testing.T) {
	var o Options
	if o.conns() != DefaultConns || o.concurrency(0) != DefaultConcurrency || o.noProgress() != DefaultNoProgress {
		t.Errorf("zero Options: conns %d concurrency %d no-progress %v", o.conns(), o.concurrency(0), o.noProgress())
	}
	o = Options{Conns: 99, Concurrency: 5, NoProgress: time.Second}
	if o.conns() != MaxConns || o.concurrency(0) != 5 || o.concurrency(7) != 7 || o.noProgress() != time.Second {
		t.Errorf("set Options: conns %d concurrency %d/%d no-progress %v", o.conns(), o.concurrency(0), o.concurrency(7), o.noProgress())
	}
}
