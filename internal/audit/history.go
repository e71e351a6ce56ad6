package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/workflows"
)

// Fetch reads the whole history of the latest run of a workflow.
func Fetch(ctx context.Context, c client.Client, workflowID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		return nil, fmt.Errorf("workflow %s has no history", workflowID)
	}
	return h, nil
}

// Replay runs the history through this build's workflow code. An error
// means the code no longer produces the recorded decisions. The
// replayer's own log (a stack trace per mismatch) is discarded: the error
// says what differs. The run is replayed under its own workflow ID and
// run ID: a signed decision's statement names both, so its verification,
// and with it the command sequence, depends on them.
func Replay(h *historypb.History, workflowID string) error {
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	quiet := log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	runID := ""
	if evs := h.GetEvents(); len(evs) > 0 {
		runID = evs[0].GetWorkflowExecutionStartedEventAttributes().GetOriginalExecutionRunId()
	}
	if workflowID == "" || runID == "" {
		return r.ReplayWorkflowHistory(quiet, h)
	}
	return r.ReplayWorkflowHistoryWithOptions(quiet, h, worker.ReplayWorkflowHistoryOptions{
		OriginalExecution: workflow.Execution{ID: workflowID, RunID: runID}})
}
