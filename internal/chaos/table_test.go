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

// TestWriteHostileTableBesideTheMain checks that the hostile-host section
// and the main table are rewritten independently in one file.
func TestWriteHostileTableBesideTheMain(t *testing.T) {
	p := filepath.Join(t.TempDir(), "reliability.md")
	if err := WriteTable(p, Table([]Row{{Fault: "kill -9", Runs: 1}}, 1, "short", time.Second, time.Unix(0, 0))); err != nil {
		t.Fatal(err)
	}
	rows := []HostileRow{
		{Job: "hostile-target", Engine: "agent", Copies: 4, Attacks: 900, Copied: 120, RefusedChanged: 30, Converged: true},
		{Job: "hostile-target", Engine: "classic", Copies: 4, Failed: 1, Outside: 7, Foreign: 2, Problems: []string{"wrote d/f into /x"}},
	}
	for range 2 {
		if err := WriteHostileTable(p, HostileTable(rows, time.Minute, time.Unix(0, 0))); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(p)
	s := string(b)
	for _, want := range []string{"| kill -9 | 1 |", "| hostile-target | agent | 4 (0, 0) | 900 | 120 | 30 | 0 | 0 | yes |",
		"| hostile-target | classic | 4 (1, 0) | 0 | 0 | 0 | 7 | 2 | no |", "- hostile-target, classic: wrote d/f into /x"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	if strings.Count(s, hostileBegin) != 1 || strings.Count(s, tableBegin) != 1 {
		t.Errorf("sections not written exactly once:\n%s", s)
	}
	if rows[0].Broken() || !rows[1].Broken() {
		t.Error("Broken: want false for the clean row, true for the one that wrote outside")
	}
}
