package agentproto

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/rootfs"
)

func TestRoundTrip(t *testing.T) {
	req := Request{Root: 3, Rel: "a/b", Path: "/srv", Role: RoleTarget, Recursive: true,
		Expect: &rootfs.Identity{Dev: 1, Ino: 2, Size: 3, MtimeNs: -4}, Offset: 5, Length: -1, Mode: 0755,
		Meta:  rootfs.Meta{SetOwner: true, UID: 9, GID: 10, SetMode: true, Mode: 04755, SetTimes: true, AtimeNs: 11, MtimeNs: 12},
		Fsync: true, Target: 77, Big: Big{Key: "0123456789abcdef", Chunk: 2 << 20, Count: 3, Digest: [32]byte{5}}}
	got, err := DecodeRequest(req.Encode())
	if err != nil || *got.Expect != *req.Expect {
		t.Fatalf("request: %v %+v", err, got)
	}
	got.Expect, req.Expect = nil, nil
	if got != req {
		t.Fatalf("request round trip: %+v != %+v", got, req)
	}
	res := Result{Root: 1, Entry: rootfs.Info{Name: "x", Type: rootfs.TypeSymlink, Mode: 0777, Size: 9, Nlink: 1},
		Size: 42, SHA256: [32]byte{1, 2, 3}, Changed: true, Target: "t", Count: 7, Openat2: true,
		Statfs: rootfs.Statfs{BlockSize: 4096, Blocks: 5, FsType: -1}, Sums: [][32]byte{{9}, {8, 7}}}
	gr, err := DecodeResult(res.Encode())
	if err != nil || !reflect.DeepEqual(gr, res) {
		t.Fatalf("result: %v %+v", err, gr)
	}
	h := Hello{Proto: Version, AgentVersion: "v", GOOS: "linux", GOARCH: "arm64", UID: 1, EUID: 0, Openat2: true}
	if gh, err := DecodeHello(h.Encode()); err != nil || gh != h {
		t.Fatalf("hello: %v %+v", err, gh)
	}
	h.Proto = Version + 1
	if _, err := DecodeHello(h.Encode()); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("version mismatch not reported: %v", err)
	}
	var e Enc
	e.U32(2)
	EncodeEntry(&e, rootfs.Info{Name: "a"})
	EncodeEntry(&e, rootfs.Info{Name: "b", Type: rootfs.TypeDir})
	var names []string
	if err := DecodeEntries(e.B, func(i rootfs.Info) error { names = append(names, i.Name); return nil }); err != nil || len(names) != 2 {
		t.Fatalf("entries: %v %v", err, names)
	}
}

func TestFrameBounds(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.Write(TChunk, 5, make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("oversized frame written")
	}
	if err := w.Write(TChunk, 5, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	f, err := r.Read()
	if err != nil || f.Type != TChunk || f.ID != 5 || string(f.Payload) != "abc" {
		t.Fatalf("frame %+v %v", f, err)
	}
	// A header claiming 4 GiB must fail before allocating.
	r = NewReader(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, byte(TChunk), 0, 0, 0, 1}))
	if _, err := r.Read(); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("oversized header: %v", err)
	}
	r = NewReader(bytes.NewReader([]byte{0, 0, 0, 1, 200, 0, 0, 0, 1, 0}))
	if _, err := r.Read(); err == nil {
		t.Fatal("unknown type accepted")
	}
	r = NewReader(bytes.NewReader([]byte{0, 0, 0, 5, byte(TChunk), 0, 0, 0, 1, 'a'}))
	if _, err := r.Read(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated frame: %v", err)
	}
	r = NewReader(strings.NewReader("Welcome to host\n..."))
	if err := r.ReadMagic(); err == nil || !strings.Contains(err.Error(), "Welcome") {
		t.Fatalf("banner not reported: %v", err)
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder and the frame reader:
// none may panic or allocate beyond the input's bounds.
func FuzzDecode(f *testing.F) {
	f.Add((&Request{Rel: "a", Expect: &rootfs.Identity{}}).Encode())
	f.Add((&Result{Target: "x"}).Encode())
	f.Add(Hello{Proto: Version}.Encode())
	f.Add([]byte{0, 0, 0, 200})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3})
	f.Fuzz(func(t *testing.T, p []byte) {
		if r, err := DecodeRequest(p); err == nil {
			if _, err := DecodeRequest(r.Encode()); err != nil {
				t.Fatalf("re-encoded request does not decode: %v", err)
			}
		}
		_, _ = DecodeResult(p)
		_, _ = DecodeHello(p)
		_, _ = DecodeError(p)
		n := 0
		_ = DecodeEntries(p, func(rootfs.Info) error { n++; return nil })
		if n*EntrySize("") > len(p) {
			t.Fatalf("%d entries decoded from %d bytes", n, len(p))
		}
		fr := NewReader(bytes.NewReader(p))
		for {
			fm, err := fr.Read()
			if err != nil {
				break
			}
			if len(fm.Payload) > MaxPayload {
				t.Fatal("frame above MaxPayload")
			}
		}
	})
}
