package agentproto

import (
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

func TestBatchRoundTripAndBounds(t *testing.T) {
	b := BatchRequest{Root: 3, Fsync: true, Files: []BatchFile{
		{Rel: "a/b", Expect: rootfs.Identity{Dev: 1, Ino: 2, Size: 3, MtimeNs: 4}},
		{Rel: "c", Meta: rootfs.Meta{SetMode: true, Mode: 0o640}, Size: MaxBatchFileSize},
	}}
	got, err := DecodeBatchRequest(b.Encode())
	if err != nil || got.Root != 3 || !got.Fsync || len(got.Files) != 2 || got.Files[0] != b.Files[0] || got.Files[1] != b.Files[1] {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if n := len(b.Encode()); n > BatchRequestSize(2, len("a/b")+len("c")) {
		t.Fatalf("encoded %d bytes, BatchRequestSize says at most %d", n, BatchRequestSize(2, 4))
	}
	it := BatchItem{Index: 7, Entry: rootfs.Info{Name: "a/b", Size: 3}, Size: 3, SHA256: [32]byte{1}, Data: []byte("abc")}
	gi, err := DecodeBatchItem(it.Encode())
	if err != nil || gi.Index != 7 || string(gi.Data) != "abc" || gi.SHA256 != it.SHA256 || gi.Entry != it.Entry {
		t.Fatalf("item round trip: %+v, %v", gi, err)
	}
	// The largest item fits one frame.
	big := BatchItem{Failed: true, Message: strings.Repeat("m", MaxString), Entry: rootfs.Info{Name: strings.Repeat("n", rootfs.MaxNameLen)},
		Data: make([]byte, MaxBatchFileSize)}
	if n := len(big.Encode()); n > MaxPayload {
		t.Fatalf("largest item is %d bytes, a frame holds %d", n, MaxPayload)
	}

	for name, bad := range map[string]BatchRequest{
		"too many files": {Files: make([]BatchFile, MaxBatchFiles+1)},
		"file too big":   {Files: []BatchFile{{Rel: "x", Size: MaxBatchFileSize + 1}}},
		"read too big":   {Files: []BatchFile{{Rel: "x", Expect: rootfs.Identity{Size: MaxBatchFileSize + 1}}}},
		"negative size":  {Files: []BatchFile{{Rel: "x", Size: -1}}},
		"too many bytes": {Files: func() []BatchFile {
			f := make([]BatchFile, MaxBatchBytes/MaxBatchFileSize+1)
			for i := range f {
				f[i] = BatchFile{Rel: "x", Size: MaxBatchFileSize}
			}
			return f
		}()},
	} {
		if _, err := DecodeBatchRequest(bad.Encode()); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add((&BatchRequest{Files: []BatchFile{{Rel: "a", Size: 1}}}).Encode())
	f.Add((&BatchItem{Data: []byte("x")}).Encode())
	f.Fuzz(func(t *testing.T, p []byte) {
		if b, err := DecodeBatchRequest(p); err == nil {
			if _, err := DecodeBatchRequest(b.Encode()); err != nil {
				t.Fatalf("re-encoded batch does not decode: %v", err)
			}
		}
		if it, err := DecodeBatchItem(p); err == nil && len(it.Data) > MaxBatchFileSize {
			t.Fatal("item data above MaxBatchFileSize")
		}
	})
}
