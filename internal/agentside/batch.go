package agentside

import (
	"bytes"
	"context"

	"github.com/umzug-dev/umzug/internal/agentclient"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/mirror"
)

// groups splits n files into runs that each fit one agent batch; a file
// too big for any batch is a run of its own, marked single.
func groups(n int, size func(int) int64, name func(int) string, each func(from, to int, single bool) error) error {
	from, bytes, names := 0, int64(0), 0
	flush := func(to int) error {
		if to == from {
			return nil
		}
		err := each(from, to, false)
		from, bytes, names = to, 0, 0
		return err
	}
	for i := range n {
		sz, nl := size(i), len(name(i))
		if sz > agentproto.MaxBatchFileSize {
			if err := flush(i); err != nil {
				return err
			}
			if err := each(i, i+1, true); err != nil {
				return err
			}
			from = i + 1
			continue
		}
		if i-from+1 > agentproto.MaxBatchFiles || bytes+sz > agentproto.MaxBatchBytes ||
			agentproto.BatchRequestSize(i-from+1, names+nl) > agentproto.MaxPayload {
			if err := flush(i); err != nil {
				return err
			}
		}
		bytes += sz
		names += nl
	}
	return flush(n)
}

// ReadFiles reads the files in as few agent batches as fit.
func (s *Side) ReadFiles(ctx context.Context, files []mirror.BatchFile) ([]mirror.BatchRead, error) {
	out := make([]mirror.BatchRead, len(files))
	err := groups(len(files), func(i int) int64 { return files[i].Want.Size }, func(i int) string { return files[i].Rel },
		func(from, to int, single bool) error {
			if single {
				var b bytes.Buffer
				rd, err := s.ReadFile(ctx, files[from].Rel, files[from].Want, &b)
				out[from] = mirror.BatchRead{Read: rd, Data: b.Bytes(), Err: err}
				return nil
			}
			q := make([]agentclient.BatchRead, 0, to-from)
			for _, f := range files[from:to] {
				q = append(q, agentclient.BatchRead{Rel: f.Rel, Expect: f.Want})
			}
			res, err := s.root.ReadBatch(ctx, q)
			if err != nil {
				return err
			}
			for i, r := range res {
				out[from+i] = mirror.BatchRead{Read: mirror.Read{Sum: r.SHA256, Size: r.Size, Info: r.Info}, Data: r.Data, Err: r.Err}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HashFiles hashes the files in as few agent batches as fit.
func (s *Side) HashFiles(ctx context.Context, files []mirror.BatchFile) ([]mirror.BatchRead, error) {
	out := make([]mirror.BatchRead, len(files))
	err := groups(len(files), func(i int) int64 { return files[i].Want.Size }, func(i int) string { return files[i].Rel },
		func(from, to int, single bool) error {
			if single {
				rd, err := s.HashFile(ctx, files[from].Rel, files[from].Want)
				out[from] = mirror.BatchRead{Read: rd, Err: err}
				return nil
			}
			q := make([]agentclient.BatchRead, 0, to-from)
			for _, f := range files[from:to] {
				q = append(q, agentclient.BatchRead{Rel: f.Rel, Expect: f.Want})
			}
			res, errs, err := s.root.HashBatch(ctx, q)
			if err != nil {
				return err
			}
			for i, r := range res {
				out[from+i] = mirror.BatchRead{Read: mirror.Read{Sum: r.SHA256, Size: r.Size, Info: r.Info}, Err: errs[i]}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteFiles writes the files in as few agent batches as fit.
func (s *Side) WriteFiles(ctx context.Context, files []mirror.BatchWrite) ([]mirror.BatchPlaced, error) {
	out := make([]mirror.BatchPlaced, len(files))
	err := groups(len(files), func(i int) int64 { return int64(len(files[i].Data)) }, func(i int) string { return files[i].Rel },
		func(from, to int, single bool) error {
			if single {
				f := files[from]
				pl, err := s.WriteFile(ctx, f.Rel, f.Meta, bytes.NewReader(f.Data))
				out[from] = mirror.BatchPlaced{Placed: pl, Err: err}
				return nil
			}
			q := make([]agentclient.BatchWrite, 0, to-from)
			for _, f := range files[from:to] {
				q = append(q, agentclient.BatchWrite{Rel: f.Rel, Meta: f.Meta, Data: f.Data})
			}
			res, err := s.root.WriteBatch(ctx, q, s.fsync)
			if err != nil {
				return err
			}
			for i, r := range res {
				out[from+i] = mirror.BatchPlaced{Placed: mirror.Placed{Sum: r.SHA256, Size: r.Size, Info: r.Info}, Err: r.Err}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var (
	_ mirror.BatchReader = (*Side)(nil)
	_ mirror.BatchWriter = (*Side)(nil)
)
