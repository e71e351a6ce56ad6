package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/mirror"
)

// stuckBatchSide takes batches and never finishes one while the
// connections still answer.
type stuckBatchSide struct{ mirror.Side }

func (s stuckBatchSide) WriteFiles(ctx context.Context, files []mirror.BatchWrite) ([]mirror.BatchPlaced, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A batch that hangs is a stall like a single write that hangs: the copy
// ends with a retryable NoProgress error and a new attempt completes.
func TestCopyTreeAgentStalledBatchEnds(t *testing.T) {
	f, _ := agentFixture(t)
	buildTree(t, f.srcRoot)
	f.a.Options.NoProgress = 300 * time.Millisecond
	f.a.hooks.wrapAgentTarget = func(s mirror.Side) mirror.Side { return stuckBatchSide{s} }
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := f.a.CopyTree(ctx, f.input(CopySet{}))
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrNoProgress || ae.NonRetryable() {
		t.Fatalf("want a retryable NoProgress error, got %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("stall noticed after %v", d)
	}
	f.a.hooks.wrapAgentTarget = nil
	f.copy(t, f.input(CopySet{}))
}
