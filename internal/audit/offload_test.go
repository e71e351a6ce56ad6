package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/workflows"
)

// The bundle of a recorded offload lists every job with its digest,
// where and when it was produced, and who accepted the hand-over.
func TestOffloadBundleListsEveryJob(t *testing.T) {
	f, err := os.Open("../../workflows/testdata/offload/offload.json")
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	id := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowId()
	if id == "" {
		id = "umzug/record/print/offload/20261208T020000Z"
	}
	ev, err := NewEvidence(id, h)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := WriteBundle(dir, ev)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range files {
		names = append(names, w.Name)
	}
	if !strings.Contains(strings.Join(names, " "), OffloadJobsJSON) {
		t.Fatalf("bundle files %v lack %s", names, OffloadJobsJSON)
	}
	b, err := os.ReadFile(filepath.Join(dir, OffloadJobsJSON))
	if err != nil {
		t.Fatal(err)
	}
	var l OffloadJobList
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	if l.Phase != workflows.OffloadDone || l.ProducedAt != "akdb (akdb_print)" || len(l.Jobs) != 3 || len(l.AcceptedBy) != 1 || l.AcceptedBy[0] != "m.huber" {
		t.Fatalf("job list: %s", b)
	}
	for _, j := range l.Jobs {
		if len(j.SHA256) != 64 || j.Produced == nil || !j.Archived {
			t.Errorf("job %+v", j)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, OffloadJobsMD))
	if !strings.Contains(string(md), "| queue/a.pdf | 10 | "+strings.Repeat("a", 64)) || !strings.Contains(string(md), "produced, archived") {
		t.Fatalf("%s:\n%s", OffloadJobsMD, md)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, SumsFile))
	if !strings.Contains(string(sums), OffloadJobsMD) {
		t.Fatalf("%s does not cover the job list:\n%s", SumsFile, sums)
	}
}
