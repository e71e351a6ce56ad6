package plans

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// warnedPlan is generatedPlan(n) with each application's target at its
// source's address: one "Source and target share an address" warning per
// application.
func warnedPlan(n int) string {
	return strings.ReplaceAll(generatedPlan(n), `address       = "10.40.`, `address       = "10.20.`)
}

// loadWarned loads warnedPlan(n) and checks it has n warnings.
func loadWarned(tb testing.TB, n int) (map[string]*hcl.File, hcl.Diagnostics) {
	tb.Helper()
	p, diags := loadSources("gen", []source{{path: "gen.hcl", src: []byte(warnedPlan(n))}}, LoadOptions{})
	if diags.HasErrors() || p == nil {
		tb.Fatal(diags)
	}
	if _, w := Counts(diags); w != n {
		tb.Fatalf("%d warnings; want one per application (%d)", w, n)
	}
	return p.Files, diags
}

// BenchmarkWriteDiagnostics1000 prints a warning for each of 1,000
// applications, folded into one.
func BenchmarkWriteDiagnostics1000(b *testing.B) {
	files, diags := loadWarned(b, 1000)
	for b.Loop() {
		if err := WriteDiagnostics(io.Discard, files, diags, 0, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteDiagnostics1000Unfolded prints all 1,000 warnings, as
// when each has its own summary.
func BenchmarkWriteDiagnostics1000Unfolded(b *testing.B) {
	files, diags := loadWarned(b, 1000)
	for b.Loop() {
		dw := newDiagWriter(io.Discard, files, 0, false)
		for _, d := range diags {
			if err := dw.write(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// renderHCL renders d with hcl's own writer, which scans the file.
func renderHCL(t *testing.T, files map[string]*hcl.File, d *hcl.Diagnostic, width uint, color bool) string {
	t.Helper()
	var b strings.Builder
	if err := hcl.NewDiagnosticTextWriter(&b, files, width, color).WriteDiagnostic(d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The indexed writer prints what hcl's writer prints, byte for byte: for
// every diagnostic of the fault plans, and for ranges at a file's edges,
// across lines, on CRLF and multi-byte lines and with a context range.
func TestDiagWriterMatchesHCL(t *testing.T) {
	paths, _ := filepath.Glob("testdata/faults/*.hcl")
	type tc struct {
		files map[string]*hcl.File
		diags hcl.Diagnostics
	}
	var cases []tc
	for _, path := range paths {
		p, diags := Load([]string{path}, LoadOptions{})
		if p == nil || len(diags) == 0 {
			t.Fatalf("%s: no plan or no diagnostics", path)
		}
		cases = append(cases, tc{p.Files, diags})
	}
	src := []byte("a = \"ü€\"\r\nblock \"x\" {\r\n\r\n  b = 1\r\n}\nc = 2")
	f, diags := hclsyntax.ParseConfig(src, "edge.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rng := func(s, e int) *hcl.Range {
		return &hcl.Range{Filename: "edge.hcl", Start: hcl.Pos{Byte: s, Line: 1 + bytes.Count(src[:s], []byte("\n")), Column: 1}, End: hcl.Pos{Byte: e}}
	}
	var edge hcl.Diagnostics
	for _, r := range [][2]int{{0, 1}, {0, 0}, {4, 11}, {10, 11}, {11, 14}, {12, 30}, {25, len(src)}, {len(src) - 1, len(src)}, {len(src), len(src)}, {5, 40}} {
		edge = append(edge, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "edge", Detail: "a detail long enough to be wrapped at a narrow width of the terminal", Subject: rng(r[0], r[1])})
	}
	edge = append(edge, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "context", Subject: rng(20, 22), Context: rng(11, 40)})
	cases = append(cases, tc{map[string]*hcl.File{"edge.hcl": f}, edge})
	n := 0
	for _, c := range cases {
		for _, d := range c.diags {
			for _, color := range []bool{false, true} {
				var got strings.Builder
				if err := newDiagWriter(&got, c.files, 30, color).write(d); err != nil {
					t.Fatal(err)
				}
				if want := renderHCL(t, c.files, d, 30, color); got.String() != want {
					t.Errorf("%s %v:\n got %q\nwant %q", d.Summary, d.Subject, got.String(), want)
				}
				n++
			}
		}
	}
	if n < 40 {
		t.Fatalf("only %d renderings compared", n)
	}
}

// Printing a warning for each of n applications costs work in proportion
// to n (the file's lines indexed once, each snippet's own lines), and the
// warnings fold into one that names the other applications.
func TestWriteDiagnosticsLinear(t *testing.T) {
	work := map[int]int{}
	for _, n := range []int{100, 1000} {
		files, diags := loadWarned(t, n)
		var out strings.Builder
		dw := newDiagWriter(&out, files, 0, false)
		for _, d := range diags {
			if err := dw.write(d); err != nil {
				t.Fatal(err)
			}
		}
		work[n] = dw.work
		if c := strings.Count(out.String(), "Warning: Source and target share an address"); c != n {
			t.Fatalf("%d apps: %d warnings printed unfolded; want %d", n, c, n)
		}
		out.Reset()
		if err := WriteDiagnostics(&out, files, diags, 0, false); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if c := strings.Count(text, "Warning:"); c != 1 {
			t.Errorf("%d apps: %d warnings printed; want them folded into one", n, c)
		}
		want := fmt.Sprintf("(and %d more applications: app1, app2, app3, app4, app5, app6, app7, app8, …; --json lists each)", n-1)
		if !strings.Contains(text, want) || !strings.HasPrefix(text, "gen.hcl:") {
			t.Errorf("%d apps: folded warning lacks %q:\n%s", n, want, text)
		}
	}
	// Ten times the applications: about ten times the work, where
	// rescanning the file per diagnostic would be a hundred times.
	if work[100] == 0 || work[1000] > 11*work[100] {
		t.Errorf("work for 100 applications %d, for 1,000 %d: not linear", work[100], work[1000])
	}
}

// Three applications with one warning each keep three warnings, each
// with its position.
func TestFewRepeatedWarningsStay(t *testing.T) {
	files, diags := loadWarned(t, foldMin-1)
	var out strings.Builder
	if err := WriteDiagnostics(&out, files, diags, 0, false); err != nil {
		t.Fatal(err)
	}
	if c := strings.Count(out.String(), "Warning: Source and target share an address"); c != foldMin-1 {
		t.Errorf("%d warnings printed; want %d:\n%s", c, foldMin-1, out.String())
	}
}
