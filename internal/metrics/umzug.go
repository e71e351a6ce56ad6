package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Umzug are umzug's own metrics on one registry.
type Umzug struct {
	Registry *prometheus.Registry
	// CopyBytes and CopyFiles count what copies moved, per move and copy
	// set, as their progress reports it.
	CopyBytes, CopyFiles *prometheus.CounterVec
	// CommandsRun and CommandsFailed count step, check and undo commands
	// per task queue; failed means a non-zero exit or no result at all.
	CommandsRun, CommandsFailed *prometheus.CounterVec
	// Refusals counts entries copies left out for safety, per kind.
	Refusals *prometheus.CounterVec
}

// New makes a registry with the Go and process collectors and umzug's
// metrics on it.
func New() *Umzug {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	u := &Umzug{
		Registry: reg,
		CopyBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umzug_copy_bytes_total",
			Help: "Bytes copied, per move and copy set."}, []string{"move", "set"}),
		CopyFiles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umzug_copy_files_total",
			Help: "Files copied, per move and copy set."}, []string{"move", "set"}),
		CommandsRun: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umzug_commands_total",
			Help: "Step, check and undo commands run, per task queue."}, []string{"queue"}),
		CommandsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umzug_commands_failed_total",
			Help: "Commands that exited non-zero or could not be run, per task queue."}, []string{"queue"}),
		Refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "umzug_copy_refusals_total",
			Help: "Entries a copy left out for safety, per kind."}, []string{"kind"}),
	}
	reg.MustRegister(u.CopyBytes, u.CopyFiles, u.CommandsRun, u.CommandsFailed, u.Refusals)
	return u
}

// CountFunc returns a count on every scrape (moves waiting for approval,
// counted by the cluster's visibility store).
func (u *Umzug) CountFunc(name, help string, f func() float64) {
	u.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}
