package plans

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// want is a diagnostic a test plan announces with a comment
// `# want error "Summary"` on the line the diagnostic must start on.
type want struct {
	file     string
	line     int
	severity string
	summary  string
}

var wantRE = regexp.MustCompile(`#\s*want\s+(error|warning)\s+("(?:[^"\\]|\\.)*")`)

func readWants(t *testing.T, path string) []want {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []want
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		for _, m := range wantRE.FindAllStringSubmatch(sc.Text(), -1) {
			s, err := strconv.Unquote(m[2])
			if err != nil {
				t.Fatalf("%s:%d: bad want %s: %v", path, line, m[2], err)
			}
			out = append(out, want{file: path, line: line, severity: m[1], summary: s})
		}
	}
	return out
}

func severity(d *hcl.Diagnostic) string {
	if d.Severity == hcl.DiagWarning {
		return "warning"
	}
	return "error"
}

func diagKey(file string, line int, sev, summary string) string {
	return fmt.Sprintf("%s:%d: %s %q", file, line, sev, summary)
}

// TestFaultPlans loads every plan in testdata/faults and checks that the
// diagnostics are exactly the announced ones, each on its line, and that
// the rendered text (positions and snippets) matches the golden file.
func TestFaultPlans(t *testing.T) {
	files, _ := filepath.Glob("testdata/faults/*.hcl")
	if len(files) < 4 {
		t.Fatalf("only %d fault plans found", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			p, diags := Load([]string{path}, LoadOptions{})
			var got, exp []string
			for _, d := range diags {
				line := 0
				file := ""
				if d.Subject != nil {
					line, file = d.Subject.Start.Line, d.Subject.Filename
				}
				got = append(got, diagKey(file, line, severity(d), d.Summary))
			}
			for _, w := range readWants(t, path) {
				exp = append(exp, diagKey(w.file, w.line, w.severity, w.summary))
			}
			sort.Strings(got)
			sort.Strings(exp)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Errorf("diagnostics differ from the want comments\n got:\n  %s\nwant:\n  %s",
					strings.Join(got, "\n  "), strings.Join(exp, "\n  "))
			}
			var buf bytes.Buffer
			if err := WriteDiagnostics(&buf, p.Files, diags, 0, false); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(path, ".hcl")+".golden", buf.Bytes())
		})
	}
}

func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./plans -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test ./plans -update rewrites it after review)\n--- got ---\n%s\n--- want ---\n%s",
			golden, got, want)
	}
}
