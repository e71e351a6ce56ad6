package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/workflows"
)

// RendererVersion names the rendering code: report.md, report.json and
// report.html are a function of history.json, render.json and this
// version. It changes whenever the same inputs would render other bytes,
// so `audit verify` can tell a tampered report from one an older umzug
// rendered differently.
const RendererVersion = "umzug-audit-render/4"

// RenderFile is the name of the render record in a bundle.
const RenderFile = "render.json"

// RenderRecord is everything a report's rendering needs that history.json
// does not hold: what the audit learnt from the server or the target
// hosts at collection time. It is written to the bundle, covered by
// SHA256SUMS and so by the signature, and verify renders from it again.
type RenderRecord struct {
	Renderer   string `json:"renderer"`
	WorkflowID string `json:"workflow_id"`
	// AsOf is when a running workflow's evidence was collected: pending
	// deadlines are judged at that time. A closed workflow is judged at
	// its close time from history, so AsOf is unset.
	AsOf *time.Time `json:"as_of,omitempty"`
	// RunningStatus is the status query's answer for a move that had not
	// closed, as the server returned it.
	RunningStatus json.RawMessage `json:"running_status,omitempty"`
	// FailedBackBy is the failback workflow found for a move.
	FailedBackBy string `json:"failed_back_by,omitempty"`
	// Manifests are the outcomes of fetching each manifest from the target.
	Manifests []Manifest `json:"manifests,omitempty"`
}

// reportFrom derives the report from a history and its render record;
// replayErr is this build's replay of the history. Both `umzug audit` and
// `audit verify` render through it.
func reportFrom(h *historypb.History, rec RenderRecord, replayErr error) (*Report, error) {
	r, err := Build(rec.WorkflowID, h)
	if err != nil {
		return nil, err
	}
	if rec.AsOf != nil {
		r.asOf = *rec.AsOf
	}
	if len(rec.RunningStatus) > 0 && !r.Closed {
		var st workflows.Status
		if err := json.Unmarshal(rec.RunningStatus, &st); err != nil {
			return nil, fmt.Errorf("%s: running_status: %w", RenderFile, err)
		}
		r.applyStatus(st)
	}
	r.FailedBackBy = rec.FailedBackBy
	r.applyFetches(rec.Manifests)
	r.Replay = "consistent"
	if replayErr != nil {
		r.Replay = "INCONSISTENT: " + replayErr.Error()
	}
	return r, nil
}

// applyFetches copies recorded fetch outcomes onto the manifests the
// history names.
func (r *Report) applyFetches(fetched []Manifest) {
	for i := range r.Manifests {
		m := &r.Manifests[i]
		for _, f := range fetched {
			if f.Path == m.Path && f.Set == m.Set && f.Phase == m.Phase {
				m.Fetched, m.Matched, m.File, m.HostKey, m.Note = f.Fetched, f.Matched, f.File, f.HostKey, f.Note
			}
		}
	}
}

// renderReports renders the three report files of one workflow.
func renderReports(r *Report) (map[string][]byte, error) {
	rj, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report of %s: %w", r.WorkflowID, err)
	}
	var md, html bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		return nil, err
	}
	if err := r.WriteHTML(&html); err != nil {
		return nil, err
	}
	return map[string][]byte{
		"report.json": append(rj, '\n'),
		"report.md":   md.Bytes(),
		"report.html": html.Bytes(),
	}, nil
}

// encodeRecord writes a render record as canonical JSON.
func encodeRecord(rec RenderRecord) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode %s of %s: %w", RenderFile, rec.WorkflowID, err)
	}
	return Canonical(b)
}

// reportFiles are the files verify renders again.
var reportFiles = []string{"report.md", "report.json", "report.html"}
