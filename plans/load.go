package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// source is one plan file's name (as given, for diagnostics) and content.
type source struct {
	path string
	src  []byte
}

// Load reads the plan at paths (files, or directories whose *.hcl and
// *.hcl.json files form one plan) and returns it with every diagnostic.
// When diags has errors the Plan is partial (Name, SHA256 and Files are
// set for reporting) or nil when no file could be read; only a plan
// without errors may be run.
func Load(paths []string, opts LoadOptions) (*Plan, hcl.Diagnostics) {
	if len(paths) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No plan given",
			Detail:   "Name a plan file (*.hcl, *.hcl.json) or a directory of them.",
		}}
	}
	var diags hcl.Diagnostics
	var srcs []source
	for _, p := range paths {
		found, d := readPlanPath(p)
		diags = append(diags, d...)
		srcs = append(srcs, found...)
	}
	if len(srcs) == 0 {
		return nil, diags
	}
	plan, d := loadSources(planName(paths[0]), srcs, opts)
	return plan, append(diags, d...)
}

// readPlanPath reads one file, or every plan file of a directory.
func readPlanPath(p string) ([]source, hcl.Diagnostics) {
	fail := func(err error, what string) hcl.Diagnostics {
		// The path once, with the reason alone (not "stat p: stat p: …").
		reason := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
		d := &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot read plan",
			Detail:   fmt.Sprintf("cannot %s plan %s: %s", what, p, reason),
		}
		if errors.Is(err, fs.ErrNotExist) && what == "open" {
			d.Summary = "No such plan"
			d.Detail = fmt.Sprintf("plan %s does not exist: give the path of a plan file (*.hcl, *.hcl.json) or of a directory of them", p)
		}
		return hcl.Diagnostics{d}
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fail(err, "open")
	}
	if !st.IsDir() {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, fail(err, "read")
		}
		return []source{{path: p, src: src}}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fail(err, "list directory")
	}
	var out []source
	var diags hcl.Diagnostics
	for _, e := range entries {
		if e.IsDir() || !isPlanFile(e.Name()) {
			continue
		}
		fp := filepath.Join(p, e.Name())
		src, err := os.ReadFile(fp)
		if err != nil {
			diags = append(diags, fail(err, "read "+fp+" of")...)
			continue
		}
		out = append(out, source{path: fp, src: src})
	}
	if len(out) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty plan directory",
			Detail:   fmt.Sprintf("Directory %s holds no *.hcl or *.hcl.json files.", p),
		})
	}
	return out, diags
}

func isPlanFile(name string) bool {
	return strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".hcl.json")
}

// planName is the file name without extension, or the directory's name.
func planName(p string) string {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return filepath.Base(p)
	}
	base := filepath.Base(p)
	for _, ext := range []string{".hcl.json", ".hcl", ".json"} {
		if n, ok := strings.CutSuffix(base, ext); ok {
			return n
		}
	}
	return base
}

// planDigest is the hex SHA-256 over the files sorted by base name, each
// as name NUL content NUL.
func planDigest(srcs []source) string {
	sorted := append([]source(nil), srcs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return filepath.Base(sorted[i].path) < filepath.Base(sorted[j].path)
	})
	h := sha256.New()
	for _, s := range sorted {
		h.Write([]byte(filepath.Base(s.path)))
		h.Write([]byte{0})
		h.Write(s.src)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadSources parses and decodes the plan; Load and the fuzz test use it.
func loadSources(name string, srcs []source, opts LoadOptions) (*Plan, hcl.Diagnostics) {
	l := newLoader(opts)
	plan := &Plan{Name: name, SHA256: planDigest(srcs)}
	var bodies []*hcl.File
	for _, s := range srcs {
		var f *hcl.File
		var d hcl.Diagnostics
		if strings.HasSuffix(s.path, ".json") {
			f, d = l.parser.ParseJSON(s.src, s.path)
		} else {
			f, d = l.parser.ParseHCL(s.src, s.path)
		}
		l.diags = append(l.diags, d...)
		if f != nil && f.Body != nil {
			bodies = append(bodies, f)
		}
	}
	if !l.diags.HasErrors() {
		l.decode(plan, bodies)
	}
	plan.Files = l.parser.Files()
	return plan, l.finish()
}
