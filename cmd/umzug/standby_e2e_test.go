package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/examples"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

const (
	printRecord   = "umzug/print-center/print/standby/record"
	printSchedule = "umzug/print-center/print/standby"
)

// printCenter is the e2e harness with examples/print-center.hcl pointed at
// the two demo sites (OWL-IT served by the Paderborn server, AKDB by Lemgo) and a
// print spool on the source.
type printCenter struct {
	*e2e
	plan     string
	vars     []string
	src, dst string
	// owl and akdb are the sites' roots in the plan (local.owl, local.akdb).
	owl, akdb string
}

func startPrintCenter(t *testing.T, interval, confirmWithin string) *printCenter {
	t.Helper()
	e := startE2E(t)
	owl, akdb := filepath.Join(e.env.Dir, "owl"), filepath.Join(e.env.Dir, "akdb")
	pc := &printCenter{e2e: e, plan: filepath.Join(e.env.Dir, "print-center.hcl"),
		src: filepath.Join(owl, "srv/print/spool"), dst: filepath.Join(akdb, "srv/print/spool"),
		owl: owl, akdb: akdb}
	if err := os.WriteFile(pc.plan, examples.PrintCenter, 0o644); err != nil {
		t.Fatal(err)
	}
	pc.vars = []string{"--var", "demo_dir=" + e.env.Dir,
		"--var", "owl_address=" + e.env.Paderborn.Server.Addr(), "--var", "akdb_address=" + e.env.Lemgo.Server.Addr(),
		"--var", "standby_interval=" + interval, "--var", "confirm_within=" + confirmWithin}
	for i := range 40 {
		writeFile(t, filepath.Join(pc.src, fmt.Sprintf("jobs/%02d/job-%03d.ps", i%4, i)), strings.Repeat(fmt.Sprintf("job %d\n", i), 200+i*50))
	}
	writeFile(t, filepath.Join(pc.src, "forms/invoice.tmpl"), "INVOICE v1\n")
	if err := os.MkdirAll(filepath.Dir(pc.dst), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(owl, "run/print.state"), "running\n")
	return pc
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// args is a command on the print-center plan with its variables.
func (pc *printCenter) args(cmd ...string) []string {
	return append(append(cmd, pc.plan), pc.vars...)
}

func (pc *printCenter) standby(t *testing.T) workflows.StandbyStatus {
	t.Helper()
	return statusOf[workflows.StandbyStatus](t, pc.c, printRecord)
}

// waitVerifiedAfter waits for a verified sync that started after t0.
func (pc *printCenter) waitVerifiedAfter(t *testing.T, t0 time.Time, within time.Duration) workflows.StandbyStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := pc.standby(t)
		if v := st.LastVerified; v != nil && v.Started.After(t0) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verified sync started after %s within %s: %+v", t0.Format(time.RFC3339Nano), within, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (pc *printCenter) startStandby(t *testing.T) workflows.StandbyStatus {
	t.Helper()
	t0 := time.Now()
	if code, out, _ := cli(t, pc.args("standby", "start", "--app", "print", "--as", "k.meier")...); code != 0 || !strings.Contains(out, printRecord) {
		t.Fatalf("standby start: exit %d %q", code, out)
	}
	st := pc.waitVerifiedAfter(t, t0.Add(-time.Second), 2*time.Minute)
	if _, err := treecmp.Equal(pc.src, pc.dst, treecmp.Options{}); err != nil {
		t.Fatalf("after the first sync: %v", err)
	}
	return st
}

// TestStandbyKeepsPartnerWithinInterval: a change on the source reaches
// the partner within one interval (plus slack for the copy), the status
// lag stays within the interval, and a pause is recorded and stops syncs.
func TestStandbyKeepsPartnerWithinInterval(t *testing.T) {
	const interval = 3 * time.Second
	const slack = 12 * time.Second // a sync's own duration under a loaded machine
	pc := startPrintCenter(t, interval.String(), "2h")
	pc.startStandby(t)

	writeFile(t, filepath.Join(pc.src, "jobs/00/job-000.ps"), "reprinted\n")
	writeFile(t, filepath.Join(pc.src, "jobs/new/urgent.ps"), "urgent job\n")
	if err := os.Remove(filepath.Join(pc.src, "jobs/01/job-001.ps")); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	for {
		if _, err := treecmp.Equal(pc.src, pc.dst, treecmp.Options{}); err == nil {
			break
		} else if time.Since(changed) > interval+slack {
			t.Fatalf("partner not equal to the source %s after the change: %v", time.Since(changed), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("partner equal %s after the change (interval %s)", time.Since(changed).Round(time.Millisecond), interval)
	st := pc.waitVerifiedAfter(t, changed, interval+slack)
	if lag := time.Since(st.LastVerified.Finished); lag > interval+slack {
		t.Fatalf("lag %s after a verified sync", lag)
	}
	code, out, _ := cli(t, "status", printSchedule)
	if code != 0 || !strings.Contains(out, "lag ") || !strings.Contains(out, "within max lag") || !strings.Contains(out, "pending     0 B in 0 files") {
		t.Fatalf("status of the standby: exit %d\n%s", code, out)
	}

	if code, _, _ := cli(t, pc.args("standby", "pause", "--app", "print", "--as", "s.wolf", "--reason", "AKDB maintenance")...); code != 0 {
		t.Fatalf("pause: exit %d", code)
	}
	// A sync already running when the pause came finishes; none starts after.
	for deadline := time.Now().Add(time.Minute); pc.standby(t).Running != ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sync running at the pause did not end")
		}
	}
	writeFile(t, filepath.Join(pc.src, "forms/invoice.tmpl"), "INVOICE v2\n")
	time.Sleep(3 * interval)
	if b, _ := os.ReadFile(filepath.Join(pc.dst, "forms/invoice.tmpl")); string(b) != "INVOICE v1\n" {
		t.Fatalf("a paused standby synced: partner has %q", b)
	}
	code, out, _ = cli(t, pc.args("standby", "status", "--app", "print")...)
	if code != 0 || !strings.Contains(out, "PAUSED      by s.wolf") || !strings.Contains(out, "AKDB maintenance") ||
		!strings.Contains(out, "pending     11 B in 1 files") {
		t.Fatalf("status while paused: exit %d\n%s", code, out)
	}
	resumed := time.Now()
	if code, _, _ := cli(t, pc.args("standby", "resume", "--app", "print", "--as", "k.meier", "--reason", "done")...); code != 0 {
		t.Fatalf("resume: exit %d", code)
	}
	pc.waitVerifiedAfter(t, resumed, interval+slack)
	if _, err := treecmp.Equal(pc.src, pc.dst, treecmp.Options{}); err != nil {
		t.Fatalf("after resume: %v", err)
	}
	var names []string
	for _, s := range pc.standby(t).Signals {
		names = append(names, fmt.Sprintf("%s by %s accepted=%t", s.Name, s.Identity, s.Accepted))
	}
	if got := strings.Join(names, "; "); got != "pause by s.wolf accepted=true; resume by k.meier accepted=true" {
		t.Fatalf("recorded decisions: %s", got)
	}

	// Refused and recorded: neither operator nor emergency approver.
	if code, _, errOut := cli(t, pc.args("standby", "pause", "--app", "print", "--as", "x.nobody")...); code != 1 ||
		!strings.Contains(errOut, "x.nobody may not pause the standby of print") {
		t.Fatalf("pause by x.nobody: exit %d %q", code, errOut)
	}
	if st := pc.standby(t); st.Paused || len(st.Signals) != 3 || st.Signals[2].Accepted || st.Signals[2].Identity != "x.nobody" {
		t.Fatalf("after the refused pause: paused %v, decisions %+v", st.Paused, st.Signals)
	}

	// Paused on the Web UI's Schedules page: status reads the schedule and
	// the record holds the pause, with the schedule's note, as a decision.
	ctx := context.Background()
	if err := pc.c.ScheduleClient().GetHandle(ctx, printSchedule).Pause(ctx, client.SchedulePauseOptions{Note: "paused in the UI by j.doe"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = cli(t, pc.args("standby", "status", "--app", "print")...)
	if code != 0 || !strings.Contains(out, "PAUSED      on the schedule") || !strings.Contains(out, `paused in the Web UI's Schedules page, note: "paused in the UI by j.doe"`) {
		t.Fatalf("status with the schedule paused in the UI: exit %d\n%s", code, out)
	}
	st = pc.standby(t)
	last := st.Signals[len(st.Signals)-1]
	if !st.Paused || st.PausedVia != workflows.ViaSchedule || last.Name != workflows.SignalPause || last.Via != workflows.ViaSchedule || !last.Accepted {
		t.Fatalf("the record did not take the schedule's pause: paused %v via %q, last decision %+v", st.Paused, st.PausedVia, last)
	}
	// Unpaused there again: the record follows.
	if err := pc.c.ScheduleClient().GetHandle(ctx, printSchedule).Unpause(ctx, client.ScheduleUnpauseOptions{Note: "done"}); err != nil {
		t.Fatal(err)
	}
	if code, out, _ = cli(t, "status", printSchedule); code != 0 || !strings.Contains(out, "paused      no") {
		t.Fatalf("status after the unpause in the UI: exit %d\n%s", code, out)
	}
}

// scheduleOf describes the standby's schedule.
func (pc *printCenter) scheduleOf(t *testing.T) (paused bool, note string) {
	t.Helper()
	d, err := pc.c.ScheduleClient().GetHandle(context.Background(), printSchedule).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d.Schedule.State.Paused, d.Schedule.State.Note
}

// TestStandbyRearmedAfterFailback: a failover pauses the schedule with a
// note; `standby start` is refused until the failback committed, status
// says what comes next, and after the commit `standby start` re-arms the
// standby in the original direction: recorded, schedule unpaused, syncing.
func TestStandbyRearmedAfterFailback(t *testing.T) {
	pc := startPrintCenter(t, "2s", "2h")
	pc.startStandby(t)
	id := pc.failover(t, "s.wolf", "peak load at OWL-IT")
	pc.result(t, id, workflows.PhaseCommitted)
	if paused, note := pc.scheduleOf(t); !paused || !strings.Contains(note, "failed over: "+id) {
		t.Fatalf("schedule after the failover: paused %v note %q", paused, note)
	}
	code, out, _ := cli(t, pc.args("standby", "status", "--app", "print")...)
	if code != 0 || !strings.Contains(out, "no failback yet: fail back with `umzug failback "+id) || strings.Contains(out, "BEHIND") {
		t.Fatalf("status after the failover: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, pc.args("standby", "start", "--app", "print", "--as", "k.meier")...); code != 1 || !strings.Contains(errOut, "stays stopped") {
		t.Fatalf("standby start before a failback: exit %d %q", code, errOut)
	}
	// The second emergency approver confirms: the failover ends and can
	// be failed back.
	if code, _, errOut := cli(t, "confirm", id, "--as", "a.huber"); code != 0 {
		t.Fatalf("confirm: exit %d %q", code, errOut)
	}
	pc.e2e.result(t, id)
	code, out, _ = cli(t, "failback", id, "--as", "k.meier")
	if code != 0 || !strings.Contains(out, "re-arm it in the original direction with: umzug standby start PLAN --app print") {
		t.Fatalf("failback: exit %d %q", code, out)
	}
	fb := workflows.FailbackID(id)
	pc.waitPhase(t, fb, workflows.PhaseAwaitingApproval)
	for _, who := range []string{"s.wolf", "a.huber"} {
		if code, _, errOut := cli(t, "approve", fb, "--as", who); code != 0 {
			t.Fatalf("approve %s as %s: exit %d %q", fb, who, code, errOut)
		}
	}
	pc.waitPhase(t, fb, workflows.PhaseSoak)
	if code, _, errOut := cli(t, "commit", fb, "--as", "s.wolf"); code != 0 {
		t.Fatalf("commit %s: exit %d %q", fb, code, errOut)
	}
	pc.waitPhase(t, fb, workflows.PhaseCommitted)
	code, out, _ = cli(t, "status", printSchedule)
	if code != 0 || !strings.Contains(out, "failback "+fb+" committed at") || !strings.Contains(out, "re-arm with: umzug standby start PLAN --app print --as USER") {
		t.Fatalf("status after the failback: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, pc.args("standby", "start", "--app", "print", "--as", "x.nobody")...); code != 1 || !strings.Contains(errOut, "x.nobody may not re-arm") {
		t.Fatalf("re-arm by x.nobody: exit %d %q", code, errOut)
	}
	rearmed := time.Now()
	code, out, _ = cli(t, pc.args("standby", "start", "--app", "print", "--as", "k.meier", "--reason", "OWL-IT back")...)
	if code != 0 || !strings.Contains(out, "re-armed after failback "+fb) {
		t.Fatalf("standby start after the failback: exit %d %q", code, out)
	}
	// The record unpauses the schedule by an activity after it answered.
	for end := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		paused, note := pc.scheduleOf(t)
		if !paused && strings.Contains(note, "re-armed after failback "+fb+" by k.meier") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("schedule a minute after the re-arm: paused %v note %q", paused, note)
		}
	}
	writeFile(t, filepath.Join(pc.src, "jobs/after-rearm.ps"), "printed at OWL-IT again\n")
	st := pc.waitVerifiedAfter(t, rearmed, 2*time.Minute)
	if st.FailedOver != "" || st.Paused || st.Rearmed == nil || st.Rearmed.Failover != id {
		t.Fatalf("record after the re-arm: %+v", st)
	}
	pc.waitVerifiedAfter(t, time.Now(), 2*time.Minute)
	if _, err := treecmp.Equal(pc.src, pc.dst, treecmp.Options{}); err != nil {
		t.Fatalf("after the re-arm: %v", err)
	}
	var got []string
	for _, s := range st.Signals {
		if s.Name == workflows.UpdateRearm {
			got = append(got, fmt.Sprintf("%s accepted=%t %s", s.Identity, s.Accepted, s.Comment))
		}
	}
	if len(got) != 3 || got[2] != "k.meier accepted=true re-armed after failback "+fb+" by k.meier: OWL-IT back" {
		t.Fatalf("re-arm decisions: %q", got)
	}
}
