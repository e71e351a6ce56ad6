package agentproto

import (
	"fmt"
	"strings"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// Big is what the big-file requests carry beyond Request's common fields.
//
//   - Sums: the SHA-256 of each Chunk-sized piece of a file from Offset,
//     at most Count pieces (the last may be short). Key "" hashes Rel (with
//     Expect) on any root; a Key hashes Rel's partial copy on a target root
//     (Result.Size -1 when there is none).
//   - WriteRange: data frames written from Offset into Rel's partial copy
//     for Key, created O_EXCL|O_NOFOLLOW in Rel's parent directory handle
//     when absent. A failed or canceled write keeps the partial copy.
//   - HashPartial: the agent hashes the partial copy from Offset (the end
//     of what it was handed before, 0 at first) to Length, through its
//     descriptor, into the copy's running digest, which it keeps until
//     the commit. An Offset that is not where the running digest stands
//     (or a write below it since) restarts it from 0.
//   - CommitPartial: the partial copy is truncated to Length and its
//     running digest (from Offset, as for HashPartial) completed through
//     its descriptor; only if the digest of the whole is Digest is it given
//     Meta (fsynced with Fsync) and renamed over Rel. A different digest
//     leaves it in place and answers with Changed and the digest found.
type Big struct {
	Key    string // PartialKeyLen lower-case hex digits
	Chunk  int64
	Count  uint32
	Digest [32]byte
}

// PartialKeyLen is the length of a partial copy's key; MaxSums bounds
// Count; MinChunk and MaxChunk bound Chunk.
const (
	PartialKeyLen = 16
	MaxSums       = 8192
	MinChunk      = 64 << 10
	MaxChunk      = 64 << 20
)

// PartialPrefix starts every partial copy's name: the name is
// PartialPrefix + key + "." + the final name. The engines' leftover sweep
// knows the ".umzug-tmp." prefix.
const PartialPrefix = ".umzug-tmp.part."

// PartialName returns the partial copy's name of the file base for key.
func PartialName(key, base string) (string, error) {
	if len(key) != PartialKeyLen || strings.Trim(key, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w: partial key %q is not %d hex digits", errBadKey, key, PartialKeyLen)
	}
	if len(base) > 200 {
		return "", fmt.Errorf("%w: name of %d bytes too long to keep a partial copy of", errBadKey, len(base))
	}
	return PartialPrefix + key + "." + base, nil
}

var errBadKey = rootfs.ErrInvalidName

func (b *Big) enc(e *Enc) {
	e.Str(b.Key)
	e.I64(b.Chunk)
	e.U32(b.Count)
	e.B = append(e.B, b.Digest[:]...)
}

func decBig(d *Dec) Big {
	var b Big
	b.Key = d.Str(64)
	b.Chunk = d.I64()
	b.Count = d.U32()
	copy(b.Digest[:], d.take(32))
	return b
}

func encSums(e *Enc, s [][32]byte) {
	e.U32(uint32(len(s)))
	for _, v := range s {
		e.B = append(e.B, v[:]...)
	}
}

func decSums(d *Dec) [][32]byte {
	n := d.U32()
	if d.Err() != nil || n == 0 {
		return nil
	}
	if n > MaxSums || int64(n)*32 > int64(len(d.B)) {
		d.take(len(d.B) + 1) // fails the decoder: more digests than the payload holds
		return nil
	}
	s := make([][32]byte, n)
	for i := range s {
		copy(s[i][:], d.take(32))
	}
	return s
}
