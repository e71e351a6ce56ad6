package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"

	"github.com/umzug-dev/umzug/workflows"
)

// Offload evidence: the bundle of an offload carries its job list, one
// entry per job with its digest, when it was taken in and produced, at
// which site and under whose acceptance, taken from the workflow's
// result in history (so verify's digests cover it like the report).
const (
	OffloadJobsJSON = "offload-jobs.json"
	OffloadJobsMD   = "offload-jobs.md"
)

// OffloadJobList is offload-jobs.json.
type OffloadJobList struct {
	Offload    string                 `json:"offload"`
	Phase      string                 `json:"phase"`
	Outcome    string                 `json:"outcome,omitempty"`
	From       string                 `json:"from_site"`
	ProducedAt string                 `json:"produced_at_site"`
	AcceptedBy []string               `json:"accepted_by,omitempty"`
	AcceptedAt *time.Time             `json:"accepted_at,omitempty"`
	PartnerHas []string               `json:"partner_has,omitempty"`
	Jobs       []workflows.OffloadJob `json:"jobs"`
}

// offloadStatus is the result of a completed offload in h, or nil.
func offloadStatus(h *historypb.History) *workflows.OffloadStatus {
	evs := h.GetEvents()
	if len(evs) == 0 || evs[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName() != workflows.OffloadWorkflow {
		return nil
	}
	last := evs[len(evs)-1]
	if last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED {
		return nil
	}
	var st workflows.OffloadStatus
	if err := converter.GetDefaultDataConverter().FromPayloads(last.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &st); err != nil {
		return nil
	}
	return &st
}

// offloadFiles adds the job list of an offload's history to out.
func offloadFiles(h *historypb.History, add func(name string, b []byte)) error {
	st := offloadStatus(h)
	if st == nil {
		return nil
	}
	site := func(name, dc string) string {
		if dc == "" {
			return name
		}
		return dc + " (" + name + ")"
	}
	l := OffloadJobList{Offload: st.ID, Phase: st.Phase, Outcome: st.Outcome, From: site(st.Source, st.SourceSite),
		ProducedAt: site(st.Target, st.TargetSite), AcceptedBy: st.AcceptedBy, AcceptedAt: st.AcceptedAt,
		PartnerHas: st.PartnerHas, Jobs: st.Jobs}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the job list of %s: %w", st.ID, err)
	}
	add(OffloadJobsJSON, append(b, '\n'))
	var md strings.Builder
	fmt.Fprintf(&md, "# Jobs of offload %s\n\n", mdEscape(st.ID))
	fmt.Fprintf(&md, "From %s to %s; phase %s: %s\n\n", mdEscape(l.From), mdEscape(l.ProducedAt), st.Phase, mdEscape(st.Outcome))
	if len(st.AcceptedBy) > 0 && st.AcceptedAt != nil {
		fmt.Fprintf(&md, "Accepted by %s at %s\n\n", mdEscape(strings.Join(st.AcceptedBy, ", ")), st.AcceptedAt.UTC().Format(time.RFC3339))
	}
	md.WriteString("| job | bytes | sha256 | taken in | produced at | where | state |\n| --- | ---: | --- | --- | --- | --- | --- |\n")
	for _, j := range st.Jobs {
		at := func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		}
		where, state := "", "claimed"
		switch {
		case j.Produced != nil:
			where, state = l.ProducedAt, "produced"
		case j.Released:
			where, state = l.From, "released to the home queue"
		case j.TakenIn != nil || j.Uncertain:
			where, state = l.ProducedAt, "with the partner"
		}
		if j.Archived {
			state += ", archived"
		}
		fmt.Fprintf(&md, "| %s | %d | %s | %s | %s | %s | %s |\n", mdEscape(j.ID), j.Bytes, j.SHA256, at(j.TakenIn), at(j.Produced), mdEscape(where), state)
	}
	add(OffloadJobsMD, []byte(md.String()))
	return nil
}
