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

// runKilledOffload hands six OWL-IT jobs to AKDB and kills the process
// at each numbered point of an offload: (1) in the claim with two jobs
// claimed and four still queued, (2) in the copy to the partner, (3)
// while waiting for the acceptance, (4) in the middle of intake, while
// the partner produces and while the results return, (5) in the
// archive with two jobs archived and four still claimed. The test hook
// UMZUG_TEST_OFFLOAD_PAUSE holds the worker at (1), (2) and (5) until
// the kill.
func runKilledOffload(t *testing.T, split bool) {
	pause := t.TempDir()
	t.Setenv("UMZUG_TEST_OFFLOAD_PAUSE", "claim:2,copy,archive:2")
	t.Setenv("UMZUG_TEST_OFFLOAD_PAUSE_DIR", pause)
	r := startOffloadRig(t, split)
	r.pause = pause
	ids := writeOwlJobs(t, r.owl, 6)
	queue := filepath.Join(r.owl, "srv/print")
	id := r.start("print", "k.meier")
	r.waitPaused("claim")
	key := r.status(id).Key
	if c, q := jobsIn(t, filepath.Join(r.offloadArea(key), "claimed")), jobsIn(t, queue); len(c) != 2 || len(q) != 4 {
		t.Fatalf("paused in the claim with claimed %v and queued %v, want 2 and 4", c, q)
	}
	r.crash("1: claim, 2 of 6 jobs claimed")
	r.waitPaused("copy")
	if st := r.status(id); st.Phase != workflows.OffloadCopying {
		t.Fatalf("paused in the copy in phase %s", st.Phase)
	}
	if c, q := jobsIn(t, filepath.Join(r.offloadArea(key), "claimed")), jobsIn(t, queue); len(c) != 6 || len(q) != 0 {
		t.Fatalf("copying with claimed %v and queued %v, want 6 and 0", c, q)
	}
	r.crash("2: copy to the partner")
	r.waitPhase(id, workflows.OffloadAwaiting)
	r.crash("3: awaiting acceptance")
	r.waitPhase(id, workflows.OffloadAwaiting)
	if code, _, errOut := cli(t, "offload", "accept", id, "--as", "m.huber", "--reason", "shift B has room"); code != 0 {
		t.Fatalf("accept: exit %d: %s", code, errOut)
	}
	intakeLog := filepath.Join(r.akdb, "srv/partner-queue/intake.log")
	for deadline := time.Now().Add(3 * time.Minute); len(lines(t, intakeLog)) < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("intake did not start")
		}
	}
	if n := len(lines(t, intakeLog)); n >= len(ids) {
		t.Fatalf("intake of all %d jobs ended before the kill", n)
	}
	r.crash("4: in the middle of intake")
	prod := r.waitPhase(id, workflows.OffloadProducing)
	r.crash("4: while the partner produces")
	// A large production log makes the copy back take a while, so the
	// next kill lands while the results return.
	big := filepath.Join(r.akdb, "srv/offload-out/owl", prod.Key, "production.log")
	writeFile(t, big, strings.Repeat("page printed, sealed, handed to the post\n", 3<<20))
	// AKDB's staff print the jobs.
	writeFile(t, filepath.Join(r.akdb, "srv/partner-queue/produced.log"), strings.Join(ids, "\n")+"\n")
	if st := r.waitPhase(id, workflows.OffloadReturning, workflows.OffloadArchiving); st.Phase == workflows.OffloadReturning {
		r.crash("4: while the results return")
	} else {
		t.Log("the copy back ended before the kill; it is checked without one")
	}
	r.waitPaused("archive")
	if a, c := jobsIn(t, filepath.Join(r.offloadArea(key), "archive")), jobsIn(t, filepath.Join(r.offloadArea(key), "claimed")); len(a) != 2 || len(c) != 4 {
		t.Fatalf("paused in the archive with archived %v and claimed %v, want 2 and 4", a, c)
	}
	r.crash("5: archive, 2 of 6 jobs archived")
	st := r.waitPhase(id, workflows.OffloadDone, workflows.OffloadFailed, workflows.OffloadCancelled)
	if st.Phase != workflows.OffloadDone {
		t.Fatalf("phase %s: %s %s", st.Phase, st.Outcome, st.Error)
	}
	checkProducedOnce(t, st, ids, queue, intakeLog, "m.huber")
	if c := jobsIn(t, filepath.Join(r.offloadArea(key), "claimed")); len(c) != 0 {
		t.Errorf("jobs left claimed after the archive: %v", c)
	}
	if l := lines(t, intakeLog); len(l) != len(ids) {
		t.Errorf("the partner's intake log has %d lines for %d jobs: %v", len(l), len(ids), l)
	}
	if fi, err := os.Stat(filepath.Join(r.owl, "srv/offload-results/akdb", st.Key, "production.log")); err != nil || fi.Size() != int64(len("page printed, sealed, handed to the post\n"))*3<<20 {
		t.Errorf("production log not copied back whole: %v", err)
	}
	conf := lines(t, filepath.Join(r.owl, "srv/offload-results/akdb", st.Key, "confirmations.txt"))
	if c := st.Counts(); c.Produced != 6 || c.Returned != 6 || len(conf) == 0 {
		t.Fatalf("counts %+v, confirmations %v", c, conf)
	}
	code, out, _ := cli(t, "status", id)
	if code != 0 || !strings.Contains(out, "6 claimed, 6 accepted, 6 taken in, 6 produced, 6 returned") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
}

func TestOffloadWorkerKilledAtEachPoint(t *testing.T) { runKilledOffload(t, true) }

func TestOffloadServerKilledAtEachPoint(t *testing.T) { runKilledOffload(t, false) }

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
