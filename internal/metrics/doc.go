// Package metrics exposes a worker's metrics to Prometheus: the Temporal
// SDK's (through an SDK metrics handler over client_golang) and umzug's
// own (copy progress, phase durations, commands, refusals, moves waiting
// for approval), plus a /healthz endpoint that says whether the worker
// polls.
package metrics
