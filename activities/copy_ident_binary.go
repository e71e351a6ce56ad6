package activities

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
)

// The state file (identStatePath) is identStateMagic followed by one
// record per verified file:
//
//	uvarint  length of the path, then the path's bytes (relative to the
//	         copy set's root, exactly as the host names it)
//	32 bytes the file's sha256
//	varints  size, mtime_ns, ctime_ns, inode, dev on the source,
//	         then the same five on the target
//
// Read back, every record is checked for shape: a path of at most
// maxIdentPath bytes, whole varints, non-negative sizes; a file that ends
// inside a record or breaks the shape is not used at all, so every
// unchanged file is hashed instead.
const identStateMagic = "umzug verified identities v2\n"

// maxIdentPath bounds a path in the state file (PATH_MAX is 4096); a
// file with a longer one is left out, and hashed by the next sync.
// maxIdentRec bounds a whole record: a path, its length, the digest and
// ten varints of at most ten bytes.
const (
	maxIdentPath = 16 << 10
	maxIdentRec  = maxIdentPath + 3 + 32 + 10*10
)

var errIdentRec = errors.New("verified-identity record out of shape")

// appendIdentRec appends the record of rel to b.
func appendIdentRec(b []byte, rel string, r verifiedRec) ([]byte, error) {
	var sum [32]byte
	if len(r.SHA256) != 64 || len(rel) > maxIdentPath {
		return b, errIdentRec
	}
	if _, err := hex.Decode(sum[:], []byte(r.SHA256)); err != nil {
		return b, errIdentRec
	}
	b = binary.AppendUvarint(b, uint64(len(rel)))
	b = append(b, rel...)
	b = append(b, sum[:]...)
	for _, id := range [2]fileIdent{r.Src, r.Dst} {
		b = binary.AppendVarint(b, id.Size)
		b = binary.AppendVarint(b, id.MtimeNs)
		b = binary.AppendVarint(b, id.CtimeNs)
		b = binary.AppendUvarint(b, id.Inode)
		b = binary.AppendUvarint(b, id.Dev)
	}
	return b, nil
}

// readIdentRecs reads records up to the end of r (whose buffer holds at
// least maxIdentRec bytes); false if r ends inside a record or a record
// is out of shape.
func readIdentRecs(r *bufio.Reader) ([][]verifiedRec, bool) {
	var blocks [][]verifiedRec
	for {
		buf, err := r.Peek(maxIdentRec)
		if len(buf) == 0 {
			return blocks, err == io.EOF
		}
		rec, n := decodeIdentRec(buf)
		if n <= 0 {
			return nil, false
		}
		_, _ = r.Discard(n)
		blocks = appendToBlock(blocks, rec)
	}
}

// decodeIdentRec decodes the record at the start of b and returns its
// length, or 0 when b holds no whole record of the right shape.
func decodeIdentRec(b []byte) (verifiedRec, int) {
	var rec verifiedRec
	n, k := binary.Uvarint(b)
	if k <= 0 || n > maxIdentPath || uint64(len(b)-k) < n+32 {
		return rec, 0
	}
	i := k + int(n)
	rec.Path = string(b[k:i])
	var sum [64]byte
	hex.Encode(sum[:], b[i:i+32])
	rec.SHA256 = string(sum[:])
	i += 32
	for _, id := range [2]*fileIdent{&rec.Src, &rec.Dst} {
		var v [3]int64
		for j := range v {
			x, k := binary.Varint(b[i:])
			if k <= 0 {
				return rec, 0
			}
			v[j], i = x, i+k
		}
		var u [2]uint64
		for j := range u {
			x, k := binary.Uvarint(b[i:])
			if k <= 0 {
				return rec, 0
			}
			u[j], i = x, i+k
		}
		*id = fileIdent{Size: v[0], MtimeNs: v[1], CtimeNs: v[2], Inode: u[0], Dev: u[1]}
		if id.Size < 0 {
			return rec, 0
		}
	}
	return rec, i
}
