package activities

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The test hook reads its points only when both variables are set,
// pauses once per point and ends its pause with the context.
func TestTestPauseOnceAndOnlyWhenSet(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(testPauseEnv, "claim:2,copy,archive:x")
	t.Setenv(testPauseDirEnv, "")
	if _, _, ok := testPausePoint("claim"); ok {
		t.Fatal("armed without a marker directory")
	}
	t.Setenv(testPauseDirEnv, dir)
	if n, m, ok := testPausePoint("claim"); !ok || n != 2 || m != filepath.Join(dir, "claim.paused") {
		t.Fatalf("claim: %d %q %v", n, m, ok)
	}
	if p := hostPauseFor("release"); p != nil {
		t.Fatalf("release armed: %+v", p)
	}
	if p := hostPauseFor("archive"); p != nil {
		t.Fatalf("a bad count armed the archive: %+v", p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	testPause(ctx, "copy")
	if time.Since(start) < 250*time.Millisecond {
		t.Fatal("the first copy did not pause")
	}
	if _, err := os.Stat(filepath.Join(dir, "copy.paused")); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	testPause(context.Background(), "copy")
	if time.Since(start) > 100*time.Millisecond {
		t.Fatal("paused twice at copy")
	}
}
