package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteTableKeepsProse regenerates the table twice and checks that the
// prose on both sides survives and only one table remains.
func TestWriteTableKeepsProse(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reliability.md")
	prose := "# Reliability\n\nintro\n\n" + tableBegin + "\nold table\n" + tableEnd + "\n\n## After\n\nmore\n"
	if err := os.WriteFile(p, []byte(prose), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := []Row{{Fault: "kill -9", Runs: 2, Committed: 2, BytesResent: 2048, ResentMeasured: true}, {Fault: "full", Skipped: "not root"}}
	for range 2 {
		if err := WriteTable(p, Table(rows, 42, "short", time.Minute, time.Unix(0, 0))); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(p)
	s := string(b)
	for _, want := range []string{"intro", "## After", "| kill -9 | 2 | 2 |", "2.0 KiB", "skipped: not root", "seed 42"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	if strings.Count(s, tableBegin) != 1 || strings.Contains(s, "old table") {
		t.Errorf("table not replaced exactly once:\n%s", s)
	}
}
