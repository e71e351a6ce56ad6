//go:build interop

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// threeTier is the embedded stack plus four real OpenSSH daemons: one per
// tier (application server, database, file share), each serving that
// tier's old and new host from its own directories, and a name server.
type threeTier struct {
	dir, key, knownHosts string
	sshd                 []*realsshd.Server // app, db, fs, dns
	e                    *e2e
}

var tiers = []string{"app", "db", "fs"}

func startThreeTier(t *testing.T) *threeTier {
	t.Helper()
	if err := realsshd.Available(); err != nil {
		t.Fatal(err)
	}
	tt := &threeTier{dir: t.TempDir()}
	d := testkit.StartRealSSHD(t, tt.dir, realsshd.Options{}, realsshd.Options{}, realsshd.Options{}, realsshd.Options{})
	tt.key, tt.knownHosts, tt.sshd = d.Key, d.KnownHosts, d.Servers
	for _, tier := range tiers {
		makeTree(t, tt.data("pb", tier))
		if err := os.MkdirAll(filepath.Join(tt.dir, "lg", tier), 0o755); err != nil {
			t.Fatal(err)
		}
		writeState(t, tt.state("pb", tier), "running")
		writeState(t, tt.state("lg", tier), "stopped")
	}
	writeState(t, filepath.Join(tt.dir, "zone"), "pb")
	st, err := startStack(context.Background(), embeddedOptions{port: 0, noUI: true, identStateDir: filepath.Join(t.TempDir(), "identstate")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv("TEMPORAL_ADDRESS", st.server.Address())
	tt.e = &e2e{stack: st, c: st.client}
	return tt
}

func writeState(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (tt *threeTier) data(site, tier string) string { return filepath.Join(tt.dir, site, tier, "data") }
func (tt *threeTier) state(site, tier string) string {
	return filepath.Join(tt.dir, site, tier+".state")
}
func (tt *threeTier) log() string { return filepath.Join(tt.dir, "steps.log") }

// plan writes the three-tier plan; broken makes the last step fail.
func (tt *threeTier) plan(t *testing.T, broken bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("datacenter \"pb\" {}\ndatacenter \"lg\" {}\n")
	host := func(name, dc string, s *realsshd.Server) {
		fmt.Fprintf(&b, "host %q {\n  datacenter = datacenter.%s\n  address = %q\n  user = %q\n  identity_file = %q\n  known_hosts = %q\n}\n",
			name, dc, s.Addr, s.User, tt.key, tt.knownHosts)
	}
	for i, tier := range tiers {
		host(tier+"_pb", "pb", tt.sshd[i])
		host(tier+"_lg", "lg", tt.sshd[i])
	}
	host("dns_lg", "lg", tt.sshd[3])
	// Each command logs its name, start and end (epoch ns) and the
	// server port of its SSH session: the host it ran on.
	cmd := func(name, body string) string {
		return fmt.Sprintf(`echo %s start $(date +%%s%%N) $${SSH_CONNECTION##* } >> %s; %s; rc=$?; echo %s end $(date +%%s%%N) $${SSH_CONNECTION##* } >> %s; exit $rc`,
			name, tt.log(), body, name, tt.log())
	}
	set := func(site, tier, s string) string { return fmt.Sprintf("echo %s > %s", s, tt.state(site, tier)) }
	step := func(name, on, run, undo string) string {
		return fmt.Sprintf("    step %q {\n      on = %s\n      run = %q\n      undo = %q\n    }\n", name, on, cmd(name, run), cmd("undo_"+name, undo))
	}
	fmt.Fprintf(&b, "application \"finance\" {\n  source = host.app_pb\n  target = host.app_lg\n")
	for _, tier := range tiers {
		own := ""
		if tier != "app" {
			own = fmt.Sprintf("    source = host.%s_pb\n    target = host.%s_lg\n", tier, tier)
		}
		fmt.Fprintf(&b, "  copy %q {\n%s    from = %q\n    to = %q\n    exclude = [\"*.tmp\"]\n    delete = true\n  }\n",
			tier, own, tt.data("pb", tier), tt.data("lg", tier))
	}
	b.WriteString("  cutover {\n    approval {\n      approvers = [\"ops.one\", \"ops.two\"]\n      quorum = 1\n    }\n    parallel {\n")
	b.WriteString(step("stop_app", `"source"`, "sleep 1; "+set("pb", "app", "stopped"), set("pb", "app", "running")))
	b.WriteString(step("stop_db", "host.db_pb", "sleep 1; "+set("pb", "db", "stopped"), set("pb", "db", "running")))
	b.WriteString(step("stop_fs", "host.fs_pb", "sleep 1; "+set("pb", "fs", "stopped"), set("pb", "fs", "running")))
	b.WriteString("    }\n    final_sync {}\n    parallel {\n")
	b.WriteString(step("start_db", "host.db_lg", set("lg", "db", "running"), set("lg", "db", "stopped")))
	b.WriteString(step("start_app", `"target"`, set("lg", "app", "running"), set("lg", "app", "stopped")))
	b.WriteString(step("start_fs", "host.fs_lg", set("lg", "fs", "running"), set("lg", "fs", "stopped")))
	b.WriteString("    }\n")
	zone := filepath.Join(tt.dir, "zone")
	switchRun := "echo lg > " + zone
	if broken {
		switchRun += " && false"
	}
	b.WriteString(step("switch_dns", "host.dns_lg", switchRun, "echo pb > "+zone))
	b.WriteString("  }\n  soak = \"2s\"\n}\n")
	p := filepath.Join(tt.dir, "finance3.hcl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// logLine is one line of the step log.
type logLine struct {
	name, what string
	at         int64
	port       int
}

func (tt *threeTier) lines(t *testing.T) []logLine {
	t.Helper()
	b, err := os.ReadFile(tt.log())
	if err != nil {
		t.Fatal(err)
	}
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 4 {
			t.Fatalf("step log line %q", l)
		}
		at, _ := strconv.ParseInt(f[2], 10, 64)
		port, _ := strconv.Atoi(f[3])
		out = append(out, logLine{name: f[0], what: f[1], at: at, port: port})
	}
	return out
}

const finance3ID = "umzug/finance3/finance"

// wantPorts checks each command ran on the daemon of the host it names.
func (tt *threeTier) wantPorts(t *testing.T, lines []logLine) {
	t.Helper()
	sshdOf := map[string]int{"app": 0, "db": 1, "fs": 2, "dns": 3}
	for _, l := range lines {
		tier := strings.Split(strings.TrimPrefix(l.name, "undo_"), "_")[1]
		if want := tt.sshd[sshdOf[tier]].Port; l.port != want {
			t.Errorf("%s %s ran on port %d, want %d (%s's daemon)", l.name, l.what, l.port, want, tier)
		}
	}
}

func (tt *threeTier) runApproved(t *testing.T, broken bool) workflows.Status {
	t.Helper()
	plan := tt.plan(t, broken)
	if code, _, errOut := cli(t, "validate", plan); code != 0 {
		t.Fatalf("validate: exit %d: %s", code, errOut)
	}
	if code, _, errOut := cli(t, "run", plan, "--as", "ops.one"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	tt.e.waitPhase(t, finance3ID, workflows.PhaseAwaitingApproval)
	// A change while the move waits: the final syncs carry it over.
	if err := os.WriteFile(filepath.Join(tt.data("pb", "db"), "db/journal/2026-12.log"), []byte("new month\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "approve", finance3ID, "--as", "ops.two"); code != 0 {
		t.Fatalf("approve: exit %d: %s", code, errOut)
	}
	return tt.e.result(t, finance3ID)
}

func TestInteropMultiHostCommits(t *testing.T) {
	tt := startThreeTier(t)
	st := tt.runApproved(t, false)
	if st.Phase != workflows.PhaseCommitted {
		t.Fatalf("phase %s: %s", st.Phase, st.Error)
	}
	for _, tier := range tiers {
		if _, err := treecmp.Equal(tt.data("pb", tier), tt.data("lg", tier), treecmp.Options{Skip: []string{"tmp/scratch.tmp"}}); err != nil {
			t.Errorf("tier %s: %v", tier, err)
		}
		if got := state(t, tt.state("pb", tier)); got != "stopped" {
			t.Errorf("%s_pb state %q, want stopped", tier, got)
		}
		if got := state(t, tt.state("lg", tier)); got != "running" {
			t.Errorf("%s_lg state %q, want running", tier, got)
		}
	}
	if got := state(t, filepath.Join(tt.dir, "zone")); got != "lg" {
		t.Errorf("zone %q, want lg", got)
	}
	lines := tt.lines(t)
	tt.wantPorts(t, lines)
	// The stop group's members overlap: each starts before any ends,
	// in the step log and in the move's own records.
	var lastStart, firstEnd int64
	for _, l := range lines {
		if !strings.HasPrefix(l.name, "stop_") {
			continue
		}
		if l.what == "start" {
			lastStart = max(lastStart, l.at)
		} else if firstEnd == 0 || l.at < firstEnd {
			firstEnd = l.at
		}
	}
	if lastStart == 0 || lastStart >= firstEnd {
		t.Errorf("stop group ran one after the other: last start %d, first end %d", lastStart, firstEnd)
	}
	var recs []workflows.StepRecord
	for _, s := range st.Steps {
		if s.Kind == "step" && strings.HasPrefix(s.Name, "stop_") {
			recs = append(recs, s)
		}
	}
	if len(recs) != 3 {
		t.Fatalf("stop records %+v", recs)
	}
	for _, a := range recs {
		for _, b := range recs {
			if !a.Started.Before(b.Finished) {
				t.Errorf("records: %s started %s, after %s finished %s", a.Name, a.Started, b.Name, b.Finished)
			}
		}
	}
	hosts := map[string]string{}
	for _, s := range st.Steps {
		hosts[s.Kind+" "+s.Name] = s.Host
	}
	for k, want := range map[string]string{"step stop_db": "db_pb", "step switch_dns": "dns_lg", "final_sync fs": "fs_lg", "final_sync db": "db_lg"} {
		if hosts[k] != want {
			t.Errorf("%s on %q, want %s", k, hosts[k], want)
		}
	}
	if len(st.Hosts) != 7 {
		t.Errorf("status lists %d hosts, want 7: %+v", len(st.Hosts), st.Hosts)
	}
	for _, h := range st.Hosts {
		if !strings.HasPrefix(h.Fingerprint, "SHA256:") {
			t.Errorf("host %s has no verified key in status: %+v", h.Name, h)
		}
	}
	code, out, _ := cli(t, "status", finance3ID)
	if code != 0 || !strings.Contains(out, "host        dns_lg (steps, key SHA256:") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
}

func TestInteropMultiHostLastStepFailsRollsBackEveryHost(t *testing.T) {
	tt := startThreeTier(t)
	st := tt.runApproved(t, true)
	if st.Phase != workflows.PhaseRolledBack {
		t.Fatalf("phase %s, want rolled_back: %s", st.Phase, st.Error)
	}
	for _, tier := range tiers {
		if got := state(t, tt.state("pb", tier)); got != "running" {
			t.Errorf("%s_pb state %q after rollback, want running", tier, got)
		}
		if got := state(t, tt.state("lg", tier)); got != "stopped" {
			t.Errorf("%s_lg state %q after rollback, want stopped", tier, got)
		}
	}
	if got := state(t, filepath.Join(tt.dir, "zone")); got != "pb" {
		t.Errorf("zone %q after rollback, want pb", got)
	}
	lines := tt.lines(t)
	tt.wantPorts(t, lines)
	var undos []string
	for _, l := range lines {
		if strings.HasPrefix(l.name, "undo_") && l.what == "start" {
			undos = append(undos, strings.TrimPrefix(l.name, "undo_"))
		}
	}
	if len(undos) != 7 || undos[0] != "switch_dns" {
		t.Fatalf("undo order %v", undos)
	}
	starts, stops := slices.Clone(undos[1:4]), slices.Clone(undos[4:7])
	slices.Sort(starts)
	slices.Sort(stops)
	if !slices.Equal(starts, []string{"start_app", "start_db", "start_fs"}) || !slices.Equal(stops, []string{"stop_app", "stop_db", "stop_fs"}) {
		t.Fatalf("undo order %v: want switch_dns, the start group, then the stop group", undos)
	}
}
