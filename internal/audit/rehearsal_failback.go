package audit

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/workflows"
)

// MoveOf reads a move's input from its start event and, once it has
// completed, its result; running is true while it has not closed. The
// failback command builds the reverse move from them.
func MoveOf(h *historypb.History) (in workflows.MoveInput, st *workflows.Status, running bool, err error) {
	evs := h.GetEvents()
	if len(evs) == 0 || evs[0].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		return in, nil, false, fmt.Errorf("history does not start with the workflow's start")
	}
	a := evs[0].GetWorkflowExecutionStartedEventAttributes()
	if a.GetWorkflowType().GetName() != workflows.MoveWorkflow {
		return in, nil, false, fmt.Errorf("it is a %s workflow, not a move", a.GetWorkflowType().GetName())
	}
	if !decode(a.GetInput(), &in) {
		return in, nil, false, fmt.Errorf("its input cannot be read as a move's")
	}
	last := evs[len(evs)-1]
	switch last.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		var s workflows.Status
		if !decode(last.GetWorkflowExecutionCompletedEventAttributes().GetResult(), &s) {
			return in, nil, false, fmt.Errorf("its result cannot be read as a move's status")
		}
		return in, &s, false, nil
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return in, nil, false, nil
	}
	return in, nil, true, nil
}

// applyPrintCenter copies the rehearsal and failback facts of a status.
func (r *Report) applyPrintCenter(st workflows.Status) {
	r.Mode, r.Rehearsal, r.Rehearsed, r.FailbackOf = st.Mode, st.Rehearsal, st.Rehearsed, st.FailbackOf
}
