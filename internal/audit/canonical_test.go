package audit

import (
	"bytes"
	"os"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Two exports of the same history are the same bytes, whatever whitespace
// protojson chose, and the export parses back to the same history.
func TestExportHistoryIsCanonical(t *testing.T) {
	h := loadHistory(t, "../../workflows/testdata/move_approve_commit.json")
	a, err := ExportHistory(h)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ExportHistory(h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two exports of one history differ")
	}
	// protojson's other layouts canonicalize to the same bytes.
	for _, o := range []protojson.MarshalOptions{{Multiline: true, Indent: "  "}, {Multiline: true, Indent: "\t"}, {}} {
		raw, _ := o.Marshal(h)
		c, err := Canonical(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, c) {
			t.Fatalf("layout %+v gives other bytes", o)
		}
	}
	back, err := ParseHistory(a)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := ExportHistory(back)
	if !bytes.Equal(a, again) {
		t.Fatal("export does not survive a parse")
	}
}

func TestCanonicalSortsKeys(t *testing.T) {
	got, err := Canonical([]byte(`{"b":1,  "a":{"d":"x<y","c":12345678901234567890}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": {\n    \"c\": 12345678901234567890,\n    \"d\": \"x<y\"\n  },\n  \"b\": 1\n}\n"
	if string(got) != want {
		t.Fatalf("got %q", got)
	}
}

func loadHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHistory(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
