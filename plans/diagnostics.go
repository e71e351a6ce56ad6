package plans

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// WriteDiagnostics prints diags as people read them: a "file:line:col:"
// line that editors and terminals can jump to, then hcl's rendering with
// severity, summary, the source lines (problem underlined in colour) and
// the detail. A warning that recurs in foldMin or more applications is
// printed once, naming the others (foldRepeated); --json keeps each.
//
// The source lines come from an index of each file's line starts and
// top-level blocks, built once: hcl's own writer scans the whole file
// for every diagnostic, which made a thousand warnings take a minute.
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, width uint, color bool) error {
	dw := newDiagWriter(w, files, width, color)
	for _, d := range dw.foldRepeated(diags) {
		if s := d.Subject; s != nil {
			if _, err := fmt.Fprintf(w, "%s:%d:%d:\n", s.Filename, s.Start.Line, s.Start.Column); err != nil {
				return err
			}
		}
		if err := dw.write(d); err != nil {
			return err
		}
	}
	return nil
}

// JSONPos is a position in a plan file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONDiagnostic is the machine-readable form of a diagnostic (for CI).
type JSONDiagnostic struct {
	Severity string   `json:"severity"` // "error" or "warning"
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail,omitempty"`
	Filename string   `json:"filename,omitempty"`
	Start    *JSONPos `json:"start,omitempty"`
	End      *JSONPos `json:"end,omitempty"`
}

// JSONDiagnostics converts diags for encoding; never nil, so an empty
// result encodes as [].
func JSONDiagnostics(diags hcl.Diagnostics) []JSONDiagnostic {
	out := make([]JSONDiagnostic, 0, len(diags))
	for _, d := range diags {
		jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if s := d.Subject; s != nil {
			jd.Filename = s.Filename
			jd.Start = &JSONPos{Line: s.Start.Line, Column: s.Start.Column, Byte: s.Start.Byte}
			jd.End = &JSONPos{Line: s.End.Line, Column: s.End.Column, Byte: s.End.Byte}
		}
		out = append(out, jd)
	}
	return out
}

// WriteDiagnosticsJSON writes diags as an indented JSON array.
func WriteDiagnosticsJSON(w io.Writer, diags hcl.Diagnostics) error {
	return WriteJSONDiagnosticList(w, JSONDiagnostics(diags))
}

// WriteJSONDiagnosticList writes converted diagnostics (of several
// plans, say) as one indented JSON array.
func WriteJSONDiagnosticList(w io.Writer, list []JSONDiagnostic) error {
	if list == nil {
		list = []JSONDiagnostic{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(list)
}

// Counts returns the number of errors and warnings in diags.
func Counts(diags hcl.Diagnostics) (errors, warnings int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errors++
		} else {
			warnings++
		}
	}
	return errors, warnings
}
