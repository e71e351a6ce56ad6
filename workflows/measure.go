package workflows

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Estimator is what measuring a copy set needs from the activities. The
// activities are called directly here, not through Temporal: `umzug plan`
// measures the hosts read-only without a server.
type Estimator interface {
	EstimateDelta(ctx context.Context, in contract.CopyInput) (contract.DeltaEstimate, error)
	SampleThroughput(ctx context.Context, src contract.Host, dir string, maxBytes int64) (float64, error)
}

// CopyMeasure is what measuring one copy set found.
type CopyMeasure struct {
	Estimate contract.DeltaEstimate
	// BytesPerSec is the sampled rate, capped by the set's bandwidth
	// limit; zero when nothing could be sampled.
	BytesPerSec float64
	// Seed is how long seeding what differs now takes (CopyEstimate).
	Seed time.Duration
	// FinalSyncPerGiB is what a final sync of one changed GiB takes.
	FinalSyncPerGiB time.Duration
}

// MeasureCopySet scans copy set j of a move on both hosts and samples the
// source's throughput, changing nothing. The activities are written for a
// worker, so a panic in one is returned as an error, not a crash of the
// command that called it.
func MeasureCopySet(ctx context.Context, est Estimator, mi MoveInput, j int, sampleBytes int64) (m CopyMeasure, err error) {
	set := mi.Copies[j]
	src, tgt := copyPair(mi.Subject, mi.Hosts, set)
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("estimating copy %s failed: %v", set.Name, rec)
		}
	}()
	in := contract.CopyInput{
		MoveID: MoveID(mi.PlanName, mi.Application),
		Phase:  contract.PhaseSeed,
		Source: src,
		Target: tgt,
		Set:    set,
		// Count what final_sync would delete; nothing is written.
		Delete: set.Delete,
	}
	d, err := est.EstimateDelta(ctx, in)
	if err != nil {
		return m, fmt.Errorf("scan %s:%s and %s:%s: %w", src.Name, set.From, tgt.Name, set.To, err)
	}
	m.Estimate = d
	rate, err := est.SampleThroughput(ctx, src, set.From, sampleBytes)
	if err != nil {
		return m, fmt.Errorf("sample throughput from %s:%s: %w", src.Name, set.From, err)
	}
	if set.BandwidthBytesPerSec > 0 && float64(set.BandwidthBytesPerSec) < rate {
		rate = float64(set.BandwidthBytesPerSec)
	}
	if rate > 0 && !math.IsInf(rate, 0) {
		m.BytesPerSec = rate
		m.Seed = CopyEstimate(d, rate)
		m.FinalSyncPerGiB = CopyEstimate(contract.DeltaEstimate{ChangedBytes: 1 << 30}, rate)
	}
	return m, nil
}
