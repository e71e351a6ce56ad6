package activities

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

func TestManifestStateDirIsNotFollowedThroughSymlinks(t *testing.T) {
	for _, which := range []string{".umzug", ".umzug/umzug_test_finance"} {
		t.Run(which, func(t *testing.T) {
			f := newCopyFixture(t)
			writeFile(t, filepath.Join(f.srcRoot, "x"), []byte("x"), 0o644, time.Unix(1700000000, 0))
			elsewhere := filepath.Join(f.dir, "elsewhere")
			if err := os.Mkdir(elsewhere, 0o755); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(filepath.Dir(f.dstRoot), which)
			os.MkdirAll(filepath.Dir(link), 0o755)
			if err := os.Symlink(elsewhere, link); err != nil {
				t.Fatal(err)
			}
			_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) || ae.Type() != contract.ErrCopyRefused || !ae.NonRetryable() ||
				!strings.Contains(err.Error(), link+" on fin_lg is a symlink") {
				t.Fatalf("want non-retryable %s naming the symlinked %s, got %v", contract.ErrCopyRefused, link, err)
			}
			if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
				t.Errorf("wrote through the symlink: %v", ents)
			}
		})
	}
}

func TestManifestRecordsNonUTF8NamesLosslessly(t *testing.T) {
	f := newCopyFixture(t)
	mt := time.Unix(1700000000, 0)
	odd := "caf\xe9 \xff\xfe.txt" // Latin-1 and stray bytes: not UTF-8
	writeFile(t, filepath.Join(f.srcRoot, "d\xe4ten", odd), []byte("latin-1"), 0o644, mt)
	writeFile(t, filepath.Join(f.srcRoot, "plain.txt"), []byte("plain"), 0o644, mt)
	if err := os.Symlink(odd, filepath.Join(f.srcRoot, "d\xe4ten", "l\xff")); err != nil {
		t.Fatal(err)
	}
	res := f.copy(t, f.input(CopySet{}))
	data, err := os.ReadFile(res.ManifestPath)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	links := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e manifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		names = append(names, e.name())
		if e.Type == "symlink" {
			links[e.name()] = e.target()
		}
	}
	// The manifest names exactly what is on the target, byte for byte.
	var onDisk []string
	filepath.Walk(f.dstRoot, func(p string, _ os.FileInfo, err error) error {
		if err == nil && p != f.dstRoot {
			rel, _ := filepath.Rel(f.dstRoot, p)
			onDisk = append(onDisk, rel)
		}
		return nil
	})
	sort.Strings(names)
	sort.Strings(onDisk)
	if len(names) != 4 || len(names) != len(onDisk) {
		t.Fatalf("manifest names %q, target holds %q", names, onDisk)
	}
	for i := range names {
		if names[i] != onDisk[i] {
			t.Errorf("manifest name %q, target entry %q", names[i], onDisk[i])
		}
	}
	if got := links["d\xe4ten/l\xff"]; got != odd {
		t.Errorf("symlink target in the manifest %q, want %q", got, odd)
	}
	if !bytes.Contains(data, []byte(`"path":"plain.txt","type"`)) {
		t.Errorf("a UTF-8 name is not written plainly: %s", data)
	}
}

// The manifest's fast line writer agrees byte for byte with encoding/json
// on the entries it takes, and declines the others.
func TestAppendManifestLineMatchesJSON(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, e := range []manifestEntry{
		{Path: "d/f.dat", Type: "file", Size: 12, Mode: "0644", Mtime: 1700000000, SHA256: sum},
		{Path: "d", Type: "dir", Mode: "0755", Mtime: -5},
		{Path: "with space/and-dash_1", Type: "file", Mode: "0600", SHA256: ""},
		{Path: "ümlaut.txt", Type: "file", Mode: "0644"},
		{Path: `q"uote`, Type: "file", Mode: "0644"},
		{Path: "a<b>&c", Type: "file", Mode: "0644"},
		{Path: "tab\\t", Type: "file", Mode: "0644"},
		{Path: "l", Type: "symlink", Mode: "0777", Link: "target"},
		{Path: "bad\xff", PathB64: "YmFk/w==", Type: "file", Mode: "0644"},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendManifestLine(nil, e)
		if ok && string(got) != string(want) {
			t.Errorf("%q: fast %s, encoding/json %s", e.Path, got, want)
		}
		plain := e.Link == "" && e.PathB64 == "" && !strings.ContainsAny(e.Path, "\"<>&\\ü")
		if ok != plain {
			t.Errorf("%q: fast path taken %v, want %v", e.Path, ok, plain)
		}
	}
}
