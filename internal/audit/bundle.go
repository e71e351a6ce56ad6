package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// A bundle directory holds, for one move:
//
//	history.json   the history, canonical JSON (ExportHistory)
//	render.json    what rendering needs beyond history (RenderRecord)
//	report.json    the report, for programs
//	report.md      the report, for people
//	report.html    the report as a printable page with a timeline
//	manifests/     the copy manifests fetched from the target host
//	SHA256SUMS     sha256sum -c format, every file above
//	SHA256SUMS.sig SSH signature over SHA256SUMS (namespace umzug-audit)
//
// A wave's bundle holds the wave's files at the top and each move's under
// moves/<application>/; SHA256SUMS covers them all.
const (
	SumsFile = "SHA256SUMS"
	SigFile  = "SHA256SUMS.sig"
	movesDir = "moves"
)

// WrittenFile is a file written into a bundle and its SHA-256.
type WrittenFile struct {
	Name   string // bundle-relative, slash-separated
	SHA256 string
}

// WriteBundle writes the evidence into dir and a SHA256SUMS over every
// file; it returns the files in SHA256SUMS order, SHA256SUMS last.
func WriteBundle(dir string, e *Evidence) ([]WrittenFile, error) {
	files := map[string][]byte{}
	if err := e.files("", files); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if err := checkStale(dir, files); err != nil {
		return nil, err
	}
	var out []WrittenFile
	var sums bytes.Buffer
	for _, n := range names {
		if err := writeFile(dir, n, files[n]); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(files[n])
		w := WrittenFile{Name: n, SHA256: hex.EncodeToString(sum[:])}
		out = append(out, w)
		fmt.Fprintf(&sums, "%s  %s\n", w.SHA256, n)
	}
	if err := writeFile(dir, SumsFile, sums.Bytes()); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(sums.Bytes())
	return append(out, WrittenFile{Name: SumsFile, SHA256: hex.EncodeToString(sum[:])}), nil
}

// checkStale refuses to mix a new bundle with files of an older one in
// dir, which verify would report as added; an old signature is removed
// because the new SHA256SUMS differs.
func checkStale(dir string, files map[string][]byte) error {
	var stale []string
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == SumsFile || p == SigFile {
			return nil
		}
		if _, ok := files[p]; !ok {
			stale = append(stale, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read audit directory %s: %w", dir, err)
	}
	if len(stale) > 0 {
		return fmt.Errorf("audit directory %s holds files that are not part of this bundle (%s); remove them or choose another --out", dir, strings.Join(stale, ", "))
	}
	if err := os.Remove(filepath.Join(dir, SigFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove old signature: %w", err)
	}
	return nil
}

// files renders the evidence into name -> content under prefix.
func (e *Evidence) files(prefix string, out map[string][]byte) error {
	hj, err := ExportHistory(e.History)
	if err != nil {
		return fmt.Errorf("export history of %s: %w", e.Report.WorkflowID, err)
	}
	// Render from what the bundle holds, exactly as verify will.
	rep, err := reportFrom(e.History, e.Record, e.ReplayErr)
	if err != nil {
		return fmt.Errorf("render report of %s: %w", e.Record.WorkflowID, err)
	}
	reports, err := renderReports(rep)
	if err != nil {
		return err
	}
	rec, err := encodeRecord(e.Record)
	if err != nil {
		return err
	}
	out[path.Join(prefix, "history.json")] = hj
	out[path.Join(prefix, RenderFile)] = rec
	for n, b := range reports {
		out[path.Join(prefix, n)] = b
	}
	for n, b := range e.Manifests {
		out[path.Join(prefix, n)] = b
	}
	if err := offloadFiles(e.History, func(n string, b []byte) { out[path.Join(prefix, n)] = b }); err != nil {
		return err
	}
	for _, m := range e.Moves {
		if err := m.files(path.Join(prefix, movesDir, safeName(m.Report.Application)), out); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(dir, name string, b []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create audit directory %s: %w", filepath.Dir(p), err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("write audit file %s: %w", p, err)
	}
	return nil
}

// safeName keeps a name usable as one path component.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." {
		return "_" + s
	}
	return s
}
