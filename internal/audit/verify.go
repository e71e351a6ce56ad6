package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/internal/allowedsigners"
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
	Rendered int       `json:"reports_rendered"`
	Checked  int       `json:"manifests_checked"`
	Notes    []string  `json:"notes,omitempty"`
	Findings []Finding `json:"findings,omitempty"`
}

// OK reports whether every check passed.
func (v *Verdict) OK() bool { return len(v.Findings) == 0 }

func (v *Verdict) fail(file, format string, args ...any) {
	v.Findings = append(v.Findings, Finding{File: file, Problem: fmt.Sprintf(format, args...)})
}

// VerifyOptions say whom to trust and what to accept.
type VerifyOptions struct {
	// Signers are the keys that may sign; Identity, if set, is the
	// principal the signer must be allowed as (ssh-keygen -Y verify -I).
	Signers  *allowedsigners.File
	Identity string
	// AcceptOldRenderer lets a bundle whose reports an older renderer made
	// pass with a note instead of failing; its reports are then not
	// checked against the history.
	AcceptOldRenderer bool
	// Now is the time signer validity is judged at (zero: the clock).
	Now time.Time
}

// VerifyBundle re-checks a bundle offline: the signature over SHA256SUMS
// against the allowed signers, every file's digest, that no file is
// unlisted, each manifest against the digest its history records, a
// replay of each history against this build, and that each report is
// byte for byte what this build renders from history.json and
// render.json.
func VerifyBundle(dir string, o VerifyOptions) *Verdict {
	v := &Verdict{}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	sums, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		v.fail(SumsFile, "cannot read: %v", err)
		return v
	}
	if sig, err := os.ReadFile(filepath.Join(dir, SigFile)); err != nil {
		v.fail(SigFile, "cannot read (is the bundle signed? `umzug audit ID --sign-key KEY`): %v", err)
	} else if o.Signers == nil || len(o.Signers.Entries) == 0 {
		v.fail(SigFile, "no allowed signer given: pass --allowed-signers FILE or --public-key FILE")
	} else if v.Signer, err = o.Signers.Verify(sums, sig, SigNamespace, o.Identity, now); err != nil {
		v.fail(SumsFile, "signature check failed: %v", err)
	}
	listed := v.checkSums(dir, sums)
	v.checkUnlisted(dir, listed)
	for _, h := range histories(listed) {
		v.checkHistory(dir, h, listed, o.AcceptOldRenderer)
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

// checkHistory replays one history, renders its reports again and
// compares them with the bundle's, and compares the manifests in the
// bundle with the digests it records.
func (v *Verdict) checkHistory(dir, name string, listed map[string]bool, acceptOld bool) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return // already reported by checkSums
	}
	h, err := ParseHistory(b)
	if err != nil {
		v.fail(name, "%v", err)
		return
	}
	replayErr := Replay(h, renderedWorkflowID(dir, path.Dir(name)))
	if replayErr != nil {
		v.fail(name, "does not replay against this build: %v", replayErr)
	} else {
		v.Replayed++
	}
	base := path.Dir(name)
	r, ok := v.rerender(dir, base, h, replayErr, listed, acceptOld)
	if !ok {
		return
	}
	for _, d := range r.Decisions {
		if d.SignatureProblem != "" {
			v.fail(name, "%s by %s at %s: %s", d.Name, d.Identity, ts(d.At), d.SignatureProblem)
		}
	}
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

// renderedWorkflowID is the workflow ID render.json names, "" when it
// cannot be read (rerender reports why).
func renderedWorkflowID(dir, base string) string {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path.Join(base, RenderFile))))
	if err != nil || len(b) > maxRenderRecord {
		return ""
	}
	var rec RenderRecord
	if json.Unmarshal(b, &rec) != nil {
		return ""
	}
	return rec.WorkflowID
}

// rerender renders the reports of the history in base again from
// history.json and render.json and compares them byte for byte with the
// bundle's. It returns the report (for the manifest check) and whether
// one could be derived.
func (v *Verdict) rerender(dir, base string, h *historypb.History, replayErr error, listed map[string]bool, acceptOld bool) (*Report, bool) {
	recName := path.Join(base, RenderFile)
	old := func(why string) (*Report, bool) {
		msg := fmt.Sprintf("cannot re-render: %s; this build renders %s, so the reports were not checked against the history", why, RendererVersion)
		if acceptOld {
			v.Notes = append(v.Notes, recName+": "+msg+" (accepted with --accept-old-renderer)")
		} else {
			v.fail(recName, "%s; pass --accept-old-renderer to check the rest of such a bundle", msg)
		}
		r, err := Build(path.Dir(recName), h)
		return r, err == nil
	}
	if !listed[recName] {
		return old("made by an umzug before " + RendererVersion + " (no " + RenderFile + ")")
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(recName)))
	if err != nil {
		return nil, false // reported by checkSums
	}
	if len(b) > maxRenderRecord {
		v.fail(recName, "larger than %d bytes: not a render record", maxRenderRecord)
		return nil, false
	}
	var rec RenderRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		v.fail(recName, "not a render record: %v", err)
		return nil, false
	}
	if rec.Renderer != RendererVersion {
		return old(fmt.Sprintf("made by renderer version %q", bounded(rec.Renderer)))
	}
	r, err := reportFrom(h, rec, replayErr)
	if err != nil {
		v.fail(recName, "%v", err)
		return nil, false
	}
	want, err := renderReports(r)
	if err != nil {
		v.fail(recName, "%v", err)
		return r, true
	}
	for _, n := range reportFiles {
		name := path.Join(base, n)
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			v.fail(name, "missing: this build renders it from %s", path.Join(base, "history.json"))
			continue
		}
		if line, bundle, rendered, differs := firstDifference(got, want[n]); differs {
			v.fail(name, "differs from what history.json renders: line %d is %s in the bundle, %s when rendered", line, bundle, rendered)
		} else {
			v.Rendered++
		}
	}
	return r, true
}

// maxRenderRecord bounds render.json: a running move's status with its
// bounded records fits many times over.
const maxRenderRecord = 64 << 20

// firstDifference returns the first line where a and b differ (1-based)
// and both versions of it, quoted and bounded around the first differing
// byte.
func firstDifference(a, b []byte) (line int, inA, inB string, differs bool) {
	if bytes.Equal(a, b) {
		return 0, "", "", false
	}
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; ; i++ {
		switch {
		case i >= len(la):
			return i + 1, "(end of file)", excerpt(lb[i], 0), true
		case i >= len(lb):
			return i + 1, excerpt(la[i], 0), "(end of file)", true
		case !bytes.Equal(la[i], lb[i]):
			at := 0
			for at < len(la[i]) && at < len(lb[i]) && la[i][at] == lb[i][at] {
				at++
			}
			return i + 1, excerpt(la[i], at), excerpt(lb[i], at), true
		}
	}
}

// maxShownLine bounds a line quoted in a finding.
const maxShownLine = 160

// excerpt quotes up to maxShownLine bytes of a line, starting a little
// before byte at so the difference is in view.
func excerpt(l []byte, at int) string {
	from := max(0, at-maxShownLine/3)
	s := strings.ToValidUTF8(string(l[from:]), "")
	pre := ""
	if from > 0 {
		pre = "…"
	}
	return fmt.Sprintf("%q", pre+bounded(s))
}

func bounded(s string) string {
	if len(s) > maxShownLine {
		return strings.ToValidUTF8(s[:maxShownLine], "") + "…"
	}
	return s
}
