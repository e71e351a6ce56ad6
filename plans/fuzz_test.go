package plans

import (
	"os"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary source to the loader in both syntaxes. It must
// never panic, and a plan without errors must be fully resolved.
func FuzzLoad(f *testing.F) {
	for _, path := range planFilesForTests(f) {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src), false)
	}
	if src, err := os.ReadFile("testdata/valid/generated.hcl.json"); err == nil {
		f.Add(string(src), true)
	}
	f.Add(`application "a" { depends_on = [application.a] }`, false)
	f.Add(`locals { a = local.a }`, false)
	f.Add(`variable "s" { sensitive = true }
locals { e = "P=\"${var.s}\"", l = [var.s], m = { k = var.s } }
datacenter "d" { description = local.e }`, false)
	f.Add(secretsSrc(map[string]string{"{RUN}": `"${local.x} ${var.pg_password}"`, "{EXTRA}": `locals { x = upper(var.pg_password) }`}), false)
	f.Fuzz(func(t *testing.T, src string, asJSON bool) {
		name := "fuzz.hcl"
		if asJSON {
			name = "fuzz.hcl.json"
		}
		p, diags := loadSources("fuzz", []source{{path: name, src: []byte(src)}}, LoadOptions{})
		var sb strings.Builder
		_ = WriteDiagnostics(&sb, p.Files, diags, 80, false)
		_ = JSONDiagnostics(diags)
		if diags.HasErrors() {
			return
		}
		for _, h := range p.Hosts {
			if h.Datacenter == nil || h.Address == "" || h.KnownHosts == "" {
				t.Fatalf("valid plan with unresolved host %+v", h)
			}
		}
		for _, a := range p.Applications {
			if a.Source == nil || a.Target == nil || a.Source == a.Target {
				t.Fatalf("valid plan with bad application %+v", a)
			}
			for _, d := range a.DependsOn {
				if d == nil {
					t.Fatal("nil dependency")
				}
			}
		}
		if !asJSON {
			if _, fd := Format([]byte(src), name); fd.HasErrors() {
				t.Fatalf("loads but does not format: %v", fd)
			}
		}
	})
}
