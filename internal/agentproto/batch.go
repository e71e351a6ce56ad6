package agentproto

import (
	"fmt"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Batches carry many small files in one request, so that a tree of small
// files costs a round trip per batch rather than per file.
//
// ReadBatch: the request names the files, each with the identity the walk
// listed; the agent answers one BatchItem per file (its bytes, SHA-256 and
// identity as read, or why it was not read), in any order, then a Result
// whose Count is the items sent.
//
// WriteBatch: the request names the files with their metadata and sizes;
// the client then sends one Chunk per file, in request order, holding
// exactly its bytes (an empty Chunk for an empty file), and End. The agent
// writes each into a temporary file in its parent's handle, sets the
// metadata through the descriptor and renames it into place once its bytes
// are complete; it answers one BatchItem per file (the SHA-256 written and
// the placed identity, or why it was not placed), then a Result.
//
// HashBatch: as ReadBatch, but each item carries the file's SHA-256, size
// and identity without its bytes (a final sync's check of unchanged files).
//
// One file's failure is its item's error and never fails the batch.
const (
	// MaxBatchFiles bounds the files of one batch.
	MaxBatchFiles = 256
	// MaxBatchFileSize bounds one file of a batch: its bytes travel in one
	// frame. Bigger files go through Read and Write.
	MaxBatchFileSize = 512 << 10
	// MaxBatchBytes bounds the sum of a batch's file sizes, and so what
	// either end holds of it in memory.
	MaxBatchBytes = 8 << 20
)

// BatchFile is one file of a batch request.
type BatchFile struct {
	Rel    string
	Expect rootfs.Identity // ReadBatch: the identity the walk listed
	Meta   rootfs.Meta     // WriteBatch
	Size   int64           // WriteBatch: the bytes of its Chunk
}

// BatchRequest is the payload of ReadBatch and WriteBatch.
type BatchRequest struct {
	Root  uint32
	Fsync bool // WriteBatch: fsync each file before its rename
	Files []BatchFile
}

// batchFileSize is an upper bound of one encoded BatchFile beyond its name.
const batchFileSize = 4 + 4*8 + 40 + 8

// BatchRequestSize is an upper bound of an encoded request's bytes for
// the given number of files and total name bytes: a client splits batches
// whose header would not fit in MaxPayload.
func BatchRequestSize(files, nameBytes int) int { return 16 + files*batchFileSize + nameBytes }

func (b *BatchRequest) Encode() []byte {
	e := Enc{B: make([]byte, 0, 16+len(b.Files)*(batchFileSize+64))}
	e.U32(b.Root)
	e.Bool(b.Fsync)
	e.U32(uint32(len(b.Files)))
	for _, f := range b.Files {
		e.Str(f.Rel)
		e.U64(f.Expect.Dev)
		e.U64(f.Expect.Ino)
		e.I64(f.Expect.Size)
		e.I64(f.Expect.MtimeNs)
		encMeta(&e, f.Meta)
		e.I64(f.Size)
	}
	return e.B
}

// DecodeBatchRequest decodes a batch request and checks its bounds: at
// most MaxBatchFiles files, each of at most MaxBatchFileSize bytes (the
// expected size for a read, the announced size for a write), together at
// most MaxBatchBytes.
func DecodeBatchRequest(p []byte) (BatchRequest, error) {
	d := Dec{B: p}
	var b BatchRequest
	b.Root = d.U32()
	b.Fsync = d.Bool()
	n := d.U32()
	if d.Err() != nil {
		return b, d.Err()
	}
	if n > MaxBatchFiles {
		return b, fmt.Errorf("agent protocol: batch of %d files, at most %d allowed", n, MaxBatchFiles)
	}
	b.Files = make([]BatchFile, 0, n)
	var total int64
	for range n {
		var f BatchFile
		f.Rel = d.Str(rootfs.MaxNameLen)
		f.Expect = rootfs.Identity{Dev: d.U64(), Ino: d.U64(), Size: d.I64(), MtimeNs: d.I64()}
		f.Meta = decMeta(&d)
		f.Size = d.I64()
		if d.Err() != nil {
			return b, d.Err()
		}
		size := max(f.Size, f.Expect.Size)
		if f.Size < 0 || f.Expect.Size < 0 || size > MaxBatchFileSize {
			return b, fmt.Errorf("agent protocol: batch file %q of %d bytes, at most %d allowed", f.Rel, size, MaxBatchFileSize)
		}
		if total += size; total > MaxBatchBytes {
			return b, fmt.Errorf("agent protocol: batch of more than %d bytes", MaxBatchBytes)
		}
		b.Files = append(b.Files, f)
	}
	return b, d.Done()
}

// BatchItem is one file's result in a batch.
type BatchItem struct {
	Index uint32 // the file's position in the request
	// Failed: the file was not read or placed; Code and Message say why.
	Failed  bool
	Code    Code
	Message string
	Entry   rootfs.Info // read: the file at open; write: the file as placed
	Size    int64       // bytes read or written
	SHA256  [32]byte    // of the bytes read or written
	Data    []byte      // read: the bytes
}

// maxBatchMessage bounds an item's message, so that an item with the
// largest data still fits in one frame.
const maxBatchMessage = 4 << 10

func (it *BatchItem) Encode() []byte {
	msg := it.Message
	if len(msg) > maxBatchMessage {
		msg = msg[:maxBatchMessage]
	}
	e := Enc{B: make([]byte, 0, 160+len(msg)+len(it.Entry.Name)+len(it.Data))}
	e.U32(it.Index)
	e.Bool(it.Failed)
	e.U8(uint8(it.Code))
	e.Str(msg)
	EncodeEntry(&e, it.Entry)
	e.I64(it.Size)
	e.B = append(e.B, it.SHA256[:]...)
	e.U32(uint32(len(it.Data)))
	e.B = append(e.B, it.Data...)
	return e.B
}

// DecodeBatchItem decodes an item; Data aliases p.
func DecodeBatchItem(p []byte) (BatchItem, error) {
	d := Dec{B: p}
	var it BatchItem
	it.Index = d.U32()
	it.Failed = d.Bool()
	it.Code = Code(d.U8())
	it.Message = d.Str(maxBatchMessage)
	it.Entry = decodeEntry(&d)
	it.Size = d.I64()
	copy(it.SHA256[:], d.take(32))
	n := d.U32()
	if d.Err() == nil && n > MaxBatchFileSize {
		return it, fmt.Errorf("agent protocol: batch item of %d bytes, at most %d allowed", n, MaxBatchFileSize)
	}
	it.Data = d.take(int(n))
	return it, d.Done()
}
