package plans

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func planFilesForTests(t testing.TB) []string {
	var files []string
	for _, pat := range []string{"../examples/*.hcl", "testdata/*/*.hcl"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("only %d plan files found", len(files))
	}
	return files
}

// TestFormatRoundTrip formats every example and test plan: formatting is
// idempotent, the examples are already canonical, and the formatted
// plan means the same (same diagnostics, same decoded plan).
func TestFormatRoundTrip(t *testing.T) {
	for _, path := range planFilesForTests(t) {
		t.Run(path, func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			once, diags := Format(src, path)
			if diags.HasErrors() {
				t.Fatalf("format: %v", diags)
			}
			twice, _ := Format(once, path)
			if !bytes.Equal(once, twice) {
				t.Fatalf("not idempotent:\n%s\n---\n%s", once, twice)
			}
			if filepath.Dir(path) == "../examples" && !bytes.Equal(src, once) {
				t.Errorf("%s is not formatted; run umzug fmt %s", path, path)
			}
			opts := LoadOptions{Vars: map[string]string{}}
			p1, d1 := loadSources("x", []source{{path: path, src: src}}, opts)
			p2, d2 := loadSources("x", []source{{path: path, src: once}}, opts)
			if summaries(d1) != summaries(d2) {
				t.Fatalf("formatting changed the diagnostics:\n%s\n---\n%s", summaries(d1), summaries(d2))
			}
			if !d1.HasErrors() && !reflect.DeepEqual(stripRanges(p1), stripRanges(p2)) {
				t.Fatal("formatting changed the decoded plan")
			}
		})
	}
}

func summaries(diags interface{ Error() string }) string { return diags.Error() }

// stripRanges keeps what a plan means, not where it was written.
func stripRanges(p *Plan) []string {
	var out []string
	for _, a := range p.Applications {
		out = append(out, a.Name, a.Source.Name, a.Target.Name, a.Soak.String())
		for _, c := range a.Copies {
			out = append(out, c.Name, c.From, c.To, c.Verify)
			out = append(out, c.Exclude...)
		}
		if a.Cutover != nil {
			for _, b := range a.Cutover.Blocks {
				out = append(out, b.Kind, b.Name, b.On, b.Run, b.Undo, b.Timeout.String())
			}
		}
	}
	return out
}

func TestFormatCanonical(t *testing.T) {
	messy := "host \"a\" {\n datacenter=datacenter.x\n    address = \"h\"\nuser=\"u\"\n}\n"
	want := "host \"a\" {\n  datacenter = datacenter.x\n  address    = \"h\"\n  user       = \"u\"\n}\n"
	got, diags := Format([]byte(messy), "m.hcl")
	if diags.HasErrors() || string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	broken := []byte("host \"a\" {\n  address = \n")
	out, diags := Format(broken, "b.hcl")
	if !diags.HasErrors() || !bytes.Equal(out, broken) {
		t.Fatalf("a broken file must come back unchanged with errors, got %q %v", out, diags)
	}
}
