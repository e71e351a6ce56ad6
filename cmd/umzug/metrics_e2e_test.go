package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/workflows"
)

// scrape sums, per metric name, the samples whose line contains every
// filter (label matchers written as in the exposition, e.g. `set="data"`).
func scrape(t *testing.T, addr, name string, filters ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, f := range filters {
			ok = ok && strings.Contains(line, f)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsDuringAMove scrapes /metrics of `umzug dev --metrics-address`
// while a move runs: the copy counters grow from the seed copy to the
// final sync, moves waiting for approval are counted, commands and
// phase durations appear, the SDK's own metrics are there, and /healthz
// says the worker polls.
func TestMetricsDuringAMove(t *testing.T) {
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(t.TempDir(), "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	st, err := startStack(context.Background(), embeddedOptions{port: 0, noUI: true,
		observe: observeOptions{metricsAddr: "127.0.0.1:0", logFormat: "json"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv("TEMPORAL_ADDRESS", st.server.Address())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	e := &e2e{env: env, stack: st, c: st.client}
	addr := st.metrics.Addr()
	move := `move="` + financeID + `"`

	// The worker is healthy once the cluster has seen it poll.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		code, body := get(t, "http://"+addr+"/healthz")
		if code == 200 && strings.HasPrefix(body, "ok: umzug-worker/umzug@") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz: %d %q", code, body)
		}
	}
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)
	seedBytes, seedFiles := scrape(t, addr, "umzug_copy_bytes_total", move), scrape(t, addr, "umzug_copy_files_total", move)
	if seedBytes <= 0 || seedFiles <= 0 {
		t.Fatalf("after the seed copy: %v bytes, %v files counted", seedBytes, seedFiles)
	}
	if n := scrape(t, addr, "umzug_moves_awaiting_approval"); n != 1 {
		t.Fatalf("moves awaiting approval: %v, want 1", n)
	}
	added := bytes.Repeat([]byte("new data for the final sync\n"), 1<<15)
	if err := os.WriteFile(filepath.Join(env.SourceData(), "added-after-seed.bin"), added, 0o644); err != nil {
		t.Fatal(err)
	}
	approveAndCommit(t, e, financeID, "c.yilmaz")
	checkCommitted(t, e, financeID)
	finalBytes, finalFiles := scrape(t, addr, "umzug_copy_bytes_total", move), scrape(t, addr, "umzug_copy_files_total", move)
	if finalBytes < seedBytes+float64(len(added)) || finalFiles < seedFiles+1 {
		t.Fatalf("copy counters did not grow by the final sync: bytes %v → %v (added %d), files %v → %v",
			seedBytes, finalBytes, len(added), seedFiles, finalFiles)
	}
	for name, filters := range map[string][]string{
		"umzug_moves_awaiting_approval":                     nil,
		"umzug_commands_total":                              {`queue="umzug"`},
		"umzug_phase_duration_seconds_count":                {`phase="awaiting_approval"`},
		"temporal_activity_execution_latency_seconds_count": {`activity_type="CopyTree"`},
	} {
		v := scrape(t, addr, name, filters...)
		if name == "umzug_moves_awaiting_approval" {
			if v != 0 {
				t.Errorf("%s after commit: %v, want 0", name, v)
			}
		} else if v <= 0 {
			t.Errorf("%s%v: %v, want > 0", name, filters, v)
		}
	}
}
