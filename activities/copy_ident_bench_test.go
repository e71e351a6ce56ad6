package activities

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// identStateLines is n records as writeIdentState's encoder of earlier
// versions wrote them.
func identStateLines(n int) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		enc.Encode(verifiedRec{Path: fmt.Sprintf("d%03d/e%02d/f%06d.dat", i/100, i%100, i), SHA256: strings.Repeat(fmt.Sprintf("%02x", i%256), 32),
			Src: fileIdent{Size: int64(i * 7), MtimeNs: 1795989385000000000 + int64(i), CtimeNs: 1796162186164017371, Inode: uint64(10930547 + i), Dev: 65024},
			Dst: fileIdent{Size: int64(i * 7), MtimeNs: 1795989385000000000 + int64(i), CtimeNs: 1796162197404017371, Inode: uint64(10987113 + i), Dev: 65024}})
	}
	return b.Bytes()
}

func BenchmarkParseIdentStatePlain(b *testing.B) {
	data := identStateLines(20000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if m, _ := parseIdentState(bytes.NewReader(data)); len(m) != 20000 {
			b.Fatal(len(m))
		}
	}
}

func BenchmarkParseIdentStateBinary(b *testing.B) {
	plain, _ := parseIdentState(bytes.NewReader(identStateLines(20000)))
	data := []byte(identStateMagic)
	for rel, r := range plain {
		var err error
		if data, err = appendIdentRec(data, rel, *r); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if m, _ := parseIdentState(bytes.NewReader(data)); len(m) != 20000 {
			b.Fatal(len(m))
		}
	}
}
