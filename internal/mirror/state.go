package mirror

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

// The identity state is a header and one record per verified file:
//
//	uvarint path length, path bytes, 32 digest bytes,
//	source then target identity, each as varint size, varint mtime ns,
//	varint ctime ns, uvarint inode, uvarint device.
//
// Records are sorted by path, so the same tree gives the same bytes.
const stateMagic = "umzug-mirror-state 1\n"

// stateRecord is one verified file.
type stateRecord struct {
	Digest   [32]byte
	Src, Dst FileID
}

// maxStateRecord bounds one encoded record: a path and 12 varints.
const maxStateRecord = rootfs.MaxNameLen + 32 + 10*binary.MaxVarintLen64 + binary.MaxVarintLen64

// stateBuilder owns the records a run verifies, from every worker.
type stateBuilder struct {
	mu   sync.Mutex
	recs map[string]stateRecord
}

func (b *stateBuilder) add(rel string, r stateRecord) {
	b.mu.Lock()
	if b.recs == nil {
		b.recs = map[string]stateRecord{}
	}
	b.recs[rel] = r
	b.mu.Unlock()
}

func putID(buf []byte, id FileID) []byte {
	buf = binary.AppendVarint(buf, id.Size)
	buf = binary.AppendVarint(buf, id.MtimeNs)
	buf = binary.AppendVarint(buf, id.CtimeNs)
	buf = binary.AppendUvarint(buf, id.Ino)
	return binary.AppendUvarint(buf, id.Dev)
}

// encode returns the state's bytes and record count.
func (b *stateBuilder) encode() ([]byte, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	paths := make([]string, 0, len(b.recs))
	for p := range b.recs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]byte, 0, len(stateMagic)+len(paths)*96)
	out = append(out, stateMagic...)
	for _, p := range paths {
		r := b.recs[p]
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
		out = append(out, r.Digest[:]...)
		out = putID(out, r.Src)
		out = putID(out, r.Dst)
	}
	return out, int64(len(paths))
}

var errStateShape = errors.New("identity state out of shape")

type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errStateShape
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errStateShape
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) id() FileID {
	return FileID{Size: r.varint(), MtimeNs: r.varint(), CtimeNs: r.varint(), Ino: r.uvarint(), Dev: r.uvarint()}
}

// decodeState parses a state whose digest was already checked; any
// record out of shape rejects the whole state.
func decodeState(b []byte, want int64) (map[string]stateRecord, error) {
	if !bytes.HasPrefix(b, []byte(stateMagic)) {
		return nil, errStateShape
	}
	r := stateReader{b: b[len(stateMagic):]}
	recs := make(map[string]stateRecord, want)
	for len(r.b) > 0 {
		n := r.uvarint()
		if r.err != nil || n == 0 || n > rootfs.MaxNameLen || uint64(len(r.b)) < n+32 {
			return nil, errStateShape
		}
		p := string(r.b[:n])
		var rec stateRecord
		copy(rec.Digest[:], r.b[n:n+32])
		r.b = r.b[n+32:]
		rec.Src, rec.Dst = r.id(), r.id()
		if r.err != nil {
			return nil, r.err
		}
		recs[p] = rec
		if int64(len(recs)) > want {
			return nil, fmt.Errorf("%w: more than the %d records expected", errStateShape, want)
		}
	}
	if int64(len(recs)) != want {
		return nil, fmt.Errorf("%w: %d records, %d expected", errStateShape, len(recs), want)
	}
	return recs, nil
}

// trustState returns the records of b when b hashes to exactly ref.SHA256
// and holds exactly ref.Records records, else nil and why not.
func trustState(b []byte, ref StateRef) (map[string]stateRecord, error) {
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil, fmt.Errorf("identity state %s does not hash to the digest the last seed returned", ref.Name)
	}
	return decodeState(b, ref.Records)
}

// stateMax is the most bytes a state of n records may hold.
func stateMax(n int64) int64 {
	if n < 0 || n > 1<<26 {
		return 0
	}
	return int64(len(stateMagic)) + n*maxStateRecord
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
