// Command umzugcopy runs one umzug CopyTree (or EstimateDelta) outside
// Temporal and prints the result with its wall time and peak RSS, so the
// benchmarks can measure the copy engine's memory in a process of its own.
//
//	umzugcopy -in input.json [-cpuprofile cpu.pprof] [-memprofile mem.pprof]
//	          [-conns N] [-concurrency N] [-trace] [-warm-source DIR]
//
// With -warm-source, a cutover step (`true`) runs on the source host
// first, as a move's "stop the application" does before its final sync,
// and the copy takes that step's connection from the pool, as a worker
// running both does; DIR keeps the step's attempt records. Only the copy
// is timed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/memlimit"
)

// Output is what umzugcopy prints on stdout (one JSON object).
type Output struct {
	Result   contract.CopyResult `json:"result"`
	Seconds  float64             `json:"seconds"`
	VmHWMKiB int64               `json:"vm_hwm_kib"`
}

func main() {
	in := flag.String("in", "", "JSON file with an contract.CopyInput")
	cpu := flag.String("cpuprofile", "", "write a CPU profile here")
	mem := flag.String("memprofile", "", "write a heap profile here")
	var opts activities.Options
	flag.IntVar(&opts.Conns, "conns", 0, "SSH connections per host (0: the engine's default)")
	flag.IntVar(&opts.Concurrency, "concurrency", 0, "files in flight when the copy set does not say (0: the engine's default)")
	engine := flag.String("engine", "classic", "copy engine: classic or agent (the worker's default)")
	agentDir := flag.String("agent-dir", "", "directory with the umzug-agent binaries (engine agent)")
	trace := flag.Bool("trace", false, "print the copy's phase timings on stderr")
	warm := flag.String("warm-source", "", "run a step on the source first and keep its connection (attempt records in this directory)")
	flag.Parse()
	// The worker's own setting (cmd/umzug worker).
	memlimit.Apply(memlimit.Worker)
	data, err := os.ReadFile(*in)
	if err != nil {
		fail(err)
	}
	var ci contract.CopyInput
	if err := json.Unmarshal(data, &ci); err != nil {
		fail(fmt.Errorf("parse %s: %w", *in, err))
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fail(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *trace {
		opts.Trace = os.Stderr
	}
	a := &activities.Activities{Options: opts, CopyEngine: *engine, AgentDir: *agentDir}
	if *warm != "" {
		a.Pool = activities.PoolOptions{IdleTimeout: activities.DefaultPoolIdleTimeout}
		a.RemoteStateDir = *warm
		defer a.Close()
		r, err := a.RunCommand(context.Background(), contract.CommandInput{Host: ci.Source, Command: "true", Purpose: "step stop_app"})
		if err != nil || r.ExitCode != 0 {
			fail(fmt.Errorf("step on %s: exit %d: %v", ci.Source.Name, r.ExitCode, err))
		}
	}
	start := time.Now()
	res, err := a.CopyTree(context.Background(), ci)
	el := time.Since(start)
	if err != nil {
		pprof.StopCPUProfile()
		fail(err)
	}
	if *mem != "" {
		f, err := os.Create(*mem)
		if err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	out := Output{Result: res, Seconds: el.Seconds(), VmHWMKiB: vmHWM()}
	json.NewEncoder(os.Stdout).Encode(out)
}

// vmHWM is the process's peak resident set size in KiB (Linux).
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "umzugcopy:", err)
	os.Exit(1)
}
