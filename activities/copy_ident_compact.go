package activities

import (
	"bytes"
	"strconv"
	"strings"
)

// The state file's compact line. A record whose target size and mtime
// equal the source's (every file the engine placed or kept) and whose
// path holds no newline is written as
//
//	SHA256 SIZE MTIME_NS CTIME_NS INODE DEV DST_CTIME_NS DST_INODE DST_DEV PATH
//
// in decimal, one space apart, the path's bytes running to the end of the
// line. It is about 40 % shorter than the record's JSON, and a final
// sync reads the whole file inside the window. Any other record is a
// JSON line, which starts with '{' where a compact line starts with a hex
// digit. Readers that know only JSON skip compact lines: the files are
// then hashed, never trusted on less.

// appendCompactVerified appends r's compact line for rel; ok is false
// when r needs a JSON line.
func appendCompactVerified(b []byte, rel string, r verifiedRec) ([]byte, bool) {
	if len(r.SHA256) != 64 || r.Dst.Size != r.Src.Size || r.Dst.MtimeNs != r.Src.MtimeNs ||
		rel == "" || strings.IndexByte(rel, '\n') >= 0 ||
		r.Src.Size < 0 || r.Src.MtimeNs < 0 || r.Src.CtimeNs < 0 || r.Dst.CtimeNs < 0 {
		return b, false
	}
	b = append(b, r.SHA256...)
	for _, n := range []int64{r.Src.Size, r.Src.MtimeNs, r.Src.CtimeNs} {
		b = strconv.AppendInt(append(b, ' '), n, 10)
	}
	for _, n := range []uint64{r.Src.Inode, r.Src.Dev} {
		b = strconv.AppendUint(append(b, ' '), n, 10)
	}
	b = strconv.AppendInt(append(b, ' '), r.Dst.CtimeNs, 10)
	for _, n := range []uint64{r.Dst.Inode, r.Dst.Dev} {
		b = strconv.AppendUint(append(b, ' '), n, 10)
	}
	b = append(append(b, ' '), rel...)
	return append(b, '\n'), true
}

// parseCompactVerified reads a compact line (without its newline).
func parseCompactVerified(line []byte) (verifiedRec, bool) {
	var r verifiedRec
	if len(line) < 65 || line[64] != ' ' {
		return r, false
	}
	for _, c := range line[:64] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return r, false
		}
	}
	r.SHA256 = string(line[:64])
	rest := line[65:]
	var nums [8]uint64
	for i := range nums {
		j := bytes.IndexByte(rest, ' ')
		if j <= 0 {
			return r, false
		}
		n, ok := parseUintBytes(rest[:j], 10)
		if !ok {
			return r, false
		}
		nums[i], rest = n, rest[j+1:]
	}
	if len(rest) == 0 || nums[0] > 1<<63-1 || nums[1] > 1<<63-1 || nums[2] > 1<<63-1 || nums[5] > 1<<63-1 {
		return r, false
	}
	r.Path = string(rest)
	r.Src = fileIdent{Size: int64(nums[0]), MtimeNs: int64(nums[1]), CtimeNs: int64(nums[2]), Inode: nums[3], Dev: nums[4]}
	r.Dst = fileIdent{Size: r.Src.Size, MtimeNs: r.Src.MtimeNs, CtimeNs: int64(nums[5]), Inode: nums[6], Dev: nums[7]}
	return r, true
}
