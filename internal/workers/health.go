package workers

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/metrics"
	"github.com/umzug-dev/umzug/workflows"
)

// pollFresh is how recent the worker's last poll must be: a polling
// worker renews its long poll at least every minute.
const pollFresh = 75 * time.Second

// PollingHealth asks the cluster whether a worker with identity polls
// queue: healthy means the server saw its poll within pollFresh.
func PollingHealth(c client.Client, namespace, queue, identity string, activitiesOnly bool) metrics.Health {
	kind := enumspb.TASK_QUEUE_TYPE_WORKFLOW
	if activitiesOnly {
		kind = enumspb.TASK_QUEUE_TYPE_ACTIVITY
	}
	return func(ctx context.Context) (bool, string) {
		resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
			Namespace:     namespace,
			TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
			TaskQueueType: kind,
		})
		if err != nil {
			return false, fmt.Sprintf("not ok: cannot ask the Temporal cluster about task queue %s: %v", queue, err)
		}
		for _, p := range resp.GetPollers() {
			if p.GetIdentity() != identity {
				continue
			}
			age := time.Since(p.GetLastAccessTime().AsTime()).Round(time.Second)
			if age < pollFresh {
				return true, fmt.Sprintf("ok: %s polls task queue %s (last poll %s ago)", identity, queue, age)
			}
			return false, fmt.Sprintf("not ok: %s last polled task queue %s %s ago", identity, queue, age)
		}
		return false, fmt.Sprintf("not ok: the cluster sees no poll from %s on task queue %s", identity, queue)
	}
}

// AwaitingApproval counts the running moves waiting for approval, from
// the cluster's visibility store; -1 when it cannot be asked.
func AwaitingApproval(c client.Client, namespace string) func() float64 {
	query := fmt.Sprintf("%s = %q AND ExecutionStatus = 'Running'", workflows.SearchAttrPhase, workflows.PhaseAwaitingApproval)
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err != nil {
			return -1
		}
		return float64(resp.GetCount())
	}
}
