// Package agentserver is the serving side of umzug-agent: it speaks
// agentproto on a reader/writer pair (the SSH session's stdin/stdout) and
// carries out each request through internal/rootfs, so every file
// operation is relative to a handle opened from a copy root. Serve returns
// when its input ends; cmd/umzug-agent is a thin wrapper around it, and
// tests run it in-process over pipes.
package agentserver
