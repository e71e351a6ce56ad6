package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// pollerFresh is how recent a poll must be for a worker to count as
// present: a polling worker renews its long poll at least every minute,
// while the server remembers pollers for minutes after they stopped.
const pollerFresh = 75 * time.Second

// queueWait is a task queue with activities of a move waiting on it and
// no worker polling it.
type queueWait struct {
	Queue      string   `json:"queue"`
	Activities []string `json:"activities"`
}

// idleQueues finds the move's scheduled-but-not-started activities and
// the task queues among theirs that no worker polls.
func idleQueues(ctx context.Context, c client.Client, id string) ([]queueWait, error) {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	waiting := map[string]string{} // activity ID → type
	for _, pa := range d.GetPendingActivities() {
		if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
			waiting[pa.GetActivityId()] = pa.GetActivityType().GetName()
		}
	}
	if len(waiting) == 0 {
		return nil, nil
	}
	queues, err := activityQueues(ctx, c, id)
	if err != nil {
		return nil, err
	}
	byQueue := map[string][]string{}
	for aid, typ := range waiting {
		if q := queues[aid]; q != "" {
			byQueue[q] = append(byQueue[q], typ)
		}
	}
	var out []queueWait
	for q, acts := range byQueue {
		if polled, err := hasPoller(ctx, c, q); err != nil || polled {
			continue
		}
		sort.Strings(acts)
		out = append(out, queueWait{Queue: q, Activities: acts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out, nil
}

// activityQueues maps each activity ID of the move to the task queue it
// was last scheduled on, from the history.
func activityQueues(ctx context.Context, c client.Client, id string) (map[string]string, error) {
	out := map[string]string{}
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			out[a.GetActivityId()] = a.GetTaskQueue().GetName()
		}
	}
	return out, nil
}

func hasPoller(ctx context.Context, c client.Client, queue string) (bool, error) {
	resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     temporalNamespace(),
		TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
	})
	if err != nil {
		return false, fmt.Errorf("describe task queue %s: %w", queue, err)
	}
	for _, p := range resp.GetPollers() {
		if t := p.GetLastAccessTime(); t != nil && time.Since(t.AsTime()) < pollerFresh {
			return true, nil
		}
	}
	return false, nil
}

// printQueueWaits tells which site's worker is missing.
func printQueueWaits(ctx context.Context, w io.Writer, c client.Client, id string) {
	waits, err := idleQueues(ctx, c, id)
	if err != nil {
		fmt.Fprintf(w, "workers     could not check: %v\n", err)
		return
	}
	for _, q := range waits {
		fmt.Fprintf(w, "NO WORKER   task queue %s has no worker polling; %s wait for it: start `umzug worker --queue %s` in that site\n",
			q.Queue, strings.Join(q.Activities, ", "), q.Queue)
	}
}
