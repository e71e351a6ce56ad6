//go:build chaos

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

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

// TestChaosOffloadWorkerKilledAtEachPoint and
// TestChaosOffloadServerKilledAtEachPoint take about 150 s each, so they
// run in the chaos lane (`go test -tags chaos -run TestChaos ./cmd/umzug`)
// beside the other kill tests, not in the default lane.
func TestChaosOffloadWorkerKilledAtEachPoint(t *testing.T) { runKilledOffload(t, true) }

func TestChaosOffloadServerKilledAtEachPoint(t *testing.T) { runKilledOffload(t, false) }
