package activities

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

const (
	// copyHeartbeatEvery is the most often a copy reports its position.
	// The copy's heartbeat timeout (workflows) must be several times this.
	copyHeartbeatEvery = 2 * time.Second
	// DefaultNoProgress is how long a copy attempt may move nothing (no
	// byte copied or hashed, no entry listed) before it fails and is
	// retried on fresh connections.
	DefaultNoProgress = 2 * time.Minute
)

// progress counts a running copy. FilesTotal counts the source's files,
// FilesDone those copied or found unchanged; BytesTotal counts the bytes
// that need copying, BytesDone those copied. Totals grow while the walk
// proceeds, so an ETA is only given once the walk is done.
type progress struct {
	set, phase string
	start      time.Time

	filesDone, filesTotal atomic.Int64
	bytesDone, bytesTotal atomic.Int64
	walkDone              atomic.Bool
	// moved counts work that is progress without being copied data:
	// digests received from a remote sha256sum, bytes checked for a
	// resume.
	moved atomic.Int64
	// remote counts remote commands running (sha256sum): they report
	// only when done, so while one runs on a live connection the copy is
	// not stalled. alive tells whether the connections still answer.
	remote atomic.Int64
	alive  func() bool
	// resumed counts bytes of partial files kept by a resume; resent the
	// bytes of partial files written before and sent again.
	resumed, resent atomic.Int64
	kept            sync.Map // partial files left for a retry
	// held maps a resumed partial file to the offsets of the chunks past
	// its resume offset that it already holds: the stream skips them.
	held sync.Map

	// stallAfter bounds the time without progress; onStall ends the
	// attempt (nil: no bound, e.g. a dry scan).
	stallAfter time.Duration
	onStall    func(error)
	host       string
}

func newProgress(set, phase string) *progress {
	return &progress{set: set, phase: phase, start: time.Now()}
}

func (p *progress) snapshot() CopyProgress {
	el := time.Since(p.start).Seconds()
	cp := CopyProgress{
		Set:        p.set,
		Phase:      p.phase,
		FilesDone:  p.filesDone.Load(),
		FilesTotal: p.filesTotal.Load(),
		BytesDone:  p.bytesDone.Load(),
		BytesTotal: p.bytesTotal.Load(),
		Walking:    !p.walkDone.Load(),
	}
	if el > 0 {
		cp.BytesPerSec = float64(cp.BytesDone) / el
	}
	if p.walkDone.Load() && cp.BytesPerSec > 0 && cp.BytesTotal > cp.BytesDone {
		cp.ETASeconds = float64(cp.BytesTotal-cp.BytesDone) / cp.BytesPerSec
	}
	return cp
}

// position is a number that grows with every kind of progress.
func (p *progress) position() int64 {
	return p.filesDone.Load() + p.filesTotal.Load() + p.bytesDone.Load() + p.bytesTotal.Load() + p.moved.Load()
}

// watchdog bounds a copy attempt's time without progress: after
// stallAfter without progress it calls onStall with a retryable error
// (the engine fails and closes its connections, which unblocks every
// request in flight).
func (p *progress) watchdog(stallAfter time.Duration, host string, onStall func(error)) {
	p.stallAfter, p.host, p.onStall = stallAfter, host, onStall
}

// remoteRun marks a remote command as running until the returned func is
// called.
func (p *progress) remoteRun() (done func()) {
	p.remote.Add(1)
	var once sync.Once
	return func() { once.Do(func() { p.remote.Add(-1); p.moved.Add(1) }) }
}

// heartbeat watches progress until stopped. It records a heartbeat (at
// most every copyHeartbeatEvery) while the copy advances or is within its
// no-progress bound, so the heartbeat timeout only notices a lost worker;
// a copy that moved nothing for stallAfter is ended by the watchdog. A
// last heartbeat at the end leaves the final position for a retry.
func (p *progress) heartbeat(ctx context.Context) (stop func()) {
	inActivity := activity.IsActivity(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { p.watch(ctx, inActivity, done) })
	return func() {
		close(done)
		wg.Wait()
		if inActivity {
			activity.RecordHeartbeat(ctx, p.snapshot())
		}
	}
}

func (p *progress) watch(ctx context.Context, inActivity bool, done <-chan struct{}) {
	tick := copyHeartbeatEvery
	if p.stallAfter > 0 && p.stallAfter/4 < tick {
		tick = max(p.stallAfter/4, 10*time.Millisecond)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	lastPos, lastMove, lastBeat := p.position(), time.Now(), time.Time{}
	cancelled := ctx.Done()
	for {
		select {
		case <-done:
			return
		case <-cancelled:
			// The copy winds down and cleans up; SFTP requests take no
			// context, so one stuck on a hung link is still ended by the
			// bound. No more heartbeats: the activity is over.
			cancelled, inActivity = nil, false
		case now := <-t.C:
			if pos := p.position(); pos != lastPos {
				lastPos, lastMove = pos, now
			} else if p.remote.Load() > 0 && p.alive != nil && p.alive() {
				lastMove = now
			}
			idle := now.Sub(lastMove)
			if p.onStall != nil && p.stallAfter > 0 && idle >= p.stallAfter {
				p.onStall(p.stallError(ctx))
				return
			}
			if inActivity && now.Sub(lastBeat) >= copyHeartbeatEvery {
				activity.RecordHeartbeat(ctx, p.snapshot())
				lastBeat = now
			}
		}
	}
}

// stallError says why the watchdog ended the copy.
func (p *progress) stallError(ctx context.Context) error {
	msg := fmt.Sprintf("no progress for %s copying %s from %s; retrying on a fresh connection",
		p.stallAfter, p.set, p.host)
	if ctx.Err() != nil {
		msg = fmt.Sprintf("copy of %s from %s was stopped (%v) and moved nothing for %s since; closing its connections",
			p.set, p.host, context.Cause(ctx), p.stallAfter)
	}
	return temporal.NewApplicationError(msg, contract.ErrNoProgress)
}

// watchProgress arms the engine's no-progress bound: a stall fails the
// copy and closes every connection. Remote commands count as progress
// while the hosts answer (newEngine wraps the runners).
func (e *engine) watchProgress(a *Activities) {
	e.prog.alive = func() bool { return e.src.alive() && e.dst.alive() }
	e.prog.watchdog(a.Options.noProgress(), e.src.name, func(err error) {
		e.fail(err)
		e.src.abort()
		e.dst.abort()
	})
}

// progressRunner counts a remote command as running, and each line of its
// output (one digest per file for sha256sum) as progress.
type progressRunner struct {
	r Runner
	p *progress
}

func (pr progressRunner) Run(ctx context.Context, command string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	done := pr.p.remoteRun()
	defer done()
	if stdout != nil {
		stdout = lineCounter{stdout, &pr.p.moved}
	}
	return pr.r.Run(ctx, command, stdin, stdout, stderr)
}

type lineCounter struct {
	w io.Writer
	n *atomic.Int64
}

func (lc lineCounter) Write(b []byte) (int, error) {
	lc.n.Add(int64(bytes.Count(b, []byte{'\n'})))
	return lc.w.Write(b)
}
