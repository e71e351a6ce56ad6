package workers

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/metrics"
	"github.com/umzug-dev/umzug/workflows"
)

// Options configures a worker.
type Options struct {
	// TaskQueue defaults to workflows.DefaultTaskQueue.
	TaskQueue string
	// Activities defaults to activities with the default SSH dialer.
	Activities *activities.Activities
	// ActivitiesOnly registers no workflows: a site worker (`--queue lemgo`)
	// only runs the activities that touch its site's hosts.
	ActivitiesOnly bool
	// StopTimeout is how long Stop lets running activities finish before
	// cancelling them; 0 cancels at once.
	StopTimeout time.Duration
	// Metrics, when set, receives umzug's own metrics from this worker.
	Metrics *metrics.Umzug
}

// New returns a worker with everything registered; the caller starts it.
func New(c client.Client, o Options) worker.Worker {
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	if o.Activities == nil {
		o.Activities = &activities.Activities{}
	}
	var icpt []interceptor.WorkerInterceptor
	if o.Metrics != nil {
		icpt = append(icpt, newMetricsInterceptor(o.Metrics))
	}
	w := worker.New(c, o.TaskQueue, worker.Options{
		Interceptors: icpt,
		// Copy progress reaches `umzug status` and the UI through heartbeat
		// details; send them every few seconds, not the SDK's 30–60 s.
		MaxHeartbeatThrottleInterval:     3 * time.Second,
		DefaultHeartbeatThrottleInterval: 3 * time.Second,
		WorkerStopTimeout:                o.StopTimeout,
	})
	if !o.ActivitiesOnly {
		workflows.Register(w)
		registerStandbyActivities(w, c)
	}
	RegisterActivities(w, o.Activities)
	return closingWorker{w, o.Activities}
}

// closingWorker closes the activities' SSH connection pool when the worker
// stops, so a stopped worker leaves no idle logins on the hosts.
type closingWorker struct {
	worker.Worker
	a *activities.Activities
}

func (w closingWorker) Stop() {
	w.Worker.Stop()
	w.a.Close()
}

func (w closingWorker) Run(interruptCh <-chan interface{}) error {
	err := w.Worker.Run(interruptCh)
	w.a.Close()
	return err
}

// RegisterActivities registers every activity under its stable name.
func RegisterActivities(r worker.ActivityRegistry, a *activities.Activities) {
	r.RegisterActivityWithOptions(a.Preflight, activity.RegisterOptions{Name: contract.NamePreflight})
	r.RegisterActivityWithOptions(a.CopyTree, activity.RegisterOptions{Name: contract.NameCopyTree})
	r.RegisterActivityWithOptions(a.EstimateDelta, activity.RegisterOptions{Name: contract.NameEstimateDelta})
	r.RegisterActivityWithOptions(a.RunCommand, activity.RegisterOptions{Name: contract.NameRunCommand})
	r.RegisterActivityWithOptions(a.RehashAfterSwitch, activity.RegisterOptions{Name: contract.NameRehash})
	r.RegisterActivityWithOptions(a.CleanupRehearsal, activity.RegisterOptions{Name: contract.NameCleanupRehearsal})
	r.RegisterActivityWithOptions(a.ProbeHost, activity.RegisterOptions{Name: contract.NameProbeHost})
	r.RegisterActivityWithOptions(a.CheckSecrets, activity.RegisterOptions{Name: contract.NameCheckSecrets})
	r.RegisterActivityWithOptions(a.OffloadJobs, activity.RegisterOptions{Name: contract.NameOffloadJobs})
}
