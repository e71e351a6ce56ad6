package activities

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The rehearsal cleanup removes the re-rooted target and its state
// directory, prunes what became empty, and removes a symlink inside the
// tree as a link: what it points to (outside the root) stays.
func TestCleanupRehearsalStaysInRoot(t *testing.T) {
	f := newCopyFixture(t)
	root := filepath.Join(f.dir, "scratch")
	to := filepath.Join(root, "srv/print/spool")
	outside := filepath.Join(f.dir, "precious")
	for _, p := range []string{filepath.Join(to, "a/b"), outside, filepath.Join(root, "srv/keep")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(to, "a/b/job.ps"), filepath.Join(outside, "file"), filepath.Join(root, "srv/keep/other")} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(to, "link")); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, "srv/print/.umzug", sanitizeName("umzug/p/print/rehearsal/x"))
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	// The verified identities, in the SSH user's private state directory.
	idents := filepath.Join(f.a.IdentStateDir, sanitizeName("umzug/p/print/rehearsal/x"))
	if err := os.MkdirAll(idents, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(idents, "spool-verified.bin"), []byte(identStateMagic), 0o600); err != nil {
		t.Fatal(err)
	}
	in := CleanupInput{MoveID: "umzug/p/print/rehearsal/x", Host: f.dst, Root: root, Targets: []string{to}}
	res, err := f.a.CleanupRehearsal(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// to, a, a/b, job.ps, link; the state directory; the identities.
	if res.Entries != 8 || len(res.Removed) != 3 {
		t.Fatalf("removed %d entries (%v), want 8 in 3 trees", res.Entries, res.Removed)
	}
	if _, err := os.Stat(idents); !os.IsNotExist(err) {
		t.Fatalf("the rehearsal's verified identities were left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "file")); err != nil {
		t.Fatalf("the symlink's target outside the root was touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "srv/print")); !os.IsNotExist(err) {
		t.Fatalf("emptied parent srv/print not pruned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "srv/keep/other")); err != nil {
		t.Fatalf("a file the rehearsal did not write was removed: %v", err)
	}
	// A second run finds nothing left and succeeds.
	if res, err := f.a.CleanupRehearsal(context.Background(), in); err != nil || res.Entries != 0 {
		t.Fatalf("second cleanup: %+v %v", res, err)
	}
}

// Paths outside the root, and paths reached through a symlink inside it,
// are refused without removing anything.
func TestCleanupRehearsalRefusesEscapes(t *testing.T) {
	f := newCopyFixture(t)
	root := filepath.Join(f.dir, "scratch")
	outside := filepath.Join(f.dir, "real/srv/print")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "job.ps"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.dir, "real/srv"), filepath.Join(root, "srv")); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{filepath.Join(root, "srv/print"), outside, root + "/../real/srv/print", root} {
		in := CleanupInput{MoveID: "m", Host: f.dst, Root: root, Targets: []string{target}}
		_, err := f.a.CleanupRehearsal(context.Background(), in)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("cleanup of %s: %v, want a refusal", target, err)
		}
		if _, err := os.Stat(filepath.Join(outside, "job.ps")); err != nil {
			t.Fatalf("cleanup of %s removed a file outside the root: %v", target, err)
		}
	}
}
