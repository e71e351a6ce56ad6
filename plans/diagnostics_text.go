package plans

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// diagWriter renders diagnostics as hcl.NewDiagnosticTextWriter does,
// byte for byte, but cuts each snippet from a per-file index rather than
// scanning the file: the cost of a diagnostic is that of its own lines.
type diagWriter struct {
	w     io.Writer
	files map[string]*hcl.File
	width uint
	color bool
	index map[string]*fileIndex
	// work counts index entries built and looked at: what tests measure
	// to check that printing grows linearly with the diagnostics.
	work int
}

// fileIndex is where a file's lines and top-level blocks start.
type fileIndex struct {
	lines  []int // byte offset of each line's first byte
	blocks []blockSpan
	nav    bool // blocks is empty: ask the file's own navigation
}

type blockSpan struct {
	start, end int
	typ        string
	labels     []string
}

func newDiagWriter(w io.Writer, files map[string]*hcl.File, width uint, color bool) *diagWriter {
	return &diagWriter{w: w, files: files, width: width, color: color, index: map[string]*fileIndex{}}
}

// indexOf indexes file name once.
func (dw *diagWriter) indexOf(name string, f *hcl.File) *fileIndex {
	if ix, ok := dw.index[name]; ok {
		return ix
	}
	ix := &fileIndex{lines: []int{0}}
	for i, c := range f.Bytes {
		// A line starts after each newline that is not the file's last byte.
		if c == '\n' && i+1 < len(f.Bytes) {
			ix.lines = append(ix.lines, i+1)
		}
	}
	if body, ok := f.Body.(*hclsyntax.Body); ok {
		for _, b := range body.Blocks {
			r := b.Range()
			ix.blocks = append(ix.blocks, blockSpan{start: r.Start.Byte, end: r.End.Byte, typ: b.Type, labels: b.Labels})
		}
	} else {
		ix.nav = true
	}
	dw.work += len(ix.lines) + len(ix.blocks)
	dw.index[name] = ix
	return ix
}

// block returns the top-level block holding offset, or nil.
func (ix *fileIndex) block(offset int) *blockSpan {
	i := sort.Search(len(ix.blocks), func(i int) bool { return ix.blocks[i].start > offset }) - 1
	if i >= 0 && offset < ix.blocks[i].end {
		return &ix.blocks[i]
	}
	return nil
}

// contextString is hcl's "in <block header>" for offset.
func (ix *fileIndex) contextString(f *hcl.File, offset int) string {
	if ix.nav {
		if cs, ok := f.Nav.(interface{ ContextString(int) string }); ok {
			return cs.ContextString(offset)
		}
		return ""
	}
	b := ix.block(offset)
	if b == nil {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(b.typ)
	for _, l := range b.labels {
		fmt.Fprintf(&sb, " %q", l)
	}
	return sb.String()
}

// lineRange is line i (0-based) of src without its line ending, as
// bufio.ScanLines cuts it.
func (ix *fileIndex) lineRange(name string, src []byte, i int) hcl.Range {
	start := ix.lines[i]
	end := len(src)
	if i+1 < len(ix.lines) {
		end = ix.lines[i+1] - 1
	} else if j := bytes.IndexByte(src[start:], '\n'); j >= 0 {
		end = start + j
	}
	if end > start && src[end-1] == '\r' {
		end--
	}
	return hcl.Range{Filename: name, Start: hcl.Pos{Byte: start, Line: i + 1, Column: 1}, End: hcl.Pos{Byte: end, Line: i + 1}}
}

func (dw *diagWriter) write(d *hcl.Diagnostic) error {
	if d.Subject == nil {
		return dw.hcl(d)
	}
	f := dw.files[d.Subject.Filename]
	if f == nil || f.Bytes == nil {
		return dw.hcl(d)
	}
	// The severity and summary line, and the detail and evaluation
	// context after the snippet, come from hcl's writer given a copy of d
	// whose file it does not have: it then prints a placeholder where the
	// snippet goes, replaced here by the snippet.
	var head, full bytes.Buffer
	bare := *d
	bare.Subject = &hcl.Range{Filename: "", Start: d.Subject.Start, End: d.Subject.End}
	bare.Context = nil
	full.Grow(len(d.Detail) + 256)
	if err := hcl.NewDiagnosticTextWriter(&full, nil, dw.width, dw.color).WriteDiagnostic(&bare); err != nil {
		return err
	}
	bare.Expression, bare.EvalContext, bare.Detail = nil, nil, ""
	if err := hcl.NewDiagnosticTextWriter(&head, nil, dw.width, dw.color).WriteDiagnostic(&bare); err != nil {
		return err
	}
	placeholder := fmt.Sprintf("  on  line %d:\n  (source code not available)\n\n", d.Subject.Start.Line)
	top, ok := bytes.CutSuffix(head.Bytes(), []byte(placeholder))
	if !ok || !bytes.HasPrefix(full.Bytes(), head.Bytes()) {
		return dw.hcl(d) // hcl's layout changed: let it scan
	}
	var out bytes.Buffer
	out.Write(top)
	dw.snippet(&out, d, f)
	out.Write(full.Bytes()[head.Len():])
	_, err := dw.w.Write(out.Bytes())
	return err
}

// hcl renders d with hcl's own writer.
func (dw *diagWriter) hcl(d *hcl.Diagnostic) error {
	return hcl.NewDiagnosticTextWriter(dw.w, dw.files, dw.width, dw.color).WriteDiagnostic(d)
}

// snippet writes the "on <file> line <n>, in <block>:" line and the
// source lines of d, the subject highlighted, as hcl does.
func (dw *diagWriter) snippet(out *bytes.Buffer, d *hcl.Diagnostic, f *hcl.File) {
	name := d.Subject.Filename
	ix := dw.indexOf(name, f)
	snip, high := *d.Subject, *d.Subject
	if d.Context != nil {
		snip = hcl.RangeOver(snip, *d.Context)
	}
	if snip.Empty() {
		snip.End.Byte++
		snip.End.Column++
	}
	if high.Empty() {
		high.End.Byte++
		high.End.Column++
	}
	ctx := ix.contextString(f, d.Subject.Start.Byte)
	if ctx != "" {
		ctx = ", in " + ctx
	}
	fmt.Fprintf(out, "  on %s line %d%s:\n", name, d.Subject.Start.Line, ctx)
	var hi, reset string
	if dw.color {
		hi, reset = "\x1b[1;4m", "\x1b[0m"
	}
	src := f.Bytes
	// From the line before the snippet's start (a range may start on
	// the newline that ends it) to the last line starting at or before
	// its end; hcl's Overlaps decides which of them print.
	first := sort.SearchInts(ix.lines, snip.Start.Byte+1) - 2
	for i := max(first, 0); i < len(ix.lines) && ix.lines[i] <= snip.End.Byte; i++ {
		dw.work++
		lr := ix.lineRange(name, src, i)
		if !lr.Overlaps(snip) {
			continue
		}
		before, mid, after := lr.PartitionAround(high)
		if mid.Empty() {
			fmt.Fprintf(out, "%4d: %s\n", i+1, lr.SliceBytes(src))
			continue
		}
		fmt.Fprintf(out, "%4d: %s%s%s%s%s\n", i+1, before.SliceBytes(src), hi, mid.SliceBytes(src), reset, after.SliceBytes(src))
	}
	out.WriteByte('\n')
}

// foldMin is the number of applications from which a repeated warning
// is printed once: two or three stay separate, each with its position.
const foldMin = 4

// foldNames is how many of the other applications a folded warning names.
const foldNames = 8

// foldRepeated returns diags with each warning whose summary recurs in
// foldMin or more applications kept once, at its first place, its detail
// ending with how many more applications have it and the first of their
// names. Errors are never folded: each needs its own fix.
func (dw *diagWriter) foldRepeated(diags hcl.Diagnostics) hcl.Diagnostics {
	type group struct {
		first int
		apps  []string
		seen  map[string]bool
	}
	groups := map[string]*group{}
	appOf := make([]string, len(diags))
	for i, d := range diags {
		app := dw.application(d)
		if app == "" || d.Severity != hcl.DiagWarning {
			continue
		}
		g := groups[d.Summary]
		if g == nil {
			g = &group{first: i, seen: map[string]bool{}}
			groups[d.Summary] = g
		}
		if g.seen[app] {
			continue // a second warning in one application stays
		}
		g.seen[app] = true
		g.apps = append(g.apps, app)
		appOf[i] = app
	}
	out := make(hcl.Diagnostics, 0, len(diags))
	for i, d := range diags {
		g := groups[d.Summary]
		if appOf[i] == "" || g == nil || len(g.apps) < foldMin {
			out = append(out, d)
			continue
		}
		if i != g.first {
			continue
		}
		more := g.apps[1:]
		names := strings.Join(more[:min(len(more), foldNames)], ", ")
		if len(more) > foldNames {
			names += ", …"
		}
		c := *d
		c.Detail = strings.TrimRight(d.Detail, "\n") + fmt.Sprintf(" (and %d more applications: %s; --json lists each)", len(more), names)
		out = append(out, &c)
	}
	return out
}

// application names the application block that holds d's subject, or
// returns "".
func (dw *diagWriter) application(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return ""
	}
	f := dw.files[d.Subject.Filename]
	if f == nil || f.Bytes == nil {
		return ""
	}
	b := dw.indexOf(d.Subject.Filename, f).block(d.Subject.Start.Byte)
	if b == nil || b.typ != "application" || len(b.labels) == 0 {
		return ""
	}
	return b.labels[0]
}
