package audit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/workflows"
)

// The audit report lists each copy's refusals with kind, path and whether
// the plan accepted them, in report.md and report.json.
func TestReportListsRefusals(t *testing.T) {
	r := &Report{WorkflowID: "umzug/p/a"}
	r.applyStatus(workflows.Status{Phase: workflows.PhaseCommitted, Refusals: []workflows.CopyRefusals{{
		Set: "data", Phase: "final_sync", Total: 1, ByKind: map[string]int64{"fifo": 1}, AcceptedKinds: []string{"fifo"},
		Paths: []contract.Refusal{{Path: "run/app.fifo", Kind: "fifo", Reason: "named pipe", Accepted: true}},
	}}})
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Refusals", "| data | final_sync | fifo | 1 | yes |", "| data | final_sync | `run/app.fifo` | fifo | named pipe | yes |"} {
		if !strings.Contains(md.String(), want) {
			t.Fatalf("report.md lacks %q:\n%s", want, md.String())
		}
	}
	js, _ := json.Marshal(r)
	if !strings.Contains(string(js), `"refusals":[{"set":"data","phase":"final_sync"`) || !strings.Contains(string(js), `"path":"run/app.fifo"`) {
		t.Fatalf("report.json lacks the refusal: %s", js)
	}
}
