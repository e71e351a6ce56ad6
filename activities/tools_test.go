package activities

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pathWithout returns a PATH directory holding every program of /usr/bin
// and /bin except those whose names start with one of the prefixes.
func pathWithout(t *testing.T, prefixes ...string) string {
	t.Helper()
	bin := t.TempDir()
	for _, dir := range []string{"/usr/bin", "/bin"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			skip := false
			for _, p := range prefixes {
				skip = skip || strings.HasPrefix(e.Name(), p)
			}
			if !skip {
				_ = os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(bin, e.Name()))
			}
		}
	}
	return bin
}

// fakeTool writes the program name into bin: it counts its runs, then
// runs body (one shell line). runs reports the count so far.
func fakeTool(t *testing.T, bin, name, body string) (runs func() int) {
	t.Helper()
	calls := filepath.Join(t.TempDir(), name+".runs")
	script := "#!/bin/sh\necho >> " + ShellQuote(calls) + "\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return func() int {
		b, _ := os.ReadFile(calls)
		return strings.Count(string(b), "\n")
	}
}
