package workers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/audit"
	"github.com/umzug-dev/umzug/internal/devserver"
	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/workflows"
)

// takeoverWorker runs the real RunCommand; preflight is stubbed (the move
// has no copies).
func takeoverWorker(c client.Client, queue string, a *activities.Activities) worker.Worker {
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivityWithOptions(a.RunCommand, activity.RegisterOptions{Name: contract.NameRunCommand})
	w.RegisterActivityWithOptions(func(context.Context, contract.PreflightInput) (contract.PreflightResult, error) {
		return contract.PreflightResult{}, nil
	}, activity.RegisterOptions{Name: contract.NamePreflight})
	return w
}

// sshHost starts an in-process SSH server and returns a host reaching it.
func sshHost(t *testing.T, dir string) contract.Host {
	t.Helper()
	s := testkit.StartSSH(t, dir, sshserver.Options{})
	return contract.Host{Name: "fin_pb", Address: s.Servers[0].Addr(), User: "migrate", IdentityFile: s.Key, KnownHosts: s.KnownHosts}
}

// A worker stops while a cutover step runs; the worker that takes its
// place does not run the step again but takes over the running command,
// and the audit lists both attempts.
func TestStoppedWorkerStepRunsOnce(t *testing.T) {
	dir := t.TempDir()
	h := sshHost(t, dir)
	srv, err := devserver.Start(devserver.Options{}) // any free port: srv.Address reports it
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c, err := client.Dial(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(),
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := &activities.Activities{RemoteStateDir: filepath.Join(dir, "state")}
	const queue = "takeover"
	w1 := takeoverWorker(c, queue, a)
	if err := w1.Start(); err != nil {
		t.Fatal(err)
	}
	counter, release := filepath.Join(dir, "counter"), filepath.Join(dir, "release")
	in := workflows.MoveInput{Subject: workflows.Subject{PlanName: "q4", Application: "finance", StartedBy: "ops", Source: h, Target: h},
		Cutover: workflows.Cutover{Blocks: []workflows.Block{{Kind: workflows.BlockStep, Name: "stop_app", On: "source", Timeout: 5 * time.Minute,
			Run: fmt.Sprintf("echo ran >> %s; while [ ! -f %s ]; do sleep 0.1; done; echo stopped", counter, release)}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "umzug/q4/finance", TaskQueue: queue}, workflows.MoveWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, counter, "")
	w1.Stop()
	w2 := takeoverWorker(c, queue, a)
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	matches, _ := filepath.Glob(filepath.Join(a.RemoteStateDir, "*", "*", "attempts"))
	if len(matches) != 1 {
		t.Fatalf("attempt records %v", matches)
	}
	waitFor(t, matches[0], "2 ")
	os.WriteFile(release, nil, 0o644)
	var st workflows.Status
	if err := run.Get(ctx, &st); err != nil || st.Phase != workflows.PhaseCommitted {
		t.Fatalf("move: %v, phase %s, error %q", err, st.Phase, st.Error)
	}
	if b, _ := os.ReadFile(counter); strings.Count(string(b), "\n") != 1 {
		t.Fatalf("the step ran %d times", strings.Count(string(b), "\n"))
	}
	hist, err := audit.Fetch(ctx, c, run.GetID())
	if err != nil {
		t.Fatal(err)
	}
	r, err := audit.Build(run.GetID(), hist)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Commands) != 1 || len(r.Commands[0].Attempts) != 2 || r.Commands[0].Attempts[0].TakenOver || !r.Commands[0].Attempts[1].TakenOver {
		t.Fatalf("audit commands %+v", r.Commands)
	}
}

// waitFor polls until path exists (and holds want, if given).
func waitFor(t *testing.T, path, want string) {
	t.Helper()
	for i := 0; i < 2400; i++ {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never held %q", path, want)
}
