package agentclient

import (
	"context"
	"fmt"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// BatchRead is one file of a ReadBatch: its name and the identity the
// walk listed (its size at most agentproto.MaxBatchFileSize).
type BatchRead struct {
	Rel    string
	Expect rootfs.Identity
}

// BatchReadResult is one file's outcome: Err (an *Error: errors.Is finds
// rootfs.ErrIdentityMismatch for a file changed since listed) or its bytes
// with their SHA-256 as the agent read them.
type BatchReadResult struct {
	ReadResult
	Data []byte
	Err  error
}

// BatchWrite is one file of a WriteBatch.
type BatchWrite struct {
	Rel  string
	Meta rootfs.Meta
	Data []byte // at most agentproto.MaxBatchFileSize
}

// BatchWriteResult is one file's outcome: Err, or the SHA-256 of the bytes
// the agent wrote and the file as it stands under its name.
type BatchWriteResult struct {
	WriteResult
	Info rootfs.Info
	Err  error
}

// CheckBatch reports whether files of these sizes and names fit one batch.
func CheckBatch(sizes []int64, names []string) error {
	if len(sizes) > agentproto.MaxBatchFiles {
		return fmt.Errorf("batch of %d files, at most %d", len(sizes), agentproto.MaxBatchFiles)
	}
	var total int64
	nb := 0
	for i, n := range sizes {
		if n < 0 || n > agentproto.MaxBatchFileSize {
			return fmt.Errorf("batch file %q of %d bytes, at most %d", names[i], n, agentproto.MaxBatchFileSize)
		}
		total += n
		nb += len(names[i])
	}
	if total > agentproto.MaxBatchBytes {
		return fmt.Errorf("batch of %d bytes, at most %d", total, agentproto.MaxBatchBytes)
	}
	if agentproto.BatchRequestSize(len(names), nb) > agentproto.MaxPayload {
		return fmt.Errorf("batch names of %d bytes do not fit one frame", nb)
	}
	return nil
}

// items receives a batch's items until its Result and checks them: one
// per file, each index once; check vets an item against its file. A
// failure of the whole batch (connection, protocol) is the error.
func (r *Root) items(ctx context.Context, cl *call, op string, n int, check func(agentproto.BatchItem) error) error {
	seen := make([]bool, n)
	got := 0
	for {
		f, res, err := r.c.recv(ctx, cl, op, "")
		if err != nil {
			return err
		}
		if res != nil {
			if got != n || res.Count != uint64(n) {
				return fmt.Errorf("agent %s: %d items for %d files", op, got, n)
			}
			return nil
		}
		if f.t != agentproto.TBatchItem {
			r.c.cancel(cl)
			return fmt.Errorf("agent %s: unexpected %s frame", op, f.t)
		}
		it, err := agentproto.DecodeBatchItem(f.p)
		if err == nil && (int(it.Index) >= n || seen[it.Index]) {
			err = fmt.Errorf("item for file %d of %d, or twice", it.Index, n)
		}
		if err == nil {
			err = check(it)
		}
		if err != nil {
			r.c.cancel(cl)
			return fmt.Errorf("agent %s: %w", op, err)
		}
		seen[it.Index] = true
		got++
	}
}

func itemErr(op string, rel string, it agentproto.BatchItem) error {
	return &Error{Op: op, Rel: rel, Code: it.Code, Message: it.Message}
}

// ReadBatch reads small files whole in one request. One file's failure is
// its result's Err; the error is the batch's (nothing is then known of
// any file).
func (r *Root) ReadBatch(ctx context.Context, files []BatchRead) ([]BatchReadResult, error) {
	sizes, names := make([]int64, len(files)), make([]string, len(files))
	b := agentproto.BatchRequest{Root: r.handle, Files: make([]agentproto.BatchFile, len(files))}
	for i, f := range files {
		sizes[i], names[i] = f.Expect.Size, f.Rel
		b.Files[i] = agentproto.BatchFile{Rel: f.Rel, Expect: f.Expect}
	}
	if err := CheckBatch(sizes, names); err != nil {
		return nil, fmt.Errorf("agent read-batch: %w", err)
	}
	cl, err := r.c.startPayload(agentproto.TReadBatch, b.Encode())
	if err != nil {
		return nil, err
	}
	out := make([]BatchReadResult, len(files))
	err = r.items(ctx, cl, "read-batch", len(files), func(it agentproto.BatchItem) error {
		f := files[it.Index]
		if it.Failed {
			out[it.Index].Err = itemErr("read", f.Rel, it)
			return nil
		}
		// The host is not trusted: the bytes are what the walk listed.
		if it.Size != int64(len(it.Data)) || it.Size != f.Expect.Size {
			return fmt.Errorf("%q: %d bytes sent, %d said, %d listed", f.Rel, len(it.Data), it.Size, f.Expect.Size)
		}
		it.Entry.Name = f.Rel
		// it.Data is the frame's own copy (readLoop copies each payload).
		out[it.Index] = BatchReadResult{ReadResult: ReadResult{Size: it.Size, SHA256: it.SHA256, Info: it.Entry}, Data: it.Data}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HashBatch is ReadBatch without the bytes: each file's SHA-256, size and
// identity as the agent read it, under ReadBatch's rules.
func (r *Root) HashBatch(ctx context.Context, files []BatchRead) ([]ReadResult, []error, error) {
	sizes, names := make([]int64, len(files)), make([]string, len(files))
	b := agentproto.BatchRequest{Root: r.handle, Files: make([]agentproto.BatchFile, len(files))}
	for i, f := range files {
		sizes[i], names[i] = f.Expect.Size, f.Rel
		b.Files[i] = agentproto.BatchFile{Rel: f.Rel, Expect: f.Expect}
	}
	if err := CheckBatch(sizes, names); err != nil {
		return nil, nil, fmt.Errorf("agent hash-batch: %w", err)
	}
	cl, err := r.c.startPayload(agentproto.THashBatch, b.Encode())
	if err != nil {
		return nil, nil, err
	}
	out, errs := make([]ReadResult, len(files)), make([]error, len(files))
	err = r.items(ctx, cl, "hash-batch", len(files), func(it agentproto.BatchItem) error {
		f := files[it.Index]
		if it.Failed {
			errs[it.Index] = itemErr("hash", f.Rel, it)
			return nil
		}
		if len(it.Data) != 0 || it.Size != f.Expect.Size {
			return fmt.Errorf("%q: %d bytes sent, %d said, %d listed", f.Rel, len(it.Data), it.Size, f.Expect.Size)
		}
		it.Entry.Name = f.Rel
		out[it.Index] = ReadResult{Size: it.Size, SHA256: it.SHA256, Info: it.Entry}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, errs, nil
}

// WriteBatch creates or replaces small files in one request: each is
// written to a temporary file in its parent's directory handle, fsynced
// with fsync, given its Meta by descriptor and renamed into place once its
// bytes are complete. One file's failure is its result's Err.
func (r *Root) WriteBatch(ctx context.Context, files []BatchWrite, fsync bool) ([]BatchWriteResult, error) {
	sizes, names := make([]int64, len(files)), make([]string, len(files))
	b := agentproto.BatchRequest{Root: r.handle, Fsync: fsync, Files: make([]agentproto.BatchFile, len(files))}
	for i, f := range files {
		sizes[i], names[i] = int64(len(f.Data)), f.Rel
		b.Files[i] = agentproto.BatchFile{Rel: f.Rel, Meta: f.Meta, Size: int64(len(f.Data))}
	}
	if err := CheckBatch(sizes, names); err != nil {
		return nil, fmt.Errorf("agent write-batch: %w", err)
	}
	cl, err := r.c.startPayload(agentproto.TWriteBatch, b.Encode())
	if err != nil {
		return nil, err
	}
	// The items come back while the data still goes out: sending and
	// receiving run at once, or each could wait for the other.
	stop := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		var err error
		for _, f := range files {
			select {
			case <-stop:
			default:
				err = r.c.w.Write(agentproto.TChunk, cl.id, f.Data)
			}
			if err != nil {
				break
			}
		}
		// End always follows: the agent drops a failed batch's data until it.
		if eerr := r.c.w.Write(agentproto.TEnd, cl.id, nil); err == nil {
			err = eerr
		}
		sent <- err
	}()
	out := make([]BatchWriteResult, len(files))
	err = r.items(ctx, cl, "write-batch", len(files), func(it agentproto.BatchItem) error {
		f := files[it.Index]
		if it.Failed {
			out[it.Index].Err = itemErr("write", f.Rel, it)
			return nil
		}
		it.Entry.Name = f.Rel
		out[it.Index] = BatchWriteResult{WriteResult: WriteResult{Size: it.Size, SHA256: it.SHA256}, Info: it.Entry}
		return nil
	})
	close(stop)
	serr := <-sent
	if err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("agent write-batch: sending data: %w", serr)
	}
	return out, nil
}
