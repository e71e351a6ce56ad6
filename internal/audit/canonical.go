package audit

import (
	"bytes"
	"encoding/json"
	"fmt"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// ExportHistory encodes a history as canonical JSON: protojson with fixed
// options, then decoded and re-encoded with sorted keys and two-space
// indentation. protojson deliberately varies its whitespace between
// builds, so its raw output would give a different digest for the same
// history; the canonical form is the same bytes every time.
func ExportHistory(h *historypb.History) ([]byte, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false}.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode history: %w", err)
	}
	return Canonical(raw)
}

// Canonical re-encodes a JSON document with sorted object keys, numbers
// kept as written, two-space indentation and a final newline.
func Canonical(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical JSON: decode: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, fmt.Errorf("canonical JSON: encode: %w", err)
	}
	return out.Bytes(), nil
}

// ParseHistory reads a history written by ExportHistory (or by Temporal's
// own export).
func ParseHistory(b []byte) (*historypb.History, error) {
	h := &historypb.History{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, h); err != nil {
		return nil, fmt.Errorf("parse history: %w", err)
	}
	return h, nil
}
