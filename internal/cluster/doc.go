// Package cluster starts a Temporal cluster as an organisation runs it, on
// loopback: a private PostgreSQL instance, the schema set up with the
// server's own SQL tool, and the frontend, history, matching and worker
// services as four processes with their own ports. Tests and `task
// cluster` use it to run umzug against something other than the embedded
// single-process server, and to kill and restart its parts.
//
// The server binaries are built from the module cache by the tools module
// in tools/temporal-cluster (so the product's go.mod stays as it is) and
// cached under $HOME/.cache/umzug-cluster/<version>/.
package cluster
