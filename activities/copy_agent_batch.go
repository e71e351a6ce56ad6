package activities

import (
	"context"

	"github.com/umzug-dev/umzug/internal/mirror"
)

// The wrappers of the agent engine's sides pass small-file batches on
// (mirror.BatchReader, mirror.BatchWriter): without them the engine would
// copy file by file.

// ReadFiles and WriteFiles count a batch's bytes as progress when it
// returns. A batch is not a remote run like a hash: it moves at most a
// few MiB, and a hung agent behind a connection that still answers must
// end the copy as a stall.
func (s progressSide) ReadFiles(ctx context.Context, files []mirror.BatchFile) ([]mirror.BatchRead, error) {
	res, err := mirror.ReadFiles(ctx, s.Side, files)
	for _, r := range res {
		s.p.moved.Add(int64(len(r.Data)))
	}
	return res, err
}

func (s progressSide) WriteFiles(ctx context.Context, files []mirror.BatchWrite) ([]mirror.BatchPlaced, error) {
	res, err := mirror.WriteFiles(ctx, s.Side, files)
	for _, p := range res {
		s.p.moved.Add(p.Size)
	}
	return res, err
}

func (d *digestRecorder) WriteFiles(ctx context.Context, files []mirror.BatchWrite) ([]mirror.BatchPlaced, error) {
	res, err := mirror.WriteFiles(ctx, d.Side, files)
	for i, p := range res {
		if p.Err == nil {
			d.put(files[i].Rel, p.Sum)
		}
	}
	return res, err
}

// WriteFiles passes the target's batches on to the recording sides (a
// copy with per-file test hooks has none: copyTreeAgent).
func (t agentTarget) WriteFiles(ctx context.Context, files []mirror.BatchWrite) ([]mirror.BatchPlaced, error) {
	return mirror.WriteFiles(ctx, t.Side, files)
}

// HashFiles hashes a batch of unchanged files as a remote run, as
// HashFile does.
func (s progressSide) HashFiles(ctx context.Context, files []mirror.BatchFile) ([]mirror.BatchRead, error) {
	done := s.p.remoteRun()
	defer done()
	return mirror.HashFiles(ctx, s.Side, files)
}

func (d *digestRecorder) HashFiles(ctx context.Context, files []mirror.BatchFile) ([]mirror.BatchRead, error) {
	res, err := mirror.HashFiles(ctx, d.Side, files)
	for i, r := range res {
		if r.Err == nil {
			d.put(files[i].Rel, r.Sum)
		}
	}
	return res, err
}

func (t agentTarget) HashFiles(ctx context.Context, files []mirror.BatchFile) ([]mirror.BatchRead, error) {
	return mirror.HashFiles(ctx, t.Side, files)
}

// The sides a production copy hands the engine carry its batches: a
// wrapper without them silently sends every small file alone.
var (
	_ mirror.BatchReader = rangeSource{}
	_ mirror.BatchHasher = rangeSource{}
	_ mirror.BatchWriter = agentTarget{}
	_ mirror.BatchHasher = agentTarget{}
	_ mirror.BatchWriter = freeSide{}
)
