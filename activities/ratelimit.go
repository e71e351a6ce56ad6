package activities

import (
	"context"

	"golang.org/x/time/rate"
)

// limiter is a token bucket in bytes shared by every file of one copy set,
// so BandwidthBytesPerSec caps the set as a whole, not each stream.
type limiter struct {
	l *rate.Limiter
}

// newLimiter returns nil (no limit) for bytesPerSec <= 0. The burst is one
// copy chunk so that a single WaitN never asks for more than the bucket holds.
func newLimiter(bytesPerSec int64) *limiter {
	if bytesPerSec <= 0 {
		return nil
	}
	burst := chunkSize
	if int64(burst) > bytesPerSec {
		// A slow limit with a large burst would let the first chunks through
		// at full speed; keep the burst at one second's worth.
		burst = int(bytesPerSec)
	}
	return &limiter{l: rate.NewLimiter(rate.Limit(bytesPerSec), burst)}
}

// wait blocks until n bytes may pass.
func (l *limiter) wait(ctx context.Context, n int) error {
	if l == nil {
		return nil
	}
	for n > 0 {
		k := min(n, l.l.Burst())
		if err := l.l.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
