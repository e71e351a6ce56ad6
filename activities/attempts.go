package activities

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"go.temporal.io/sdk/activity"
)

// MaxAttemptsListed bounds CommandResult.Attempts so history stays small.
const MaxAttemptsListed = 10

// attemptKey names a command's records on its host: one directory per
// workflow run and scheduled activity (retries share it), and the
// activity attempt that is running now.
type attemptKey struct {
	// Dir is "<sha256(workflow id, run id)[:16]>/<activity id>-<purpose>";
	// only such 16-hex-digit directories are ever cleaned up.
	Dir     string
	Attempt int
}

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// attemptKeyFor derives the key from the activity's identity. Outside an
// activity (direct calls in tests and tools) every call is its own key.
func attemptKeyFor(ctx context.Context, purpose string) attemptKey {
	p := unsafeKeyChars.ReplaceAllString(purpose, "_")
	if len(p) > 60 {
		p = p[:60]
	}
	if !activity.IsActivity(ctx) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return attemptKey{Dir: hex.EncodeToString(b[:]) + "/" + p, Attempt: 1}
	}
	info := activity.GetInfo(ctx)
	sum := sha256.Sum256([]byte(info.WorkflowExecution.ID + "\n" + info.WorkflowExecution.RunID))
	id := unsafeKeyChars.ReplaceAllString(info.ActivityID, "_")
	return attemptKey{Dir: hex.EncodeToString(sum[:8]) + "/" + id + "-" + p, Attempt: int(info.Attempt)}
}

// attemptsFrom lists every attempt the host recorded, with the outcome
// for the one that ran the command and for this one.
func attemptsFrom(st remoteStatus, host string, current int, finished time.Time, exit int) []CommandAttempt {
	var out []CommandAttempt
	for _, l := range st.Log {
		a := CommandAttempt{Attempt: l.Attempt, Host: host, Started: time.Unix(l.At, 0).UTC(),
			TakenOver: l.Role == "took_over", ExitCode: -1}
		switch {
		case l.Attempt == current:
			a.Finished, a.ExitCode = finished, exit
		case l.Attempt == st.Owner && st.Exited:
			a.Finished, a.ExitCode = time.Unix(st.ExitedAt, 0).UTC(), st.ExitCode
		default:
			a.Note = "ended before the command finished; a later attempt took over"
		}
		if l.Attempt == st.Owner && l.Attempt != current {
			a.Note = fmt.Sprintf("process group %d", st.PGID)
		}
		out = append(out, a)
	}
	if len(out) > MaxAttemptsListed {
		out = append(out[:1], out[len(out)-MaxAttemptsListed+1:]...)
	}
	return out
}
