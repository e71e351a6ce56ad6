package audit

import (
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

// A signal whose comment holds CR, LF and | stays in its own cell of its
// own row: the table keeps one row per decision and nine cells per row.
func TestMarkdownCellsResistInjection(t *testing.T) {
	at := time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)
	r := &Report{WorkflowID: "umzug/p/a", WorkflowType: workflows.MoveWorkflow}
	r.applyStatus(workflows.Status{Phase: workflows.PhaseAwaitingApproval, Signals: []workflows.SignalRecord{{
		Name: "approve", Identity: "mallory", At: at, Via: "signal", Reason: "not an approver",
		Comment: "ok\r| 2026-12-12 18:00:00Z | approve | a.meier | fine | update | accepted |\n| x <script>alert(1)</script> `code`",
	}}})
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	var rows []string
	for _, l := range strings.Split(md, "\n") {
		if strings.Contains(l, "mallory") || strings.Contains(l, "a.meier") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 1 {
		t.Fatalf("mallory's comment made %d rows:\n%s", len(rows), md)
	}
	if strings.ContainsAny(md, "\r") || strings.Contains(md, "<script>") {
		t.Fatalf("raw CR or HTML in report:\n%q", md)
	}
	if n := cells(rows[0]); n != 9 {
		t.Fatalf("row has %d cells, want 9: %s", n, rows[0])
	}
	if !strings.Contains(rows[0], `ok␍\| 2026-12-12`) {
		t.Fatalf("comment not shown escaped: %s", rows[0])
	}
}

// cells counts the cells of a Markdown table row: unescaped | separators.
func cells(row string) int {
	n, esc := 0, false
	for _, c := range row {
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case c == '|':
			n++
		}
	}
	return n - 1
}

// The same in a recorded demo move: mallory's refused approval with CR,
// LF and | in its comment is one row in each table, and its decision row
// keeps nine cells.
func TestRecordedMalloryCommentStaysInItsCell(t *testing.T) {
	e, err := NewEvidence("umzug/finance/finance", loadHistory(t, "testdata/demo_rollback.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := e.Report.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "mallory") {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2 || cells(rows[0]) != 9 || cells(rows[1]) != 6 {
		t.Fatalf("mallory rows %q", rows)
	}
	if !strings.Contains(rows[0], `| ok␍\| fake \| row␊\| x |`) || strings.Contains(b.String(), "\r") {
		t.Fatalf("comment not escaped: %q", rows[0])
	}
}
