package activities

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Records the engine placed travel as compact lines and read back as they
// were written, whatever bytes the path holds short of a newline; other
// records (a target that differs in size or mtime, a newline in the path,
// times before 1970) are JSON lines. A state file mixing both, with lines
// no parser knows, reads every good record and skips the rest.
func TestCompactVerifiedLines(t *testing.T) {
	sum := strings.Repeat("0f", 32)
	id := fileIdent{Size: 22903, MtimeNs: 1795973242000000000, CtimeNs: 1796146046948017371, Inode: 10682852, Dev: 65024}
	dst := fileIdent{Size: id.Size, MtimeNs: id.MtimeNs, CtimeNs: 1796146064628017371, Inode: 10726746, Dev: 65024}
	var file bytes.Buffer
	want := map[string]verifiedRec{}
	for _, rel := range []string{"d001/e75/f017580.dat", "a b/{c} d.txt", "odd/\xff\xfe name", "x"} {
		r := verifiedRec{SHA256: sum, Src: id, Dst: dst}
		line, ok := appendCompactVerified(nil, rel, r)
		if !ok || line[0] == '{' || !bytes.HasSuffix(line, []byte{'\n'}) {
			t.Fatalf("%q: compact line %q, %v", rel, line, ok)
		}
		got, ok := parseCompactVerified(bytes.TrimSuffix(line, []byte{'\n'}))
		r.Path = rel
		if !ok || got != r {
			t.Errorf("%q: read back %+v, %v; want %+v", rel, got, ok, r)
		}
		file.Write(line)
		want[rel] = r
	}
	jsonOnly := map[string]verifiedRec{
		"grown.dat":   {SHA256: sum, Src: id, Dst: fileIdent{Size: id.Size + 1, MtimeNs: id.MtimeNs, CtimeNs: 5, Inode: 6, Dev: 7}},
		"touched.dat": {SHA256: sum, Src: id, Dst: fileIdent{Size: id.Size, MtimeNs: id.MtimeNs + 1, CtimeNs: 5, Inode: 6, Dev: 7}},
		"new\nline":   {SHA256: sum, Src: id, Dst: dst},
		"old.dat":     {SHA256: sum, Src: fileIdent{Size: 1, MtimeNs: -5, CtimeNs: 9, Inode: 1, Dev: 1}, Dst: fileIdent{Size: 1, MtimeNs: -5, CtimeNs: 9, Inode: 2, Dev: 1}},
	}
	for rel, r := range jsonOnly {
		if line, ok := appendCompactVerified(nil, rel, r); ok {
			t.Errorf("%q: compact line %q for a record that needs JSON", rel, line)
		}
		r.Path, r.PathB64 = lossless(rel)
		b, _ := json.Marshal(r)
		file.Write(append(b, '\n'))
		r.Path, r.PathB64 = rel, ""
		want[rel] = r
	}
	for _, bad := range []string{
		sum + " 1 2 3 4 5 6 7",                        // a field short
		sum + " 1 2 3 4 5 6 7 x8 p",                   // not a number
		sum[:63] + "g 1 2 3 4 5 6 7 8 p",              // not hex
		sum + " 1 2 3 4 5 6 7 8 ",                     // no path
		sum + " 99999999999999999999 2 3 4 5 6 7 8 p", // overflow
		"garbage",
	} {
		if _, ok := parseCompactVerified([]byte(bad)); ok {
			t.Errorf("%q read as a record", bad)
		}
		file.WriteString(bad + "\n")
	}
	got := parseIdentState(&file)
	if len(got) != len(want) {
		t.Errorf("%d records, want %d: %v", len(got), len(want), got)
	}
	for rel, r := range want {
		if g := got[rel]; g == nil || g.SHA256 != r.SHA256 || g.Src != r.Src || g.Dst != r.Dst {
			t.Errorf("%q: %+v, want %+v", rel, g, r)
		}
	}
}
