package workflows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"go.temporal.io/sdk/client"
)

// TestRecordedInputsRoundTrip: the move, wave, standby and offload inputs in the recorded
// histories decode into today's types and encode back to the same JSON
// object (same keys, same values), so the types still read and write what
// histories hold, embedded Subject included.
func TestRecordedInputsRoundTrip(t *testing.T) {
	for _, r := range recorded {
		t.Run(r.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", r.file))
			if err != nil {
				t.Fatal(err)
			}
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			attrs := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
			var in any
			switch attrs.GetWorkflowType().GetName() {
			case WaveWorkflow:
				in = &WaveInput{}
			case StandbyWorkflow:
				in = &StandbyInput{}
			case StandbySyncWorkflow:
				in = &StandbySyncInput{}
			case OffloadWorkflow:
				in = &OffloadInput{}
			default:
				in = &MoveInput{}
			}
			raw := attrs.GetInput().GetPayloads()[0].GetData()
			if err := json.Unmarshal(raw, in); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s input changes in a round trip:\nrecorded %s\nnow      %s", attrs.GetWorkflowType().GetName(), raw, again)
			}
		})
	}
}

// TestStandbyInputKeepsFlatKeys: the standby record's input keeps the
// subject's fields as top-level keys, as before Subject was shared.
func TestStandbyInputKeepsFlatKeys(t *testing.T) {
	b, err := json.Marshal(StandbyInput{Subject: Subject{PlanName: "q4", PlanSHA256: "s", Application: "finance", StartedBy: "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"plan_name": "q4", "plan_sha256": "s", "application": "finance", "started_by": "ops"} {
		if m[k] != v {
			t.Errorf("key %s = %v, want %v in %s", k, m[k], v, b)
		}
	}
	for _, k := range []string{"source", "target", "copies", "interval", "max_lag"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %s missing in %s", k, b)
		}
	}
	if _, ok := m["Subject"]; ok {
		t.Errorf("Subject is nested, not flat: %s", b)
	}
}
