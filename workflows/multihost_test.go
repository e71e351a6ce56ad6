package workflows

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// threeTier is a finance application over three tiers and a name server:
// the app server moves with the application's hosts, the database on its
// own pair; both stop at once, the name server switches last.
func threeTier() MoveInput {
	in := finance()
	in.Hosts = []contract.Host{
		{Name: "db_pb", Address: "10.20.1.16:22", Queue: "pb"},
		{Name: "db_lg", Address: "10.40.7.22:22", Queue: "lg"},
		{Name: "dns_lg", Address: "10.40.7.53:22", Queue: "lg"},
	}
	in.Copies = append(in.Copies, contract.CopySet{Name: "pgdata", From: "/var/lib/postgresql", To: "/var/lib/postgresql",
		Verify: "sha256", SourceHost: "db_pb", TargetHost: "db_lg"})
	in.Cutover.Blocks = []Block{
		{Kind: BlockStep, Name: "stop_app", On: "source", Run: "systemctl stop finance", Undo: "systemctl start finance", Group: 1},
		{Kind: BlockStep, Name: "stop_db", On: "host.db_pb", Run: "systemctl stop postgresql", Undo: "systemctl start postgresql", Group: 1},
		{Kind: BlockFinalSync},
		{Kind: BlockStep, Name: "start_db", On: "host.db_lg", Run: "systemctl start postgresql", Undo: "systemctl stop postgresql", Group: 2},
		{Kind: BlockStep, Name: "start_app", On: "target", Run: "systemctl start finance", Undo: "systemctl stop finance", Group: 2},
		{Kind: BlockStep, Name: "switch_dns", On: "host.dns_lg", Run: "dns-switch finance lg", Undo: "dns-switch finance pb"},
	}
	return in
}

// meet makes the members of a parallel group wait for each other: each
// returns only once all named commands have started, so a group run one
// member after the other times out instead.
func meet(purposes ...string) func(in contract.CommandInput) {
	var mu sync.Mutex
	started := map[string]bool{}
	all := make(chan struct{})
	return func(in contract.CommandInput) {
		if !slices.Contains(purposes, in.Purpose) {
			return
		}
		mu.Lock()
		started[in.Purpose] = true
		if len(started) == len(purposes) {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
	}
}

func TestMultiHostMoveCommits(t *testing.T) {
	env, f := newEnv(t)
	wait := meet("step stop_app", "step stop_db")
	var mu sync.Mutex
	var met bool
	f.onCommand = func(in contract.CommandInput) {
		t0 := time.Now()
		wait(in)
		if in.Purpose == "step stop_app" && time.Since(t0) < 4*time.Second {
			mu.Lock()
			met = true
			mu.Unlock()
		}
	}
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	at(env, 3*time.Minute, func() { env.SignalWorkflow(SignalCommit, CommitSignal{By: "a.meier"}) })
	env.ExecuteWorkflow(Move, threeTier())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak, PhaseCommitted)
	if !met {
		t.Fatal("stop_app and stop_db did not run at once")
	}
	hostOf := map[string]string{}
	for _, s := range st.Steps {
		hostOf[s.Kind+" "+s.Name] = s.Host
	}
	for k, want := range map[string]string{"step stop_app": "fin_pb", "step stop_db": "db_pb", "step start_db": "db_lg",
		"step start_app": "fin_lg", "step switch_dns": "dns_lg", "final_sync ledger": "fin_lg", "final_sync pgdata": "db_lg"} {
		if hostOf[k] != want {
			t.Errorf("%s ran on %q, want %s (steps %v)", k, hostOf[k], want, hostOf)
		}
	}
	// Every host preflighted: the application's pair, the database pair,
	// the name server on its own.
	var pre []string
	for _, c := range f.calls {
		if c.Name == contract.NamePreflight {
			pre = append(pre, c.Host)
		}
	}
	slices.Sort(pre)
	if !slices.Equal(pre, []string{"db_lg", "dns_lg", "fin_lg"}) {
		t.Errorf("preflights on %v", pre)
	}
	var names []string
	for _, h := range st.Hosts {
		names = append(names, h.Name+":"+strings.Join(h.Roles, "+"))
	}
	if got := strings.Join(names, ","); got != "fin_pb:source+copy source+steps,fin_lg:target+copy target+steps,db_pb:copy source+steps,db_lg:copy target+steps,dns_lg:steps" {
		t.Errorf("status hosts %s", got)
	}
}

// A failure in the last step rolls back every host in reverse order: the
// failed step (it may have run in part), then each group as a group.
func TestMultiHostRollbackReverse(t *testing.T) {
	env, f := newEnv(t)
	f.exit = func(in contract.CommandInput) int {
		if in.Purpose == "step switch_dns" {
			return 1
		}
		return 0
	}
	approve(env, time.Minute, "a.meier")
	approve(env, 2*time.Minute, "b.schulz")
	env.ExecuteWorkflow(Move, threeTier())
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseRolledBack)
	var undos []string
	for _, c := range f.commands() {
		if strings.HasPrefix(c, "undo ") {
			undos = append(undos, strings.TrimPrefix(c, "undo "))
		}
	}
	if len(undos) != 5 || undos[0] != "switch_dns" {
		t.Fatalf("undos %v", undos)
	}
	g2, g1 := undos[1:3], undos[3:5]
	slices.Sort(g2)
	slices.Sort(g1)
	if !slices.Equal(g2, []string{"start_app", "start_db"}) || !slices.Equal(g1, []string{"stop_app", "stop_db"}) {
		t.Fatalf("undo order %v: want switch_dns, then start_db/start_app, then stop_app/stop_db", undos)
	}
	hosts := map[string]string{}
	for _, s := range st.Steps {
		if s.Kind == "undo" {
			hosts[s.Name] = s.Host
		}
	}
	if hosts["stop_db"] != "db_pb" || hosts["switch_dns"] != "dns_lg" || hosts["start_db"] != "db_lg" {
		t.Fatalf("undo hosts %v", hosts)
	}
}

// The Web UI's details of a multi-host move list every host with its
// roles, the copy sets' own pairs and the parallel groups.
func TestMultiHostDetails(t *testing.T) {
	m := &move{in: threeTier(), multi: true}
	m.st.Hosts = m.hostList()
	m.st.Phase = PhaseAwaitingApproval
	var b strings.Builder
	b.WriteString(m.detailsText())
	for _, want := range []string{
		"- host dns_lg (steps)",
		"- host db_pb (copy source, steps)",
		"pgdata (db_pb:/var/lib/postgresql → db_lg:/var/lib/postgresql, verify sha256)",
		"step stop_db on host.db_pb db_pb (10.20.1.16:22), undo on rollback [parallel group 1]",
		"step switch_dns on host.dns_lg dns_lg (10.40.7.53:22), undo on rollback\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("details lack %q:\n%s", want, b.String())
		}
	}
}

// A move whose input names a host it does not describe fails preflight
// without running anything, rather than run the step on another host.
func TestMultiHostUnknownHostFailsPreflight(t *testing.T) {
	env, f := newEnv(t)
	in := threeTier()
	in.Cutover.Blocks[5].On = "host.dns_pb"
	env.ExecuteWorkflow(Move, in)
	st := result(t, env)
	wantPhases(t, st, PhasePreflight, PhaseFailed)
	if !strings.Contains(st.Error, "step switch_dns on host.dns_pb") || len(f.calls) != 0 {
		t.Fatalf("error %q, calls %+v", st.Error, f.calls)
	}
}

// A standby sync of a multi-host application copies each set between its
// own hosts.
func TestMultiHostStandbySyncUsesEachPair(t *testing.T) {
	env, f := newEnv(t)
	env.OnSignalExternalWorkflow(mock.Anything, "record", "", signalSyncRequest, mock.Anything).Return(nil)
	env.OnSignalExternalWorkflow(mock.Anything, "record", "", signalSyncResult, mock.Anything).Return(nil)
	in := threeTier()
	at(env, time.Second, func() { env.SignalWorkflow(signalSyncAnswer, syncAnswer{Go: true}) })
	env.ExecuteWorkflow(StandbySyncRun, StandbySyncInput{RecordID: "record", CopyID: "umzug/q4/finance/standby",
		Source: in.Source, Target: in.Target, Copies: in.Copies, Hosts: in.Hosts})
	var res StandbySync
	if err := env.GetWorkflowResult(&res); err != nil || res.Error != "" {
		t.Fatalf("sync: %v %+v", err, res)
	}
	got := map[string]string{}
	for _, c := range f.calls {
		if c.Name == contract.NameCopyTree {
			got[c.Purpose] = c.Host
		}
	}
	if got["ledger"] != "fin_lg" || got["pgdata"] != "db_lg" {
		t.Fatalf("sets copied to %v", got)
	}
}

// A failover of a multi-host application whose source site does not
// answer skips the steps on the hosts that stand with the source (the old
// database server) and the final sync, and runs the rest on their hosts.
func TestMultiHostFailoverSkipsTheSourceSite(t *testing.T) {
	env, f := newEnv(t)
	env.RegisterActivityWithOptions(func(context.Context, contract.Host) (contract.ProbeResult, error) {
		return contract.ProbeResult{}, temporal.NewNonRetryableApplicationError("connect: connection refused", contract.ErrPreflightFailed, nil)
	}, activity.RegisterOptions{Name: contract.NameProbeHost})
	fo := threeTier()
	fo.Mode, fo.StartedBy, fo.Reason = ModeFailover, "k.meier", "fire at the old site"
	fo.Emergency = &EmergencyRule{Approvers: []string{"k.meier", "s.wolf"}, ConfirmWithin: time.Hour}
	fo.StandbyCopy = &StandbySync{Started: t0.Add(-time.Hour), Finished: t0.Add(-time.Hour + time.Minute)}
	env.ExecuteWorkflow(MoveWorkflow, fo)
	st := result(t, env)
	if st.Phase != PhaseCommitted || st.Failover == nil {
		t.Fatalf("phase %s failover %+v: %s", st.Phase, st.Failover, st.Error)
	}
	skipped := strings.Join(st.Failover.Skipped, "; ")
	for _, want := range []string{"step stop_app on fin_pb", "step stop_db on db_pb", "final_sync on fin_pb"} {
		if !strings.Contains(skipped, want) {
			t.Errorf("skipped %q lacks %q", skipped, want)
		}
	}
	var ran []string
	for _, c := range f.calls {
		if c.Name == contract.NameRunCommand {
			ran = append(ran, c.Purpose+"@"+c.Host)
		}
	}
	if got := strings.Join(ran, ","); got != "step start_db@db_lg,step start_app@fin_lg,step switch_dns@dns_lg" {
		t.Fatalf("ran %s", got)
	}
}
