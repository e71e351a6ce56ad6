package main

import (
	"context"
	"fmt"
	"io"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/workflows"
)

// printRehearsalAndFailback shows a rehearsal's measured durations and
// cleanup, the rehearsal vouching for a move, and failback links.
func printRehearsalAndFailback(w io.Writer, st workflows.Status, failedBackBy string) {
	if st.Mode != "" {
		fmt.Fprintf(w, "mode        %s\n", st.Mode)
	}
	if st.FailbackOf != "" {
		fmt.Fprintf(w, "failback of %s\n", st.FailbackOf)
	}
	if failedBackBy != "" {
		fmt.Fprintf(w, "failed back by %s\n", failedBackBy)
	}
	if r := st.Rehearsed; r != nil {
		fmt.Fprintf(w, "rehearsed   %s, finished %s\n", r.ID, r.Finished.Format("2006-01-02T15:04:05Z07:00"))
	}
	r := st.Rehearsal
	if r == nil {
		return
	}
	verdict := "succeeded"
	if !r.Succeeded {
		verdict = "DID NOT SUCCEED"
	}
	fmt.Fprintf(w, "rehearsal   %s; cleanup: %s\n", verdict, r.Cleanup)
	for _, d := range r.Durations {
		fmt.Fprintf(w, "measured    %s %s: %s\n", d.Kind, d.Name, d.Duration.Round(1e6))
	}
}

// failedBackBy names the failback of move id when one was started.
func failedBackBy(ctx context.Context, c client.Client, id string) string {
	fid := workflows.FailbackID(id)
	d, err := c.DescribeWorkflowExecution(ctx, fid, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetType().GetName() != workflows.MoveWorkflow {
		return ""
	}
	return fid
}
