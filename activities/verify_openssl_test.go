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
		bin := pathWithout(t, "openssl")
		body := "exec " + ShellQuote(real) + ` "$@"`
		if broken {
			body = "exit 1"
		}
		n := fakeTool(t, bin, "openssl", body)
		f := newCopyFixture(t, "PATH="+bin)
		ep, err := f.a.openEndpoint(context.Background(), f.dst, 1, nil)
		if err != nil {
			t.Fatal(err)
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
