package audit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden from this build's rendering")

// The reports of recorded histories are pinned byte for byte, with the
// renderer version that made them. Rendering other bytes under the same
// RendererVersion would make `audit verify` call every earlier bundle
// tampered; so a change fails here until RendererVersion is bumped and
// the golden files are written again (go test -run TestRenderingIsPinned
// -update), after reviewing their diff.
func TestRenderingIsPinned(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	versionFile := filepath.Join(dir, "renderer")
	for _, c := range []struct{ name, id, history string }{
		{"demo_rollback", "umzug/finance/finance", "testdata/demo_rollback.json"},
		{"failover", "umzug/record/print/failover/20261201T122546Z", "../../workflows/testdata/modes/failover.json"},
	} {
		e, err := NewEvidence(c.id, loadHistory(t, c.history))
		if err != nil {
			t.Fatal(err)
		}
		files, err := renderReports(e.Report)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range reportFiles {
			golden := filepath.Join(dir, c.name+"."+n)
			if *updateGolden {
				os.MkdirAll(dir, 0o755)
				if err := os.WriteFile(golden, files[n], 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (write it with -update)", err)
			}
			if line, inGolden, rendered, differs := firstDifference(want, files[n]); differs {
				pinned, _ := os.ReadFile(versionFile)
				why := "bump RendererVersion, then run this test with -update and review the diff"
				if strings.TrimSpace(string(pinned)) != RendererVersion {
					why = "RendererVersion was bumped: run this test with -update and review the diff"
				}
				t.Errorf("%s: %s renders differently from %s at line %d: golden %s, now %s; %s", c.name, n, golden, line, inGolden, rendered, why)
			}
		}
	}
	if *updateGolden {
		if err := os.WriteFile(versionFile, []byte(RendererVersion+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if pinned, _ := os.ReadFile(versionFile); !bytes.Equal(bytes.TrimSpace(pinned), []byte(RendererVersion)) {
		t.Errorf("golden files were rendered by %q, this build is %s: run this test with -update and review the diff", bytes.TrimSpace(pinned), RendererVersion)
	}
}
