package testkit

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func TestFreePortCanBeBound(t *testing.T) {
	p := FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d: %v", p, err)
	}
	l.Close()
}

func TestTreeWritesFilesDirsAndSymlinks(t *testing.T) {
	root := t.TempDir()
	Tree{"a/b.txt": "hello", "empty/": "", "a/link": "->b.txt"}.Write(t, root)
	if b, err := os.ReadFile(filepath.Join(root, "a/link")); err != nil || string(b) != "hello" {
		t.Errorf("through the symlink: %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "empty")); err != nil || !fi.IsDir() {
		t.Errorf("empty dir: %v", err)
	}
	if target, _ := os.Readlink(filepath.Join(root, "a/link")); target != "b.txt" {
		t.Errorf("symlink target %q", target)
	}
}
