package agentproto

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Magic opens the agent's output, before the Hello frame.
const Magic = "\x00UMZAGT\n"

// Version is the protocol version; a client refuses an agent with another.
const Version = 4

// MaxPayload bounds a frame's payload; ChunkSize is the data a Chunk frame
// carries at most.
const (
	MaxPayload = 1 << 20
	ChunkSize  = 256 << 10
	headerSize = 9
)

// Type is a frame's type.
type Type uint8

// Frame types. Requests go client→agent, answers agent→client; Chunk and
// End go both ways (Read data from the agent, Write data from the client).
const (
	THello Type = 1 + iota
	TOpenRoot
	TCloseRoot
	TList
	TLstat
	TRead
	THash
	TWrite
	TMkdir
	TSymlink
	TReadlink
	TRemove
	TSetMeta
	TStatfs
	TCancel
	TChunk
	TEnd
	TEntries
	TResult
	TError
	// Big files (ranges.go): chunk digests, a range written into a file's
	// partial copy, and the partial copy's commit.
	TSums
	TWriteRange
	TCommitPartial
	THashPartial
	TReadBatch  // many small files read in one request (batch.go)
	TWriteBatch // many small files written in one request
	TBatchItem  // one file's result in a batch, agent→client
	THashBatch  // many small files hashed in one request: ReadBatch without the bytes
	tMax
)

var typeNames = [...]string{"", "hello", "open-root", "close-root", "list", "lstat", "read", "hash", "write",
	"mkdir", "symlink", "readlink", "remove", "set-meta", "statfs", "cancel", "chunk", "end", "entries", "result", "error",
	"sums", "write-range", "commit-partial", "hash-partial",
	"read-batch", "write-batch", "batch-item", "hash-batch"}

func (t Type) String() string {
	if t > 0 && t < tMax {
		return typeNames[t]
	}
	if t.IsMeta() {
		return metaNames[t-TAccounts]
	}
	if n, ok := t.extraName(); ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// IsRequest reports whether t starts a request.
func (t Type) IsRequest() bool {
	return t >= TOpenRoot && t <= TStatfs || t >= TSums && t <= THashPartial || t.IsBatch() || t.IsMetaRequest() || t.extraRequest()
}

// IsBatch reports whether t starts a batch request, whose payload is a
// BatchRequest rather than a Request.
func (t Type) IsBatch() bool { return t == TReadBatch || t == TWriteBatch || t == THashBatch }

// Frame is one decoded frame; Payload is only valid until the next read.
type Frame struct {
	Type    Type
	ID      uint32
	Payload []byte
}

// Reader reads frames, reusing one buffer.
type Reader struct {
	r   *bufio.Reader
	buf []byte
}

// NewReader reads frames from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 256<<10)} }

// ReadMagic reads and checks the stream's opening bytes.
func (fr *Reader) ReadMagic() error {
	b := make([]byte, len(Magic))
	n, err := io.ReadFull(fr.r, b)
	if err != nil && n == 0 {
		return fmt.Errorf("agent sent nothing before closing its output (%v): did the agent start? see its stderr", err)
	}
	if string(b[:n]) != Magic {
		return fmt.Errorf("agent output does not start with the umzug agent magic (got %q): not an umzug-agent, or something on the host prints to stdout", b[:n])
	}
	return nil
}

// Read returns the next frame. A length above MaxPayload or an unknown
// type is an error before any allocation.
func (fr *Reader) Read() (Frame, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(fr.r, h[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(h[0:4])
	t := Type(h[4])
	if n > MaxPayload {
		return Frame{}, fmt.Errorf("agent protocol: %s frame of %d bytes, at most %d allowed", t, n, MaxPayload)
	}
	if _, extra := t.extraName(); !extra && (t == 0 || t >= tMax) && !t.IsMeta() {
		return Frame{}, fmt.Errorf("agent protocol: unknown frame type %d", h[4])
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n, max(int(n), 64<<10))
	}
	p := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return Frame{Type: t, ID: binary.BigEndian.Uint32(h[5:9]), Payload: p}, nil
}

// Writer writes whole frames; safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

// NewWriter writes frames to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 256<<10)} }

// WriteRaw writes bytes outside framing (the magic).
func (fw *Writer) WriteRaw(b []byte) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if _, err := fw.w.Write(b); err != nil {
		return err
	}
	return fw.w.Flush()
}

// Write sends one frame and flushes it.
func (fw *Writer) Write(t Type, id uint32, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("agent protocol: %s frame of %d bytes exceeds %d", t, len(payload), MaxPayload)
	}
	var h [headerSize]byte
	binary.BigEndian.PutUint32(h[0:4], uint32(len(payload)))
	h[4] = byte(t)
	binary.BigEndian.PutUint32(h[5:9], id)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err != nil {
		return fw.err
	}
	if _, err := fw.w.Write(h[:]); err != nil {
		fw.err = err
		return err
	}
	if _, err := fw.w.Write(payload); err != nil {
		fw.err = err
		return err
	}
	if err := fw.w.Flush(); err != nil {
		fw.err = err
	}
	return fw.err
}

// closeWait bounds how long CloseWith waits for a frame being written.
const closeWait = 200 * time.Millisecond

// CloseWith closes c, the stream under the writer, once no frame is being
// written (an SSH channel's writes and close must not overlap), and ends
// later writes with ErrClosedWriter. A write still blocked after closeWait
// (a hung link, a full window) does not hold it: c is closed anyway.
func (fw *Writer) CloseWith(c io.Closer) error {
	deadline := time.Now().Add(closeWait)
	for !fw.mu.TryLock() {
		if time.Now().After(deadline) {
			return c.Close()
		}
		time.Sleep(time.Millisecond)
	}
	defer fw.mu.Unlock()
	if fw.err == nil {
		fw.err = ErrClosedWriter
	}
	return c.Close()
}

// ErrClosedWriter is what writes return after CloseWith.
var ErrClosedWriter = errors.New("agent protocol: writer closed")
