package audit

import (
	"time"

	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Attempt is one activity attempt of a command as its host recorded it:
// the attempt that ran the command, and any that took over its result
// after a lost worker or connection (they did not run it again).
type Attempt struct {
	Attempt   int       `json:"attempt"`
	Host      string    `json:"host"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished,omitempty"`
	ExitCode  int       `json:"exit_code"`
	TakenOver bool      `json:"taken_over,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// attemptsOf converts a result's attempt records. A result without them
// (older histories) counts as a single attempt.
func attemptsOf(res contract.CommandResult) []Attempt {
	var out []Attempt
	for _, a := range res.Attempts {
		out = append(out, Attempt{Attempt: a.Attempt, Host: a.Host, Started: a.Started, Finished: a.Finished,
			ExitCode: a.ExitCode, TakenOver: a.TakenOver, Note: a.Note})
	}
	if len(out) == 0 && !res.Started.IsZero() {
		out = append(out, Attempt{Attempt: 1, Host: res.Host, Started: res.Started, Finished: res.Finished, ExitCode: res.ExitCode})
	}
	return out
}

// failedCommandResult decodes the result a failed command carries as
// details (timeouts and lost commands keep their attempts).
func failedCommandResult(a *historypb.ActivityTaskFailedEventAttributes) (contract.CommandResult, bool) {
	var res contract.CommandResult
	ok := decode(a.GetFailure().GetApplicationFailureInfo().GetDetails(), &res)
	return res, ok
}
