package agentproto

import "fmt"

// Hard links and sparse files. Their frame types are numbered apart from
// the sequence in frame.go so that other additions there do not move them.
//
//   - Link: Rel becomes a further name of the regular file Path, both
//     beneath a target root, made between the parents' directory handles
//     and renamed over what Rel held; Expect's device and inode must be
//     Path's. Answers with the new name's Entry. A link the file system
//     refuses fails with CodeCannotLink.
//   - ReadSparse: Read of a whole file (Offset 0, Length -1) whose holes
//     come as Hole frames instead of zero bytes in Chunks; the Result's
//     digest counts them as zeros.
//   - Hole: a run of zero bytes not sent, as an int64 count; from the
//     agent in a ReadSparse, from the client in a Write, where the agent
//     leaves it unwritten.
//   - FirstHole: Result.Size is the offset of the first hole of the
//     regular file Rel (Expect as for Read), its size when it has none.
const (
	TLink       Type = 80
	TReadSparse Type = 81
	THole       Type = 82
	TFirstHole  Type = 83
)

// CodeCannotLink: the target's file system refused a hard link (another
// file system, too many links, no permission, no support).
const CodeCannotLink Code = 64

func (t Type) extraName() (string, bool) {
	switch t {
	case TLink:
		return "link", true
	case TReadSparse:
		return "read-sparse", true
	case THole:
		return "hole", true
	case TFirstHole:
		return "first-hole", true
	}
	return "", false
}

func (t Type) extraRequest() bool { return t == TLink || t == TReadSparse || t == TFirstHole }

// EncodeHole is a Hole frame's payload.
func EncodeHole(n int64) []byte {
	var e Enc
	e.I64(n)
	return e.B
}

// MaxHole bounds one Hole frame: no file is larger.
const MaxHole = 1 << 62

// DecodeHole decodes a Hole frame's payload.
func DecodeHole(p []byte) (int64, error) {
	d := Dec{B: p}
	n := d.I64()
	if err := d.Done(); err != nil {
		return 0, err
	}
	if n <= 0 || n > MaxHole {
		return 0, fmt.Errorf("agent protocol: hole of %d bytes", n)
	}
	return n, nil
}
