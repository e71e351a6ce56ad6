// Package redact replaces secret values in text that leaves a worker:
// the value as it is and the forms programs print it in (shell quoting as
// `bash -x` and `printf %q` write it, JSON, URL and HTML escapes, hex and
// base64). What it cannot cover is listed in docs/plan-language.md
// ("What redaction covers").
package redact
