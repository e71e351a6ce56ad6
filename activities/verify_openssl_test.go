package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A host with openssl hashes a batch of plainly named files with it, and
// a batch holding a name openssl would print ambiguously (a newline)
// with sha256sum. An openssl that hashes nothing is given up for
// sha256sum, which then serves every later batch. The digests are right
// every time.
func TestRemoteSumsPrefersOpenSSL(t *testing.T) {
	real, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl on this machine")
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := []string{write("a", "alpha"), write("b c", "beta"), write("-d", "delta"), write("*e", "eps")}
	odd := []string{write("f", "phi"), write("g\nh", "gamma")}
	want := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			b, _ := os.ReadFile(p)
			s := sha256.Sum256(b)
			out = append(out, hex.EncodeToString(s[:]))
		}
		return out
	}
	for _, broken := range []bool{false, true} {
		bin := t.TempDir()
		calls := filepath.Join(bin, "calls")
		script := "#!/bin/sh\necho >> " + ShellQuote(calls) + "\nexec " + ShellQuote(real) + ` "$@"` + "\n"
		if broken {
			script = "#!/bin/sh\necho >> " + ShellQuote(calls) + "\nexit 1\n"
		}
		if err := os.WriteFile(filepath.Join(bin, "openssl"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []string{"sha256sum", "xargs"} {
			p, err := exec.LookPath(tool)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
		f := newCopyFixture(t, "PATH="+bin)
		ep, err := f.a.openEndpoint(context.Background(), f.dst, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := func() int {
			b, _ := os.ReadFile(calls)
			return strings.Count(string(b), "\n")
		}
		for i, batch := range [][]string{plain, odd, plain} {
			got, err := remoteSums(context.Background(), ep, batch)
			if err != nil || strings.Join(got, " ") != strings.Join(want(batch), " ") {
				t.Fatalf("broken %v, batch %d: %q, %v; want %q", broken, i, got, err, want(batch))
			}
			wantCalls := []int{1, 1, 2}[i]
			if broken {
				wantCalls = 1 // asked once, then never again
			}
			if n() != wantCalls {
				t.Errorf("broken %v, batch %d: openssl ran %d times, want %d", broken, i, n(), wantCalls)
			}
		}
		ep.close()
	}
}
