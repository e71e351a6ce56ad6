package workers

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/metrics"
	"github.com/umzug-dev/umzug/workflows"
)

// metricsInterceptor feeds umzug's metrics from what passes through the
// worker: copy progress from the copies' heartbeats, commands and
// refusals from activity results, phase durations from the workflows'
// phase search attribute. Activities and workflows stay unaware of it.
type metricsInterceptor struct {
	interceptor.WorkerInterceptorBase
	m *metrics.Umzug

	mu   sync.Mutex
	last map[string]contract.CopyProgress // per move, activity and set
}

func newMetricsInterceptor(m *metrics.Umzug) *metricsInterceptor {
	return &metricsInterceptor{m: m, last: map[string]contract.CopyProgress{}}
}

func (mi *metricsInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityMetrics{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, mi: mi}
}

func (mi *metricsInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowMetrics{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

// progress adds what a copy moved since its last report. A retry that
// resumes below the last position adds nothing until it passes it, so
// nothing is counted twice.
func (mi *metricsInterceptor) progress(info activity.Info, p contract.CopyProgress) {
	key := info.WorkflowExecution.ID + "\x00" + info.ActivityID + "\x00" + p.Set
	mi.mu.Lock()
	prev := mi.last[key]
	if p.BytesDone > prev.BytesDone {
		mi.m.CopyBytes.WithLabelValues(info.WorkflowExecution.ID, p.Set).Add(float64(p.BytesDone - prev.BytesDone))
		prev.BytesDone = p.BytesDone
	}
	if p.FilesDone > prev.FilesDone {
		mi.m.CopyFiles.WithLabelValues(info.WorkflowExecution.ID, p.Set).Add(float64(p.FilesDone - prev.FilesDone))
		prev.FilesDone = p.FilesDone
	}
	mi.last[key] = prev
	mi.mu.Unlock()
}

// forget drops the positions of an ended copy activity.
func (mi *metricsInterceptor) forget(info activity.Info) {
	prefix := info.WorkflowExecution.ID + "\x00" + info.ActivityID + "\x00"
	mi.mu.Lock()
	for k := range mi.last {
		if strings.HasPrefix(k, prefix) {
			delete(mi.last, k)
		}
	}
	mi.mu.Unlock()
}

type activityMetrics struct {
	interceptor.ActivityInboundInterceptorBase
	mi *metricsInterceptor
}

func (a *activityMetrics) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&heartbeatMetrics{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, mi: a.mi})
}

func (a *activityMetrics) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	info := activity.GetInfo(ctx)
	m := a.mi.m
	switch r := res.(type) {
	case contract.CommandResult:
		m.CommandsRun.WithLabelValues(info.TaskQueue).Inc()
		if err != nil || r.ExitCode != 0 {
			m.CommandsFailed.WithLabelValues(info.TaskQueue).Inc()
		}
	case contract.CopyResult:
		a.mi.forget(info)
		for kind, n := range r.RefusedByKind {
			m.Refusals.WithLabelValues(kind).Add(float64(n))
		}
	default:
		if info.ActivityType.Name == contract.NameRunCommand {
			m.CommandsRun.WithLabelValues(info.TaskQueue).Inc()
			m.CommandsFailed.WithLabelValues(info.TaskQueue).Inc()
		}
	}
	return res, err
}

type heartbeatMetrics struct {
	interceptor.ActivityOutboundInterceptorBase
	mi *metricsInterceptor
}

func (h *heartbeatMetrics) RecordHeartbeat(ctx context.Context, details ...any) {
	for _, d := range details {
		if p, ok := d.(contract.CopyProgress); ok {
			h.mi.progress(activity.GetInfo(ctx), p)
		}
	}
	h.Next.RecordHeartbeat(ctx, details...)
}

var phaseKey = temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrPhase)

// workflowMetrics times each phase of a move: from the upsert that enters
// it to the one that leaves it, on the workflow clock. The SDK's workflow
// metrics handler records nothing while replaying.
type workflowMetrics struct {
	interceptor.WorkflowInboundInterceptorBase
}

func (w *workflowMetrics) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&phaseTimer{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}})
}

type phaseTimer struct {
	interceptor.WorkflowOutboundInterceptorBase
	phase string
	at    time.Time
}

func (p *phaseTimer) UpsertTypedSearchAttributes(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) error {
	err := p.Next.UpsertTypedSearchAttributes(ctx, updates...)
	phase, ok := p.Next.GetTypedSearchAttributes(ctx).GetKeyword(phaseKey)
	if err != nil || !ok || phase == p.phase {
		return err
	}
	now := p.Next.Now(ctx)
	if p.phase != "" {
		d := now.Sub(p.at)
		p.Next.GetMetricsHandler(ctx).WithTags(map[string]string{"phase": p.phase}).Timer("umzug_phase_duration").Record(d)
	}
	p.phase, p.at = phase, now
	return nil
}
