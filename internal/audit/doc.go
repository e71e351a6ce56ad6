// Package audit turns workflow history into evidence an auditor can check
// offline.
//
// From the history alone it builds a report (report.go, evidence.go):
// who started and approved what and when, how each decision met the
// approval rule, the window and whether the cutover kept to it, the host
// keys verified, every command attempt with host, times and exit status
// (and a bounded, redacted output tail of failures), copies, refusals and
// manifest digests, and for a wave its moves in dependency order. The
// history is replayed against this build, so the report also shows that
// the record is consistent with the code.
//
// Reports render from templates that escape for their format
// (markdown.go, html.go; report.html is one self-contained A4 page with an
// SVG timeline, timeline.go). The history export is canonical JSON
// (canonical.go), so the same history always gives the same bytes.
//
// Values from history are shown inert: markdown.go escapes Markdown
// syntax and html/template HTML, and both show control and invisible
// format characters as <U+…> (visible). Errors are one line (errors.go).
//
// A bundle (bundle.go) holds history, render.json (render.go: what
// rendering needs beyond history, with the renderer version), reports,
// the manifests fetched from the target (evidence_collect.go) and
// SHA256SUMS; sign.go signs it in OpenSSH's SSHSIG format (namespace
// umzug-audit). verify.go re-checks the signature against an
// allowed_signers file read as ssh-keygen -Y verify reads it (package
// allowedsigners), digests, manifests and replay, and renders the
// reports again from history.json and render.json: they must be the
// bundle's byte for byte.
package audit
