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
// A bundle (bundle.go) holds history, reports, the manifests fetched from
// the target (evidence_collect.go) and SHA256SUMS; sign.go signs it in
// OpenSSH's SSHSIG format (namespace umzug-audit), and verify.go re-checks
// signature, digests, manifests and replay.
package audit
