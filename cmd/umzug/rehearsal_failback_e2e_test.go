package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// rehearsalPlan writes the demo's finance plan with a rehearsal and a
// failback block: a step "announce" that rehearses, a step "mark_real"
// that does not, the health check kept out of rehearsals and a check
// "marked" that runs in them. Steps and checks append their name to
// marks.log in the demo directory. It returns the plan arguments.
func rehearsalPlan(t *testing.T, e *e2e, requiredWithin string) []string {
	t.Helper()
	b, err := os.ReadFile(e.env.PlanFile)
	if err != nil {
		t.Fatal(err)
	}
	marks := filepath.Join(e.env.Dir, "marks.log")
	mark := func(s string) string { return "echo " + s + " >> " + marks }
	s := string(b)
	for _, r := range []struct{ old, new string }{
		{`    parallel {`, `    step "announce" {
      on       = "source"
      run      = "` + mark("announce") + `"
      undo     = "` + mark("unannounce") + `"
      rehearse = true
    }
    parallel {`},
		{`    check "health" {`, `    step "mark_real" {
      on   = "target"
      run  = "` + mark("real") + `"
      undo = "` + mark("unreal") + `"
    }
    check "marked" {
      on  = "target"
      run = "` + mark("check") + `"
    }
    check "health" {
      rehearse = false`},
		{"  soak = \"10m\"\n}", `  rehearsal {
    root = "${var.demo_dir}/scratch"` + requiredWithin + `
  }
  failback {
    from_undo = true
  }
  soak = "10m"
}`},
	} {
		if !strings.Contains(s, r.old) {
			t.Fatalf("finance plan lacks %q", r.old)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	path := filepath.Join(t.TempDir(), "finance.hcl")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(e.env.Dir, "scratch"), 0o755); err != nil {
		t.Fatal(err)
	}
	args := e.planArgs()
	args[0] = path
	return args
}

func readMarks(t *testing.T, e *e2e) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.env.Dir, "marks.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// rehearse runs a rehearsal of finance to its end and returns its ID.
func rehearse(t *testing.T, args []string) string {
	t.Helper()
	code, out, _ := cli(t, append([]string{"run", "--rehearsal", "--app", "finance", "--as", "a.meier", "--wait"}, args...)...)
	if code != 0 || !strings.Contains(out, "rehearsal finance ended: committed") {
		t.Fatalf("rehearsal: exit %d, %q", code, out)
	}
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, workflows.RehearsalIDPrefix("finance", "finance")) {
			return f
		}
	}
	t.Fatalf("no rehearsal ID in %q", out)
	return ""
}

// A rehearsal copies into the scratch root, runs only the steps that may
// rehearse and the checks, measures every phase and step, and removes
// everything it wrote; the real source and target are left as they were.
func TestRehearsalLeavesNoTraceAndRecordsDurations(t *testing.T) {
	e := startE2E(t)
	args := rehearsalPlan(t, e, "")
	before := filepath.Join(t.TempDir(), "before")
	if out, err := exec.Command("cp", "-a", e.env.SourceData(), before).CombinedOutput(); err != nil {
		t.Fatalf("snapshot source: %v %s", err, out)
	}
	id := rehearse(t, args)

	st := e.result(t, id)
	r := st.Rehearsal
	if st.Mode != workflows.ModeRehearsal || r == nil || !r.Succeeded || !r.CleanedUp {
		t.Fatalf("rehearsal %s: mode %q, record %+v, error %q", id, st.Mode, r, st.Error)
	}
	for _, want := range [][2]string{{"phase", "seed"}, {"phase", "cutover"}, {"seed", "ledger"},
		{"step", "announce"}, {"final_sync", "ledger"}, {"check", "marked"}} {
		if d, ok := r.Of(want[0], want[1]); !ok || d <= 0 {
			t.Errorf("rehearsal record lacks a measured %s %s (%v): %+v", want[0], want[1], d, r.Durations)
		}
	}
	for _, absent := range [][2]string{{"step", "stop_app"}, {"step", "start_app"}, {"step", "mark_real"}, {"check", "health"}} {
		if _, ok := r.Of(absent[0], absent[1]); ok {
			t.Errorf("%s %s ran in the rehearsal", absent[0], absent[1])
		}
	}
	if got := strings.Join(readMarks(t, e), " "); got != "announce check" {
		t.Errorf("marks after the rehearsal: %q, want \"announce check\" (no step without rehearse = true)", got)
	}
	scratch := filepath.Join(e.env.Dir, "scratch")
	if left, err := os.ReadDir(scratch); err != nil || len(left) > 0 {
		t.Fatalf("scratch root after the rehearsal: %v entries, err %v", left, err)
	}
	if _, err := treecmp.Equal(before, e.env.SourceData(), treecmp.Options{}); err != nil {
		t.Fatalf("the rehearsal changed the real source: %v", err)
	}
	if _, err := os.Stat(e.env.TargetData()); !os.IsNotExist(err) {
		t.Fatalf("the rehearsal wrote to the real target path: %v", err)
	}
	// The copy did go to the scratch root: its manifest path says so.
	if len(st.Copies) == 0 || !strings.HasPrefix(st.Copies[0].ManifestPath, scratch+"/") || st.Copies[0].CopiedFiles == 0 {
		t.Fatalf("rehearsal copies: %+v", st.Copies)
	}
	code, out, _ := cli(t, "status", id)
	if code != 0 || !strings.Contains(out, "rehearsal   succeeded; cleanup: removed") || !strings.Contains(out, "measured    step announce:") {
		t.Fatalf("status of the rehearsal: exit %d %q", code, out)
	}
	dir := t.TempDir()
	if code, _, _ := cli(t, "audit", id, "--out", dir, "--no-fetch"); code != 0 {
		t.Fatalf("audit of the rehearsal: exit %d", code)
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(report), "## Rehearsal") || !strings.Contains(string(report), "| step | announce |") {
		t.Fatalf("audit report lacks the rehearsal record:\n%s", report)
	}
}

// With required_within, approvals of the real move are refused, and the
// refusal recorded, until a rehearsal succeeds; the rehearsal tells the
// waiting move, whose window prediction then uses the measured durations.
func TestApprovalsNeedARecentRehearsal(t *testing.T) {
	e := startE2E(t)
	args := rehearsalPlan(t, e, "\n    required_within = \"30d\"")
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, args...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	e.waitPhase(t, financeID, workflows.PhaseAwaitingApproval)
	code, _, errOut := cli(t, "approve", financeID, "--as", "b.schulz")
	if code != 1 || !strings.Contains(errOut, "requires a successful rehearsal within 720h") || !strings.Contains(errOut, "--rehearsal --app finance") {
		t.Fatalf("approval without rehearsal: exit %d, stderr %q", code, errOut)
	}
	if st := e.status(t, financeID); len(st.Signals) != 1 || st.Signals[0].Accepted || !strings.Contains(st.Signals[0].Reason, "rehearsal") {
		t.Fatalf("the refusal is not recorded: %+v", st.Signals)
	}
	id := rehearse(t, args)
	rec := e.result(t, id).Rehearsal
	deadline := time.Now().Add(time.Minute)
	for e.status(t, financeID).Rehearsed == nil {
		if time.Now().After(deadline) {
			t.Fatal("the waiting move never learned of the rehearsal")
		}
		time.Sleep(200 * time.Millisecond)
	}
	approveTwice(t, financeID)
	st := e.waitPhase(t, financeID, workflows.PhaseSoak)
	if st.Rehearsed == nil || st.Rehearsed.ID != id {
		t.Fatalf("move vouched by %+v, want %s", st.Rehearsed, id)
	}
	// stop = announce as measured + stop_app's 2m timeout; without the
	// rehearsal announce would count the default minute.
	announce, ok1 := rec.Of("step", "announce")
	marked, ok2 := rec.Of("check", "marked")
	if !ok1 || !ok2 {
		t.Fatalf("rehearsal record lacks announce or marked: %+v", rec.Durations)
	}
	if want := "(stop " + shortDur(2*time.Minute+announce) + ", "; !strings.Contains(st.WindowNote, want) ||
		!strings.Contains(st.WindowNote, "as measured in rehearsal "+id) {
		t.Fatalf("window note %q does not use the rehearsal's durations (want %q)", st.WindowNote, want)
	}
	// `umzug plan` finds the rehearsal and predicts from it: announce and
	// marked as measured, the stop group (stop_app, stop_db) 2m, start_db,
	// start_app, switch_dns and mark_real 1m each, health 6 attempts of
	// 1m and 5 intervals of 2s.
	want := (12*time.Minute + 10*time.Second + announce + marked).Round(time.Second).String()
	code, out, _ := cli(t, append([]string{"plan"}, args...)...)
	if code != 0 || !strings.Contains(out, "rehearsed: "+id) || !strings.Contains(out, "steps and checks predicted "+want) ||
		!strings.Contains(out, "measured step announce:") {
		t.Fatalf("plan after a rehearsal: exit %d, want prediction %s: %q", code, want, out)
	}
}

// shortDur prints a duration as the window note does ("2m", "2m1s").
func shortDur(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

// A failback copies back only what changed at the partner, runs the
// undo commands in reverse order around the final sync, needs the
// cutover's approvals, and the audits of both moves name each other.
func TestFailbackCopiesBackOnlyTheChanges(t *testing.T) {
	e := startE2E(t)
	args := rehearsalPlan(t, e, "")
	if code, _, _ := cli(t, append([]string{"run", "--as", "a.meier"}, args...)...); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	approveAndCommit(t, e, financeID, "c.yilmaz")
	checkCommitted(t, e, financeID)
	fid := workflows.FailbackID(financeID)
	// A failback of a move that is not committed is refused.
	if code, _, errOut := cli(t, "failback", "umzug/finance/none", "--as", "a.meier"); code != 1 || !strings.Contains(errOut, "no move umzug/finance/none") {
		t.Fatalf("failback of an unknown move: exit %d %q", code, errOut)
	}

	partner := e.env.TargetData()
	changed := changePartner(t, partner)
	if code, out, _ := cli(t, "failback", financeID, "--as", "a.meier"); code != 0 || !strings.Contains(out, fid) {
		t.Fatalf("failback: exit %d %q", code, out)
	}
	e.waitPhase(t, fid, workflows.PhaseAwaitingApproval)
	if code, _, errOut := cli(t, "approve", fid, "--as", "a.meier"); code != 1 || !strings.Contains(errOut, "four-eyes") {
		t.Fatalf("starter approves own failback: exit %d %q", code, errOut)
	}
	approveAndCommit(t, e, fid, "c.yilmaz")
	st := e.result(t, fid)
	if st.Phase != workflows.PhaseCommitted || st.FailbackOf != financeID || st.Source != "fin_lg" || st.Target != "fin_pb" {
		t.Fatalf("failback: phase %s, of %q, %s → %s, error %q", st.Phase, st.FailbackOf, st.Source, st.Target, st.Error)
	}
	var copied, deleted int64
	for _, c := range st.Copies {
		copied += c.CopiedFiles
		deleted += c.Deleted
	}
	if copied != int64(changed) || deleted != 1 {
		t.Fatalf("failback copied %d files and deleted %d, want only the %d changed and 1 deleted: %+v", copied, deleted, changed, st.Copies)
	}
	if st.Copies[0].Files < 100 {
		t.Fatalf("tree of %d files is too small to show that unchanged files stayed", st.Copies[0].Files)
	}
	if _, err := treecmp.Equal(partner, e.env.SourceData(), treecmp.Options{Skip: e.env.Excluded}); err != nil {
		t.Fatalf("source after failback differs from the partner: %v", err)
	}
	var ran []string
	for _, s := range st.Steps {
		ran = append(ran, s.Kind+" "+s.Name+"@"+s.Host)
	}
	// Reverse order; the copy sets' final syncs run at once (each back to
	// its own source host) and the stop group's undos too, so within each
	// the order is free.
	if len(ran) == 10 {
		slices.Sort(ran[4:7])
		slices.Sort(ran[7:9])
	}
	want := "step undo_mark_real@fin_lg step undo_switch_dns@dns_lg step undo_start_app@fin_lg step undo_start_db@db_lg " +
		"final_sync ledger@fin_pb final_sync pgdata@db_pb final_sync share@files_pb step undo_stop_app@fin_pb step undo_stop_db@db_pb step undo_announce@fin_pb"
	if strings.Join(ran, " ") != want {
		t.Fatalf("failback steps:\n got %s\nwant %s", strings.Join(ran, " "), want)
	}
	if readState(t, e.env.Paderborn) != "running" || readState(t, e.env.Lemgo) != "stopped" {
		t.Fatalf("after failback: source %s, partner %s", readState(t, e.env.Paderborn), readState(t, e.env.Lemgo))
	}
	checkAuditLinks(t, fid)
	// The original is committed and failed back; failing back the failback
	// is possible, failing back the original again is not (already started).
	if code, out, _ := cli(t, "failback", financeID, "--as", "a.meier"); code != 0 || !strings.Contains(out, "already started") {
		t.Fatalf("second failback: exit %d %q", code, out)
	}
}

// changePartner changes two files, adds one and deletes one in the
// partner's tree and returns how many files a copy back must transfer.
func changePartner(t *testing.T, root string) int {
	t.Helper()
	var files []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 10 {
		t.Fatalf("partner has %d files", len(files))
	}
	for _, p := range files[:2] {
		if err := os.WriteFile(p, []byte("changed at the partner\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "new-at-partner.txt"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(files[5]); err != nil {
		t.Fatal(err)
	}
	return 3
}

// checkAuditLinks: the failback's audit names the original move, the
// original's names the failback.
func checkAuditLinks(t *testing.T, fid string) {
	t.Helper()
	for id, want := range map[string]string{fid: "| Failback of | " + financeID + " |", financeID: "| Failed back by | " + fid + " |"} {
		dir := t.TempDir()
		if code, _, _ := cli(t, "audit", id, "--out", dir, "--no-fetch"); code != 0 {
			t.Fatalf("audit %s: exit %d", id, code)
		}
		report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
		if !strings.Contains(string(report), want) {
			t.Fatalf("audit of %s lacks %q:\n%s", id, want, report)
		}
	}
	if code, out, _ := cli(t, "status", financeID); code != 0 || !strings.Contains(out, "failed back by "+fid) {
		t.Fatalf("status of the original: exit %d %q", code, out)
	}
}
