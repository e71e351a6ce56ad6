package activities

import (
	"context"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"
)

// copyHeartbeatEvery is how often a copy reports its position. The workflow's
// heartbeat timeout must be comfortably larger.
const copyHeartbeatEvery = 2 * time.Second

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
	}
	if el > 0 {
		cp.BytesPerSec = float64(cp.BytesDone) / el
	}
	if p.walkDone.Load() && cp.BytesPerSec > 0 && cp.BytesTotal > cp.BytesDone {
		cp.ETASeconds = float64(cp.BytesTotal-cp.BytesDone) / cp.BytesPerSec
	}
	return cp
}

// heartbeat records progress every copyHeartbeatEvery until ctx ends. Outside
// an activity (umzug plan, tests) it does nothing, because
// activity.RecordHeartbeat panics without an activity context.
func (p *progress) heartbeat(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(copyHeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, p.snapshot())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		activity.RecordHeartbeat(ctx, p.snapshot())
	}
}
