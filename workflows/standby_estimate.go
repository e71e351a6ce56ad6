package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// UpdateEstimate asks a standby's record for a fresh delta estimate: what
// a sync would copy now (umzug status shows it as the bytes pending).
const UpdateEstimate = "estimate"

// StandbyEstimate is the answer of UpdateEstimate.
type StandbyEstimate struct {
	At           time.Time                `json:"at"`
	Sets         []contract.DeltaEstimate `json:"sets,omitempty"`
	ChangedFiles int64                    `json:"changed_files"`
	ChangedBytes int64                    `json:"changed_bytes"`
	DeletedFiles int64                    `json:"deleted_files"`
	Error        string                   `json:"error,omitempty"`
}

// registerEstimate lets the CLI ask for an estimate; a dry scan on the
// target's workers, one attempt, so an unreachable source answers soon.
func (s *standby) registerEstimate(ctx workflow.Context) error {
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateEstimate, func(ctx workflow.Context) (StandbyEstimate, error) {
		opts := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue:           queueFor(ctx, s.in.Target),
			StartToCloseTimeout: 30 * time.Minute,
			HeartbeatTimeout:    CopyHeartbeatTimeout,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
		})
		out := StandbyEstimate{At: workflow.Now(ctx)}
		for _, set := range s.in.Copies {
			src, tgt := copyPair(s.in.Subject, s.in.Hosts, set)
			in := contract.CopyInput{MoveID: StandbyScheduleID(s.in.PlanName, s.in.Application), Phase: contract.PhaseSeed,
				Source: src, Target: tgt, Set: set, Delete: set.Delete}
			if st, ok := s.st.IdentStates[set.Name]; ok {
				in.IdentState = &st
			}
			var e contract.DeltaEstimate
			if tgt.Name != s.in.Target.Name {
				o := workflow.GetActivityOptions(opts)
				o.TaskQueue = queueFor(ctx, tgt)
				opts = workflow.WithActivityOptions(ctx, o)
			}
			if err := workflow.ExecuteActivity(opts, contract.NameEstimateDelta, in).Get(ctx, &e); err != nil {
				out.Error = fmt.Sprintf("estimate of copy set %s: %s", set.Name, cause(err))
				return out, nil
			}
			out.Sets = append(out.Sets, e)
			out.ChangedFiles += e.ChangedFiles
			out.ChangedBytes += e.ChangedBytes
			out.DeletedFiles += e.DeletedFiles
		}
		return out, nil
	}, workflow.UpdateHandlerOptions{Description: "a fresh dry delta scan: what a sync would copy now (read-only)"})
}
