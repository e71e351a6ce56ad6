package audit

import (
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/workflows"
)

// WaveMove is one move of a wave: its place in dependency order and how
// it ended, from the wave's history.
type WaveMove struct {
	Order       int       `json:"order"`
	Application string    `json:"application"`
	WorkflowID  string    `json:"workflow_id,omitempty"`
	DependsOn   []string  `json:"depends_on,omitempty"`
	Started     time.Time `json:"started,omitempty"`
	Ended       time.Time `json:"ended,omitempty"`
	Outcome     string    `json:"outcome"`
}

// waveMoves fills r.Wave for a wave's history: every move of its input in
// dependency order, with the child workflow that ran it and its outcome.
func (r *Report) waveMoves(h *historypb.History) {
	if r.wave == nil {
		return
	}
	byID := map[string]*WaveMove{}
	byInit := map[int64]*WaveMove{}
	for i, app := range dependencyOrder(r.wave.Moves) {
		m := r.wave.Moves[app]
		r.Wave = append(r.Wave, WaveMove{Order: i + 1, Application: m.Application, DependsOn: m.DependsOn, Outcome: "not started"})
	}
	for i := range r.Wave {
		byID[workflows.MoveID(r.wave.PlanName, r.Wave[i].Application)] = &r.Wave[i]
	}
	for _, ev := range h.GetEvents() {
		at := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes()
			if m := byID[a.GetWorkflowId()]; m != nil {
				m.WorkflowID, m.Started, m.Outcome = a.GetWorkflowId(), at, "running"
				byInit[ev.GetEventId()] = m
			}
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
			a := ev.GetStartChildWorkflowExecutionFailedEventAttributes()
			if m := byInit[a.GetInitiatedEventId()]; m != nil {
				m.Ended, m.Outcome = at, "could not start: "+a.GetCause().String()
			}
		case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
			a := ev.GetChildWorkflowExecutionCompletedEventAttributes()
			if m := byInit[a.GetInitiatedEventId()]; m != nil {
				var st workflows.Status
				m.Ended, m.Outcome = at, "completed"
				if decode(a.GetResult(), &st) && st.Phase != "" {
					m.Outcome = st.Phase
				}
			}
		case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
			a := ev.GetChildWorkflowExecutionFailedEventAttributes()
			if m := byInit[a.GetInitiatedEventId()]; m != nil {
				m.Ended, m.Outcome = at, "failed: "+a.GetFailure().GetMessage()
			}
		case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
			enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
			if m := byInit[childInitiated(ev)]; m != nil {
				m.Ended, m.Outcome = at, "ended: "+ev.GetEventType().String()
			}
		}
	}
}

func childInitiated(ev *historypb.HistoryEvent) int64 {
	if a := ev.GetChildWorkflowExecutionCanceledEventAttributes(); a != nil {
		return a.GetInitiatedEventId()
	}
	if a := ev.GetChildWorkflowExecutionTerminatedEventAttributes(); a != nil {
		return a.GetInitiatedEventId()
	}
	return ev.GetChildWorkflowExecutionTimedOutEventAttributes().GetInitiatedEventId()
}

// dependencyOrder returns indexes of moves so that every move comes after
// the moves it depends on (input order among equals). Dependencies
// outside the wave and cycles are ignored, as the wave does.
func dependencyOrder(moves []workflows.MoveInput) []int {
	index := map[string]int{}
	for i, m := range moves {
		index[m.Application] = i
	}
	var out []int
	done := make([]bool, len(moves))
	for len(out) < len(moves) {
		progressed := false
		for i, m := range moves {
			if done[i] {
				continue
			}
			ready := true
			for _, d := range m.DependsOn {
				if j, ok := index[d]; ok && !done[j] && j != i {
					ready = false
				}
			}
			if ready {
				done[i], progressed = true, true
				out = append(out, i)
			}
		}
		if !progressed { // a cycle: keep input order for the rest
			for i := range moves {
				if !slices.Contains(out, i) {
					out = append(out, i)
					done[i] = true
				}
			}
		}
	}
	return out
}
