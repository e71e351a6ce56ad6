// Package devserver embeds a single-process Temporal server (SQLite
// persistence, in memory or in a file) and the Temporal Web UI, so that
// `umzug dev` and `umzug demo` need nothing installed besides the binary.
package devserver
