package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Estimates and limits the workflow uses when a plan leaves them open.
const (
	// DefaultCommandEstimate is the predicted length of a step or check
	// command without a timeout. Steps are usually quick service commands;
	// counting the full 10m default for each would refuse most windows. A
	// step with a timeout counts its timeout: the plan author's own bound.
	DefaultCommandEstimate = time.Minute
	// FallbackBytesPerSec is the final-sync throughput assumed when the
	// seed measured none (nothing copied, or an old history).
	FallbackBytesPerSec = 10 << 20
	// PerFileOverhead is added per changed or deleted file to the
	// final-sync estimate (SFTP round trips, rename, verification).
	PerFileOverhead = 20 * time.Millisecond
	// PerSetOverhead covers connecting, scanning and writing the manifest.
	PerSetOverhead = 30 * time.Second
	// HashBytesPerSec is the rate at which both hosts' sha256sum confirm
	// unchanged files that have no kept verified digest.
	HashBytesPerSec = 200e6
	// UndoAttempts is how often an undo that exits non-zero is run before
	// it is handed to a human (ManualAttention).
	UndoAttempts = 3
	// UndoRetryInterval is the pause between such attempts.
	UndoRetryInterval = 30 * time.Second
)

// queueFor routes an activity that touches h to the workers that can reach
// it (docs/design.md, routing rule): the host's queue, else the workflow's own task queue.
func queueFor(ctx workflow.Context, h contract.Host) string {
	if h.Queue != "" {
		return h.Queue
	}
	return workflow.GetInfo(ctx).TaskQueueName
}

// preflightOptions: preflight reads both hosts; it runs with the target
// (like the copy, which pulls from the source). Its own problems are
// non-retryable (PreflightFailed); unreachable hosts are retried a while.
func preflightOptions(ctx workflow.Context, target contract.Host) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, target),
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    30 * time.Second, // it heartbeats every 5s
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        5 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        2 * time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{contract.ErrPreflightFailed},
		},
	})
}

// secretsOptions: the secrets check runs on the queue whose workers run
// the host's commands; a missing secret does not heal by retrying.
func secretsOptions(ctx workflow.Context, h contract.Host) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, h),
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 5,
			NonRetryableErrorTypes: []string{contract.ErrSecretMissing},
		},
	})
}

// CopyHeartbeatTimeout is how soon the server notices a copy whose worker
// died: the copy heartbeats every few seconds while it advances (or is
// within its own no-progress bound), so a retry starts on a restarted
// worker within about CopyHeartbeatTimeout + the first retry interval.
const CopyHeartbeatTimeout = 20 * time.Second

// copyOptions: a copy runs on the TARGET's queue, heartbeats its progress
// (a restarted worker resumes from the target state, partial files from
// their last verified chunk) and may take days. Permanent failures (host
// key, authentication, full target) come back non-retryable; a stalled
// attempt fails after its no-progress bound and is retried at once.
func copyOptions(ctx workflow.Context, target contract.Host) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, target),
		StartToCloseTimeout: 72 * time.Hour,
		HeartbeatTimeout:    CopyHeartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    12,
		},
	})
}

// estimateOptions: a dry delta scan, read-only, on the target's queue.
func estimateOptions(ctx workflow.Context, target contract.Host) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, target),
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    CopyHeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 5,
		},
	})
}

// commandOptions: one step or check command on host h. A command that
// ran returns its exit code as a result; only failures to run it (host
// unreachable, worker lost) are retried, a few times. A retry never runs
// the command a second time: it reads the attempt record on the host and
// takes over a run an earlier attempt started. The activity heartbeats,
// so a lost worker is noticed quickly.
func commandOptions(ctx workflow.Context, h contract.Host, timeout time.Duration) workflow.Context {
	if timeout <= 0 {
		timeout = contract.DefaultCommandTimeout
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, h),
		StartToCloseTimeout: timeout + time.Minute,
		HeartbeatTimeout:    time.Minute,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 3,
			NonRetryableErrorTypes: []string{contract.ErrCommandTimeout},
		},
	})
}

// undoOptions: rollback must reach the source again, however long a host
// stays unreachable: no attempt limit, backoff capped at 5 minutes.
func undoOptions(ctx workflow.Context, h contract.Host, timeout time.Duration) workflow.Context {
	if timeout <= 0 {
		timeout = contract.DefaultCommandTimeout
	}
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           queueFor(ctx, h),
		StartToCloseTimeout: timeout + time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, MaximumAttempts: 0,
			// A timed-out undo counts as one failed attempt (see rollback).
			NonRetryableErrorTypes: []string{contract.ErrCommandTimeout},
		},
	})
}
