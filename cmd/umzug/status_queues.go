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

// untakenAfter is how long a scheduled activity may wait before a queue
// with a recent poll counts as stalled: a live, idle worker takes a task
// within moments, but the server lists a stopped worker's last poll for
// minutes.
const untakenAfter = 15 * time.Second

// queueWait is a task queue with activities of a move waiting on it that
// no worker takes: none polls it, or none has taken them for a while.
type queueWait struct {
	Queue      string        `json:"queue"`
	Activities []string      `json:"activities"`
	Waiting    time.Duration `json:"waiting"`
	// LastPoll names the last poller the server remembers, when any.
	LastPoll string `json:"last_poll,omitempty"`
}

// idleQueues finds the move's scheduled-but-not-started activities and
// the task queues among theirs that no worker polls.
func idleQueues(ctx context.Context, c client.Client, id string) ([]queueWait, error) {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	waiting := map[string]string{}      // activity ID → type
	since := map[string]time.Duration{} // activity ID → time waiting
	for _, pa := range d.GetPendingActivities() {
		if pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED {
			waiting[pa.GetActivityId()] = pa.GetActivityType().GetName()
			if st := pa.GetScheduledTime(); st != nil {
				since[pa.GetActivityId()] = max(0, time.Since(st.AsTime()))
			}
		}
	}
	if len(waiting) == 0 {
		return nil, nil
	}
	queues, err := activityQueues(ctx, c, id)
	if err != nil {
		return nil, err
	}
	byQueue := map[string]*queueWait{}
	for aid, typ := range waiting {
		q := queues[aid]
		if q == "" {
			continue
		}
		if byQueue[q] == nil {
			byQueue[q] = &queueWait{Queue: q}
		}
		byQueue[q].Activities = append(byQueue[q].Activities, typ)
		byQueue[q].Waiting = max(byQueue[q].Waiting, since[aid])
	}
	var out []queueWait
	for q, w := range byQueue {
		last, fresh, err := lastPoll(ctx, c, q)
		if err != nil || (fresh && w.Waiting < untakenAfter) {
			continue
		}
		w.LastPoll = last
		sort.Strings(w.Activities)
		out = append(out, *w)
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

// lastPoll describes the most recent poller of queue's activity tasks
// and whether it polled within pollerFresh.
func lastPoll(ctx context.Context, c client.Client, queue string) (string, bool, error) {
	resp, err := c.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     temporalNamespace(),
		TaskQueue:     &taskqueuepb.TaskQueue{Name: queue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_ACTIVITY,
	})
	if err != nil {
		return "", false, fmt.Errorf("describe task queue %s: %w", queue, err)
	}
	var newest time.Time
	who := ""
	for _, p := range resp.GetPollers() {
		if t := p.GetLastAccessTime(); t != nil && t.AsTime().After(newest) {
			newest, who = t.AsTime(), p.GetIdentity()
		}
	}
	if who == "" {
		return "", false, nil
	}
	age := time.Since(newest)
	return fmt.Sprintf("%s %s ago", who, age.Round(time.Second)), age < pollerFresh, nil
}

// printQueueWaits tells which site's worker is missing.
func printQueueWaits(ctx context.Context, w io.Writer, c client.Client, id string) {
	waits, err := idleQueues(ctx, c, id)
	if err != nil {
		fmt.Fprintf(w, "workers     could not check: %v\n", err)
		return
	}
	for _, q := range waits {
		state := "has no worker polling"
		if q.LastPoll != "" {
			state = fmt.Sprintf("has no worker taking tasks (last poll by %s)", q.LastPoll)
		}
		fmt.Fprintf(w, "NO WORKER   task queue %s %s; %s waiting %s: start `umzug worker --queue %s` in that site\n",
			q.Queue, state, strings.Join(q.Activities, ", "), q.Waiting.Round(time.Second), q.Queue)
	}
}
