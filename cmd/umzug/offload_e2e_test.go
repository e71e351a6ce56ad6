package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/examples"
	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/workflows"
)

// offloadRig runs examples/print-center.hcl on the two demo sites with
// the Temporal server and the worker as processes of their own, so a
// test can kill either with SIGKILL at any point and start it again on
// the same database.
type offloadRig struct {
	t         *testing.T
	dir, db   string
	port      int
	plan      string
	vars      []string
	owl, akdb string
	split     bool   // server and worker in separate processes
	pause     string // where the worker's test hook marks its pauses
	server    *exec.Cmd
	worker    *exec.Cmd
	c         client.Client
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startOffloadRig(t *testing.T, split bool) *offloadRig {
	t.Helper()
	dir := t.TempDir()
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(dir, "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	r := &offloadRig{t: t, dir: dir, db: filepath.Join(dir, "dev.db"), port: freePort(t), split: split,
		plan: filepath.Join(env.Dir, "print-center.hcl"), owl: filepath.Join(env.Dir, "owl"), akdb: filepath.Join(env.Dir, "akdb")}
	// Intake waits a second per job, so a kill can land in the middle.
	planText := strings.ReplaceAll(string(examples.PrintCenter), `run = "mkdir -p`, `run = "sleep 1 && mkdir -p`)
	if err := os.WriteFile(r.plan, []byte(planText), 0o644); err != nil {
		t.Fatal(err)
	}
	r.vars = []string{"--var", "demo_dir=" + env.Dir, "--var", "owl_address=" + env.Paderborn.Server.Addr(),
		"--var", "akdb_address=" + env.Lemgo.Server.Addr(), "--var", "accept_within=10m"}
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0o700)
	t.Setenv("TEMPORAL_ADDRESS", fmt.Sprintf("127.0.0.1:%d", r.port))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(dir, "none.toml"))
	t.Setenv("HOME", home)
	r.startServer()
	if split {
		r.startWorker()
	}
	c, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", r.port), Namespace: "default", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	t.Cleanup(func() {
		c.Close()
		r.kill(r.worker)
		r.kill(r.server)
	})
	return r
}

// proc starts this test binary as `umzug args…` and waits for want in
// its log.
func (r *offloadRig) proc(name, want string, args ...string) *exec.Cmd {
	r.t.Helper()
	logPath := filepath.Join(r.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	start, _ := f.Seek(0, 2)
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestUmzugHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "UMZUG_TEST_HELPER=1")
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	f.Close()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		if int64(len(b)) > start && bytes.Contains(b[start:], []byte(want)) {
			return cmd
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s did not start:\n%s", name, b[start:])
		}
	}
}

func (r *offloadRig) startServer() {
	args := []string{"dev", "--db", r.db, "--headless", "--port", strconv.Itoa(r.port)}
	if r.split {
		args = append(args, "--no-worker")
	}
	r.server = r.proc("dev", "Temporal server: ", args...)
}

func (r *offloadRig) startWorker() {
	r.worker = r.proc("worker", "worker umzug-worker/umzug@", "worker")
}

func (r *offloadRig) kill(c *exec.Cmd) {
	if c != nil && c.Process != nil {
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
	}
}

// crash kills the worker (split) or the server with its worker, and
// starts it again.
func (r *offloadRig) crash(point string) {
	r.t.Logf("SIGKILL at %s", point)
	if r.split {
		r.kill(r.worker)
		r.startWorker()
		return
	}
	r.kill(r.server)
	r.startServer()
}

func (r *offloadRig) args(cmd ...string) []string { return append(append(cmd, r.plan), r.vars...) }

// status asks until an answer comes (the worker may be starting).
func (r *offloadRig) status(id string) workflows.OffloadStatus {
	r.t.Helper()
	var st workflows.OffloadStatus
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := r.c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
		if err == nil {
			err = v.Get(&st)
		}
		cancel()
		if err == nil {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("status of %s: %v", id, err)
		}
	}
}

func (r *offloadRig) waitPhase(id string, phases ...string) workflows.OffloadStatus {
	r.t.Helper()
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		st := r.status(id)
		if slices.Contains(phases, st.Phase) {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s stays in phase %s (want %v): %s %s", id, st.Phase, phases, st.Outcome, st.Error)
		}
	}
}

func (r *offloadRig) start(app, who string, extra ...string) string {
	r.t.Helper()
	code, out, errOut := cli(r.t, r.args(append([]string{"offload", "--app", app, "--set", "peak", "--as", who}, extra...)...)...)
	if code != 0 {
		r.t.Fatalf("offload --app %s: exit %d: %s%s", app, code, out, errOut)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(out, "offload "), " ")
	return id
}

func lines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// writeOwlJobs puts n print jobs into OWL-IT's queue.
func writeOwlJobs(t *testing.T, owl string, n int) []string {
	var ids []string
	for i := range n {
		id := fmt.Sprintf("spool/city%d/job-%03d.pdf", i%2, i)
		writeFile(t, filepath.Join(owl, "srv/print", id), strings.Repeat(fmt.Sprintf("ballot %d\n", i), 100+i))
		ids = append(ids, id)
	}
	writeFile(t, filepath.Join(owl, "srv/print/forms/letterhead.ps"), "not a job\n")
	return ids
}

// checkProducedOnce: each job in the partner's intake log exactly once,
// none left in the home queue, each archived at home with its record.
func checkProducedOnce(t *testing.T, st workflows.OffloadStatus, ids []string, queueRoot, intakeLog, acceptor string) {
	t.Helper()
	log := lines(t, intakeLog)
	for _, id := range ids {
		if n := strings.Count("\n"+strings.Join(log, "\n")+"\n", "\n"+id+"\n"); n != 1 {
			t.Errorf("job %s is %d times in the partner's intake log %v", id, n, log)
		}
		if _, err := os.Stat(filepath.Join(queueRoot, id)); !os.IsNotExist(err) {
			t.Errorf("job %s is still in the home queue (%v)", id, err)
		}
		if _, err := os.Stat(filepath.Join(queueRoot, contract.OffloadArea, st.Key, "archive", id)); err != nil {
			t.Errorf("job %s not archived: %v", id, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(queueRoot, contract.OffloadArea, st.Key, "record.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec workflows.OffloadRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Jobs) != len(ids) || !slices.Equal(rec.AcceptedBy, []string{acceptor}) {
		t.Fatalf("record: %s", b)
	}
	for _, j := range rec.Jobs {
		if j.Produced == nil || j.TakenIn == nil || len(j.SHA256) != 64 {
			t.Errorf("record of %s: %+v", j.ID, j)
		}
	}
}

// jobsIn lists the print jobs (spool/*/*.pdf) under dir.
func jobsIn(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "spool/*/*.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i], _ = filepath.Rel(dir, m[i])
	}
	return m
}

// waitPaused waits until the worker's test hook paused at point (see
// activities/testpause.go).
func (r *offloadRig) waitPaused(point string) {
	r.t.Helper()
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(r.pause, point+".paused")); err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the offload did not pause at %s", point)
		}
	}
}

// offloadArea is the offload's area in OWL-IT's queue.
func (r *offloadRig) offloadArea(key string) string {
	return filepath.Join(r.owl, "srv/print", contract.OffloadArea, key)
}

// Two offloads in opposite directions at once: OWL-IT's refused by AKDB
// (every job back in OWL-IT's queue, nothing taken in), AKDB's accepted
// by OWL-IT and produced there exactly once.
func TestOffloadBothDirectionsOneRefused(t *testing.T) {
	r := startOffloadRig(t, false)
	owlIDs := writeOwlJobs(t, r.owl, 4)
	var akdbIDs []string
	for i := range 3 {
		id := fmt.Sprintf("spool/munich/notice-%d.pdf", i)
		writeFile(t, filepath.Join(r.akdb, "srv/akdb-print", id), fmt.Sprintf("tax notice %d\n", i))
		akdbIDs = append(akdbIDs, id)
	}
	toAKDB := r.start("print", "k.meier")
	toOWL := r.start("print_akdb", "m.huber")
	r.waitPhase(toAKDB, workflows.OffloadAwaiting)
	r.waitPhase(toOWL, workflows.OffloadAwaiting)
	// Only the people the block names accept.
	if code, _, errOut := cli(t, "offload", "accept", toOWL, "--as", "x.nobody"); code != 1 || !strings.Contains(errOut, "not an accept approver") {
		t.Fatalf("accept by a stranger: exit %d, %q", code, errOut)
	}
	if code, _, errOut := cli(t, "offload", "refuse", toAKDB, "--as", "j.bauer", "--reason", "no capacity"); code != 0 {
		t.Fatalf("refuse: exit %d: %s", code, errOut)
	}
	if code, _, errOut := cli(t, "offload", "accept", toOWL, "--as", "s.wolf"); code != 0 {
		t.Fatalf("accept: exit %d: %s", code, errOut)
	}
	refused := r.waitPhase(toAKDB, workflows.OffloadReleased, workflows.OffloadFailed, workflows.OffloadDone)
	if refused.Phase != workflows.OffloadReleased || !strings.Contains(refused.Outcome, "refused by j.bauer") {
		t.Fatalf("refused hand-over: %s: %s", refused.Phase, refused.Outcome)
	}
	for _, id := range owlIDs {
		if _, err := os.Stat(filepath.Join(r.owl, "srv/print", id)); err != nil {
			t.Errorf("refused job %s not back in OWL-IT's queue: %v", id, err)
		}
	}
	if l := lines(t, filepath.Join(r.akdb, "srv/partner-queue/intake.log")); len(l) != 0 {
		t.Errorf("AKDB took jobs of a refused hand-over in: %v", l)
	}
	if _, err := os.Stat(filepath.Join(r.akdb, "srv/offload-in/owl", refused.Key)); !os.IsNotExist(err) {
		t.Errorf("the refused jobs' copy at AKDB was not removed: %v", err)
	}
	r.waitPhase(toOWL, workflows.OffloadProducing)
	writeFile(t, filepath.Join(r.owl, "srv/partner-queue/produced.log"), strings.Join(akdbIDs, "\n")+"\n")
	st := r.waitPhase(toOWL, workflows.OffloadDone, workflows.OffloadFailed)
	if st.Phase != workflows.OffloadDone {
		t.Fatalf("AKDB → OWL-IT: %s: %s %s", st.Phase, st.Outcome, st.Error)
	}
	checkProducedOnce(t, st, akdbIDs, filepath.Join(r.akdb, "srv/akdb-print"), filepath.Join(r.owl, "srv/partner-queue/intake.log"), "s.wolf")
	// `umzug status` without an ID lists both with their phase.
	want := map[string]string{toAKDB: workflows.OffloadReleased, toOWL: workflows.OffloadDone}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		code, out, errOut := cli(t, "status")
		missing := ""
		for id, phase := range want {
			if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
				f := strings.Fields(l)
				return len(f) >= 3 && f[0] == id && f[2] == phase
			}) {
				missing = id + " " + phase
			}
		}
		if code == 0 && missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status lists no %s: exit %d\n%s%s", missing, code, out, errOut)
		}
	}
}
