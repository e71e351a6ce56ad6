package redact

import (
	"strings"
	"testing"
)

// BenchmarkTail is the worker's cost per output stream: a 4 KiB tail
// (plus the bytes Tail drops) of command output holding a 20-byte
// password twice.
func BenchmarkTail(b *testing.B) {
	v := "Pa ss'w\u00e9rd-2026-xyz"
	r, err := New(v)
	if err != nil {
		b.Fatal(err)
	}
	line := "+ psql -h db -c 'select 1' -- some ordinary output 0123456789\n"
	text := strings.Repeat(line, (4096+r.MaxForm())/len(line)/2) + v + "\n" +
		strings.Repeat(line, (4096+r.MaxForm())/len(line)/2) + "'" + strings.ReplaceAll(v, "'", `'\''`) + "'\n"
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if out, _ := r.Tail(text); strings.Contains(out, "w\u00e9rd") {
			b.Fatal("not redacted")
		}
	}
}

// BenchmarkNew is the cost of building the matcher for one such value.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New("Pa ss'w\u00e9rd-2026-xyz"); err != nil {
			b.Fatal(err)
		}
	}
}
