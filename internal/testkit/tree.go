package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tree is a spec of files below a root: relative path → content. A path
// ending in "/" is an empty directory; content starting with "->" makes a
// symlink to the rest.
type Tree map[string]string

// Write creates the tree below root (made if missing), files 0644.
func (tr Tree) Write(t testing.TB, root string) {
	t.Helper()
	for rel, content := range tr {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			mustDo(t, os.MkdirAll(p, 0o755))
			continue
		}
		mustDo(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if target, ok := strings.CutPrefix(content, "->"); ok {
			mustDo(t, os.Symlink(target, p))
			continue
		}
		mustDo(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("write tree: %v", err)
	}
}
