package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

const (
	// outputTailBytes caps each of stdout and stderr in the result, which
	// is stored in workflow history.
	outputTailBytes = 4096
	// commandHeartbeatEvery is well under any heartbeat timeout the
	// workflow sets for command activities.
	commandHeartbeatEvery = 10 * time.Second
)

// RunCommand runs one cutover step, undo or check on its host, at most
// once per scheduled activity: a retry takes over the run an earlier
// attempt started (see remote_exec.go). A non-zero exit is a result, not
// an error. Dial failures are returned as retryable errors, except
// host-key and configuration problems, which are non-retryable
// ApplicationErrors typed with DialError.Kind.
func (a *Activities) RunCommand(ctx context.Context, in CommandInput) (CommandResult, error) {
	return a.runCommand(ctx, in, attemptKeyFor(ctx, in.Purpose))
}

func (a *Activities) runCommand(ctx context.Context, in CommandInput, key attemptKey) (CommandResult, error) {
	res := CommandResult{Host: in.Host.Name, Address: withDefaultPort(in.Host.Address), Command: in.Command, ExitCode: -1}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = contract.DefaultCommandTimeout
	}
	if strings.TrimSpace(in.Command) == "" {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: empty command for host %s", in.Purpose, in.Host.Name), contract.ErrBadCommand, nil)
	}
	vals, err := a.resolveSecrets(in.Secrets)
	if err != nil {
		return res, err
	}
	red := newRedactor(vals)

	stopHB := heartbeatEvery(ctx, commandHeartbeatEvery, func() any {
		return red.String(fmt.Sprintf("%s: running %q on %s", in.Purpose, in.Command, in.Host.Name))
	})
	defer stopHB()

	conn, err := a.dial(ctx, in.Host)
	if err != nil {
		return res, dialFailure(err)
	}
	defer a.release(ctx, conn)

	rr := &remoteRun{conn: conn, base: a.RemoteStateDir, key: key.Dir, sudo: in.Host.Sudo() && !in.NoBecome}
	begun := time.Now().UTC()
	// The launch session ends with the command; it is closed when this
	// attempt returns, which leaves the command itself alone.
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	fresh, ended, err := rr.launch(lctx, key.Attempt, in.Command, timeout, exportScript(vals))
	if err != nil {
		var le *launchError
		if errors.As(err, &le) {
			return res, red.Error(temporal.NewNonRetryableApplicationError(in.Purpose+": "+le.msg, contract.ErrBadCommand, nil))
		}
		return res, red.Error(fmt.Errorf("%s: %w", in.Purpose, err))
	}
	st, end, err := awaitRun(ctx, rr, ended, begun, timeout)
	if err != nil {
		// Contact lost: the command may still run; the next attempt
		// reads its record and takes over.
		return res, red.Error(fmt.Errorf("%s: %q on host %s (%s): %w; the next attempt takes over the running command", in.Purpose, in.Command, in.Host.Name, res.Address, err))
	}
	return a.finish(ctx, in, key, rr, st, end, fresh, begun, timeout, red, res)
}

// ending is how waiting for a command ended.
type ending int

const (
	endExited ending = iota
	endTimeout
	endCancelled
	endLost
)

// watchdogSlack is how long after the timeout the worker ends a command
// itself: the host's watchdog should have done so remoteGrace earlier.
const watchdogSlack = remoteGrace*time.Second + 3*time.Second

// neverStartedAfter: a claim without a start record older than this means
// the launch died before the runner started.
const neverStartedAfter = 60

// awaitRun polls the run record until the command exits, its deadline
// passes, ctx ends or its runner is gone. A fresh run (ended is its launch
// session) counts its deadline from the launch and is looked at as soon as
// the session ends; a taken-over run's deadline counts from its recorded
// start (host clock).
func awaitRun(ctx context.Context, rr *remoteRun, ended <-chan struct{}, begun time.Time, timeout time.Duration) (remoteStatus, ending, error) {
	// The host's watchdog ends the command at its timeout; this deadline
	// is the backstop for a watchdog that could not.
	var deadline time.Time
	if ended != nil {
		deadline = begun.Add(timeout + watchdogSlack)
	}
	pause := 50 * time.Millisecond
	for {
		st, err := rr.status(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return st, endCancelled, nil
			}
			return st, 0, err
		}
		switch {
		case st.Exited:
			return st, endExited, nil
		case st.Started && !st.Alive, !st.Started && st.Claimed && st.Now-st.ClaimedAt > neverStartedAfter:
			return st, endLost, nil
		}
		if deadline.IsZero() && st.Started {
			deadline = time.Now().Add(timeout + watchdogSlack - time.Duration(st.Now-st.StartedAt)*time.Second)
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return st, endTimeout, nil
		}
		d := pause
		if left := time.Until(deadline); !deadline.IsZero() && left < d {
			d = left
		}
		if ended != nil {
			d = time.Until(deadline) // the session's end wakes us
		}
		select {
		case <-ctx.Done():
			return st, endCancelled, nil
		case <-ended:
			ended = nil // look once more, then poll (a lost session)
			continue
		case <-time.After(d):
		}
		pause = min(2*pause, time.Second)
	}
}

// finish turns how the wait ended into the result or error.
func (a *Activities) finish(ctx context.Context, in CommandInput, key attemptKey, rr *remoteRun, st remoteStatus, end ending,
	fresh bool, begun time.Time, timeout time.Duration, red *redactor, res CommandResult) (CommandResult, error) {
	res.Started, res.ProcessGroup = begun, st.PGID
	if !fresh && st.Started {
		res.Started = time.Unix(st.StartedAt, 0).UTC()
	}
	where := fmt.Sprintf("host %s (%s)", in.Host.Name, res.Address)
	var fail error
	switch end {
	case endExited:
		res.ExitCode = st.ExitCode
		if st.TimedOut {
			res.ExitCode = -1
			fail = timeoutError(in, where, timeout, st.PGID)
		}
	case endTimeout, endCancelled:
		if end == endCancelled && leaveRunning(ctx) {
			if st.PGID == 0 {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				if s2, err := rr.status(sctx); err == nil {
					st = s2
				}
				cancel()
			}
			return res, red.Error(fmt.Errorf("%s: %q on %s: worker stopping; the command keeps running as process group %d and the next attempt takes over its result",
				in.Purpose, in.Command, where, st.PGID))
		}
		fail = a.endGroup(in, rr, &st, end, timeout, where)
		res.ProcessGroup = st.PGID
	case endLost:
		fail = temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"%s: %q on %s: the command's runner (started by attempt %d) is gone without an exit record (host rebooted or processes killed); the command may have run in part",
			in.Purpose, in.Command, where, st.Owner), contract.ErrCommandLost, nil)
	}
	res.Finished = time.Now().UTC()
	res.Attempts = attemptsFrom(st, in.Host.Name, key.Attempt, res.Finished, res.ExitCode)
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if note := withheldNote(in, red); note != "" {
		// Not a byte of it leaves the worker: redaction cannot know every
		// form a program may print a value in.
		res.Stdout, res.Stderr = withheldText(st.StdoutSize, st.Exited, note), withheldText(st.StderrSize, st.Exited, note)
	} else if out, errOut, err := rr.tails(tctx, outputTailBytes+red.maxForm()); err == nil {
		res.Stdout, res.Stderr = tailText(out, st.StdoutSize, red), tailText(errOut, st.StderrSize, red)
	}
	if fail == nil {
		return res, nil
	}
	var ae *temporal.ApplicationError
	if errors.As(fail, &ae) {
		// The result rides along so the workflow and audit keep the
		// output and attempts of a timed-out or lost command.
		return res, red.Error(temporal.NewNonRetryableApplicationError(ae.Message(), ae.Type(), nil, res), res)
	}
	return res, red.Error(fail)
}

// endGroup ends the command's process group after a timeout or a cancel,
// from a new session (SSH signals are refused for root), and says so.
func (a *Activities) endGroup(in CommandInput, rr *remoteRun, st *remoteStatus, end ending, timeout time.Duration, where string) error {
	pg, kerr := rr.kill(end == endTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if s2, err := rr.status(sctx); err == nil {
		*st = s2
	}
	cancel()
	if pg == 0 {
		pg = st.PGID
	}
	st.PGID = pg
	what := "was cancelled"
	if end == endTimeout {
		what = fmt.Sprintf("timed out after %s", timeout)
	}
	if kerr != nil {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %q on %s %s and could not be ended: %v; end process group %d there by hand (kill -KILL -%d)",
			in.Purpose, in.Command, where, what, kerr, pg, pg), contract.ErrCommandTimeout, nil)
	}
	if end == endCancelled {
		return fmt.Errorf("%s: %q on %s %s; process group %d on %s ended", in.Purpose, in.Command, where, what, pg, in.Host.Name)
	}
	return timeoutError(in, where, timeout, pg)
}

func timeoutError(in CommandInput, where string, timeout time.Duration, pg int) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: %q on %s timed out after %s; process group %d on %s ended",
		in.Purpose, in.Command, where, timeout, pg, in.Host.Name), contract.ErrCommandTimeout, nil)
}

// leaveRunningKey marks a context whose cancellation must leave the
// remote command running (tests stand in for a stopping worker with it).
type leaveRunningKey struct{}

// leaveRunning: a stopping worker leaves commands running, so the retry on
// another worker takes them over; a cancel from the workflow ends them.
func leaveRunning(ctx context.Context) bool {
	if v, _ := ctx.Value(leaveRunningKey{}).(bool); v {
		return true
	}
	if activity.IsActivity(ctx) {
		select {
		case <-activity.GetWorkerStopChannel(ctx):
			return true
		default:
		}
	}
	return false
}

// tailText redacts a fetched output tail and caps it, noting a cut. A cut
// tail first loses any leading piece of a secret's form.
func tailText(chunk string, total int64, red *redactor) string {
	if total < int64(len(chunk)) {
		total = int64(len(chunk))
	}
	var s string
	dropped := 0
	if int64(len(chunk)) < total {
		s, dropped = red.tail(chunk)
	} else {
		s = red.String(chunk)
	}
	t := newOutputTail(outputTailBytes)
	t.Write([]byte(s))
	t.total = max(t.total, total-int64(len(chunk))+int64(dropped)+int64(len(s)))
	return t.String()
}

// dialFailure makes dial errors that retrying cannot fix non-retryable, so
// a wrong host key fails the move at once with the explanation.
func dialFailure(err error) error {
	var de *DialError
	if errors.As(err, &de) && !de.Retryable() {
		return temporal.NewNonRetryableApplicationError(err.Error(), de.Kind, err)
	}
	return err
}

// heartbeatEvery records a heartbeat every interval while the activity
// runs; a no-op outside an activity (tests call activities directly).
func heartbeatEvery(ctx context.Context, every time.Duration, details func() any) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// outputTail keeps the last max bytes written to it.
type outputTail struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	total int64
}

func newOutputTail(max int) *outputTail { return &outputTail{max: max} }

func (t *outputTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(p))
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String is the tail as valid UTF-8, prefixed with a note when output was
// cut.
func (t *outputTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if int64(len(b)) < t.total {
		// Do not start in the middle of a multi-byte character.
		for i := 0; i < 3 && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
		return fmt.Sprintf("[... %d earlier bytes cut]\n", t.total-int64(len(b))) + strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
