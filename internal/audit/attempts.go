package audit

import (
	historypb "go.temporal.io/api/history/v1"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Attempt is one activity attempt of a command as its host recorded it:
// the attempt that ran the command, and any that took over its result
// after a lost worker or connection (they did not run it again). The
// report keeps the result's own record and JSON form.
type Attempt = contract.CommandAttempt

// attemptsOf converts a result's attempt records. A result without them
// (older histories) counts as a single attempt.
func attemptsOf(res contract.CommandResult) []Attempt {
	out := append([]Attempt(nil), res.Attempts...)
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
