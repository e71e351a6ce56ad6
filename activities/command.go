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
)

const (
	defaultCommandTimeout = 10 * time.Minute
	// outputTailBytes caps each of stdout and stderr in the result, which
	// is stored in workflow history.
	outputTailBytes = 4096
	// commandHeartbeatEvery is well under any heartbeat timeout the
	// workflow sets for command activities.
	commandHeartbeatEvery = 10 * time.Second
)

// CommandTimeoutError is the ApplicationError type of a command that ran
// past its timeout (not retried: the workflow decides).
const CommandTimeoutError = "CommandTimeout"

// RunCommand runs one cutover step, undo or check on its host. A non-zero
// exit is a result, not an error. Dial failures are returned as retryable
// errors, except host-key and configuration problems, which are
// non-retryable ApplicationErrors typed with DialError.Kind.
func (a *Activities) RunCommand(ctx context.Context, in CommandInput) (CommandResult, error) {
	res := CommandResult{Host: in.Host.Name, Address: withDefaultPort(in.Host.Address), Command: in.Command, ExitCode: -1}
	timeout := in.Timeout
	if timeout <= 0 {
		timeout = defaultCommandTimeout
	}
	if strings.TrimSpace(in.Command) == "" {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: empty command for host %s", in.Purpose, in.Host.Name), "BadCommand", nil)
	}

	stopHB := heartbeatEvery(ctx, commandHeartbeatEvery, func() any {
		return fmt.Sprintf("%s: running %q on %s", in.Purpose, in.Command, in.Host.Name)
	})
	defer stopHB()

	conn, err := a.dial(ctx, in.Host)
	if err != nil {
		return res, dialFailure(err)
	}
	defer conn.Close()

	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stdout, stderr := newOutputTail(outputTailBytes), newOutputTail(outputTailBytes)
	res.Started = time.Now().UTC()
	code, err := conn.Run(runCtx, in.Command, nil, stdout, stderr)
	res.Finished = time.Now().UTC()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.ExitCode = code
	if err != nil {
		if ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) {
			res.ExitCode = -1
			return res, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: command %q on host %s (%s) timed out after %s and was killed", in.Purpose, in.Command, in.Host.Name, res.Address, timeout),
				CommandTimeoutError, err, res)
		}
		// Connection lost or cancelled: the outcome is unknown, so let the
		// retry policy (and the workflow) decide.
		return res, fmt.Errorf("%s: run %q on host %s (%s): %w", in.Purpose, in.Command, in.Host.Name, res.Address, err)
	}
	return res, nil
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
