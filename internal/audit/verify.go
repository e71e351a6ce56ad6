package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Finding is one failed check of a bundle, naming the file.
type Finding struct {
	File    string `json:"file"`
	Problem string `json:"problem"`
}

// Verdict is the outcome of VerifyBundle.
type Verdict struct {
	Signer   string    `json:"signer,omitempty"`
	Files    int       `json:"files"`
	Replayed int       `json:"replayed"`
	Checked  int       `json:"manifests_checked"`
	Notes    []string  `json:"notes,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
}

// OK reports whether every check passed.
func (v *Verdict) OK() bool { return len(v.Findings) == 0 }

func (v *Verdict) fail(file, format string, args ...any) {
	v.Findings = append(v.Findings, Finding{File: file, Problem: fmt.Sprintf(format, args...)})
}

// VerifyBundle re-checks a bundle offline: the signature over SHA256SUMS
// against the allowed keys, every file's digest, that no file is
// unlisted, each manifest against the digest its history records, and a
// replay of each history against this build.
func VerifyBundle(dir string, allowed []AllowedKey) *Verdict {
	v := &Verdict{}
	sums, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		v.fail(SumsFile, "cannot read: %v", err)
		return v
	}
	if sig, err := os.ReadFile(filepath.Join(dir, SigFile)); err != nil {
		v.fail(SigFile, "cannot read (is the bundle signed? `umzug audit ID --sign-key KEY`): %v", err)
	} else if len(allowed) == 0 {
		v.fail(SigFile, "no allowed signer given: pass --allowed-signers FILE or --public-key FILE")
	} else if v.Signer, err = checkSignature(sums, sig, allowed); err != nil {
		v.fail(SumsFile, "signature check failed: %v", err)
	}
	listed := v.checkSums(dir, sums)
	v.checkUnlisted(dir, listed)
	for _, h := range histories(listed) {
		v.checkHistory(dir, h)
	}
	return v
}

// checkSums compares every listed file with its digest; it returns the
// listed names.
func (v *Verdict) checkSums(dir string, sums []byte) map[string]bool {
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for n := 1; sc.Scan(); n++ {
		want, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(want) != 64 || !fs.ValidPath(name) {
			v.fail(SumsFile, "line %d is not \"<sha256>  <file>\"", n)
			continue
		}
		listed[name] = true
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			v.fail(name, "listed in %s but cannot be read: %v", SumsFile, err)
			continue
		}
		v.Files++
		if got := sha256Hex(b); got != want {
			v.fail(name, "SHA-256 is %s, %s says %s: the file was changed", got, SumsFile, want)
		}
	}
	return listed
}

// checkUnlisted flags files in the bundle that SHA256SUMS does not cover.
func (v *Verdict) checkUnlisted(dir string, listed map[string]bool) {
	root := os.DirFS(dir)
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == SumsFile || p == SigFile {
			return nil
		}
		if !listed[p] {
			v.fail(p, "not listed in %s: added after signing", SumsFile)
		}
		return nil
	})
}

// histories returns the listed history.json files, the top one first.
func histories(listed map[string]bool) []string {
	var out []string
	for n := range listed {
		if path.Base(n) == "history.json" {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) < len(out[j]) || len(out[i]) == len(out[j]) && out[i] < out[j] })
	return out
}

// checkHistory rebuilds the report of one history, replays it, and
// compares the manifests in the bundle with the digests it records.
func (v *Verdict) checkHistory(dir, name string) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return // already reported by checkSums
	}
	h, err := ParseHistory(b)
	if err != nil {
		v.fail(name, "%v", err)
		return
	}
	r, err := Build(name, h)
	if err != nil {
		v.fail(name, "%v", err)
		return
	}
	if err := Replay(h); err != nil {
		v.fail(name, "does not replay against this build: %v", err)
	} else {
		v.Replayed++
	}
	base := path.Dir(name)
	for _, m := range r.Manifests {
		f := path.Join(base, manifestFile(m))
		mb, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			v.Notes = append(v.Notes, fmt.Sprintf("manifest %s (%s %s) is not in the bundle; check it on the target with sha256sum: %s", m.Path, m.Set, m.Phase, m.SHA256))
			continue
		}
		v.Checked++
		if got := sha256Hex(mb); got != m.SHA256 {
			v.fail(f, "manifest SHA-256 is %s, %s records %s", got, name, m.SHA256)
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
