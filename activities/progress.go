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

// heartbeat records progress every copyHeartbeatEvery until stopped, and
// once more at the end so the last position is what a retry sees.
func (p *progress) heartbeat(ctx context.Context) (stop func()) {
	stopTicker := heartbeatEvery(ctx, copyHeartbeatEvery, func() any { return p.snapshot() })
	return func() {
		stopTicker()
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, p.snapshot())
		}
	}
}
