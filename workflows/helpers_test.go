package workflows

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/umzug-dev/umzug/activities/contract"
)

// t0 is the workflow start time of every test.
var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const planSHA = "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// call is one fake activity call with the workflow (test) clock time.
type call struct {
	Name    string
	MoveID  string
	Host    string
	Purpose string
	Phase   string
	Since   string // the host's ConnSince
	Queue   string // the task queue it ran on
	At      time.Time
	// IdentState is the identity state a copy or estimate was given.
	IdentState *contract.IdentState
}

// fakes are deterministic activities registered by name, as the worker
// registers the real ones.
type fakes struct {
	env *testsuite.TestWorkflowEnvironment

	mu    sync.Mutex
	calls []call

	// exit returns the exit code of a command; nil means 0.
	exit func(in contract.CommandInput) int
	// copyErr returns an error for a copy; nil means success.
	copyErr func(in contract.CopyInput) error
	// preflightErr fails preflight of a move.
	preflightErr func(in contract.PreflightInput) error
	// secretsErr fails the secrets check of one host; nil means success.
	secretsErr func(in contract.CheckSecretsInput) error
	// changedBytes is what EstimateDelta reports; seedRate the seed's bytes/s.
	changedBytes int64
	seedRate     float64
	// seedState is the identity state a seed reports; nil means none.
	seedState func(in contract.CopyInput) *contract.IdentState
	// onCommand, when set, runs inside RunCommand before it answers.
	onCommand func(in contract.CommandInput)
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *fakes) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(quietLogger())
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(30 * time.Second)
	Register(env)
	f := &fakes{env: env, seedRate: 50 << 20}
	env.RegisterActivityWithOptions(f.preflight, activity.RegisterOptions{Name: contract.NamePreflight})
	env.RegisterActivityWithOptions(f.copyTree, activity.RegisterOptions{Name: contract.NameCopyTree})
	env.RegisterActivityWithOptions(f.estimate, activity.RegisterOptions{Name: contract.NameEstimateDelta})
	env.RegisterActivityWithOptions(f.runCommand, activity.RegisterOptions{Name: contract.NameRunCommand})
	env.RegisterActivityWithOptions(f.checkSecrets, activity.RegisterOptions{Name: contract.NameCheckSecrets})
	return env, f
}

func (f *fakes) add(c call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c.At = f.env.Now()
	f.calls = append(f.calls, c)
}

func (f *fakes) preflight(ctx context.Context, in contract.PreflightInput) (contract.PreflightResult, error) {
	f.add(call{Name: contract.NamePreflight, MoveID: in.MoveID, Host: in.Target.Name, Since: in.Target.ConnSince})
	if f.preflightErr != nil {
		if err := f.preflightErr(in); err != nil {
			return contract.PreflightResult{}, err
		}
	}
	return contract.PreflightResult{SourceFingerprint: "SHA256:src", TargetFingerprint: "SHA256:tgt", SourceFiles: 3, SourceBytes: 3 << 20, TargetFreeBytes: 1 << 40}, nil
}

func (f *fakes) checkSecrets(ctx context.Context, in contract.CheckSecretsInput) error {
	f.add(call{Name: contract.NameCheckSecrets, MoveID: in.MoveID, Host: in.Host.Name, Purpose: in.Side + " " + strings.Join(in.Names, ","),
		Queue: activity.GetInfo(ctx).TaskQueue})
	if f.secretsErr != nil {
		return f.secretsErr(in)
	}
	return nil
}

func (f *fakes) copyTree(ctx context.Context, in contract.CopyInput) (contract.CopyResult, error) {
	f.add(call{Name: contract.NameCopyTree, MoveID: in.MoveID, Host: in.Target.Name, Phase: in.Phase, Purpose: in.Set.Name,
		Since: in.Target.ConnSince, IdentState: in.IdentState})
	if f.copyErr != nil {
		if err := f.copyErr(in); err != nil {
			return contract.CopyResult{}, err
		}
	}
	res := contract.CopyResult{Set: in.Set.Name, Phase: in.Phase, Files: 3, Bytes: 3 << 20, CopiedFiles: 3, CopiedBytes: 3 << 20,
		Verify: in.Set.Verify, Verified: 3, ManifestSHA256: "m-" + in.Phase, ManifestEntries: 3, BytesPerSec: f.seedRate}
	if f.seedState != nil && in.Phase == contract.PhaseSeed {
		res.IdentState = f.seedState(in)
	}
	return res, nil
}

func (f *fakes) estimate(ctx context.Context, in contract.CopyInput) (contract.DeltaEstimate, error) {
	f.add(call{Name: contract.NameEstimateDelta, MoveID: in.MoveID, Host: in.Target.Name, Purpose: in.Set.Name, IdentState: in.IdentState})
	return contract.DeltaEstimate{Set: in.Set.Name, SourceFiles: 3, SourceBytes: 3 << 20, ChangedFiles: 1, ChangedBytes: f.changedBytes}, nil
}

func (f *fakes) runCommand(ctx context.Context, in contract.CommandInput) (contract.CommandResult, error) {
	f.add(call{Name: contract.NameRunCommand, Host: in.Host.Name, Purpose: in.Purpose, Since: in.Host.ConnSince})
	if f.onCommand != nil {
		f.onCommand(in)
	}
	code := 0
	if f.exit != nil {
		code = f.exit(in)
	}
	r := contract.CommandResult{Host: in.Host.Name, Address: in.Host.Address, Command: in.Command, ExitCode: code,
		Started: f.env.Now(), Finished: f.env.Now()}
	if code != 0 {
		r.Stderr = "curl: (7) Failed to connect to 127.0.0.1 port 8080"
	}
	return r, nil
}

// commands returns the purposes of RunCommand calls, in order.
func (f *fakes) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.Name == contract.NameRunCommand {
			out = append(out, c.Purpose)
		}
	}
	return out
}

func (f *fakes) find(name, purposePrefix string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Name == name && strings.HasPrefix(c.Purpose, purposePrefix) {
			out = append(out, c)
		}
	}
	return out
}

// finance is the demo move: quorum 2 of four listed approvers
// (ops, the starter, is listed to prove four-eyes), 72h timeout, 24h soak.
func finance() MoveInput {
	return MoveInput{
		Subject: Subject{PlanName: "q4", PlanSHA256: planSHA, Application: "finance", StartedBy: "ops",
			Source: contract.Host{Name: "fin_pb", Address: "10.20.1.15:22"},
			Target: contract.Host{Name: "fin_lg", Address: "10.40.7.21:22"}},
		Copies: []contract.CopySet{{Name: "ledger", From: "/srv/finance/data", To: "/srv/finance/data", Verify: "sha256", Delete: true}},
		Cutover: Cutover{
			Approval: &ApprovalRule{Approvers: []string{"a.meier", "b.schulz", "c.yilmaz", "ops"}, Quorum: 2, FourEyes: true, Timeout: 72 * time.Hour},
			Blocks: []Block{
				{Kind: BlockStep, Name: "stop_app", On: "source", Run: "systemctl stop finance", Undo: "systemctl start finance", Timeout: 2 * time.Minute},
				{Kind: BlockFinalSync},
				{Kind: BlockStep, Name: "start_app", On: "target", Run: "systemctl start finance", Undo: "systemctl stop finance"},
				{Kind: BlockCheck, Name: "health", On: "target", Run: "curl -fsS http://127.0.0.1:8080/health", Retries: 2, Interval: 10 * time.Second},
			},
		},
		Soak: 24 * time.Hour,
	}
}

// at schedules fn at workflow time t0+d.
func at(env *testsuite.TestWorkflowEnvironment, d time.Duration, fn func()) {
	env.RegisterDelayedCallback(fn, d)
}

// approve sends the approve signal as the Web UI does: a JSON object.
func approve(env *testsuite.TestWorkflowEnvironment, d time.Duration, who string) {
	at(env, d, func() { env.SignalWorkflow(SignalApprove, map[string]any{"approver": who, "comment": "change 4711"}) })
}

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) Status {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow returned an error, want a Status result: %v", err)
	}
	var st Status
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	return st
}

func phases(st Status) []string {
	var out []string
	for _, p := range st.Phases {
		out = append(out, p.Phase)
	}
	return out
}

func phaseAt(st Status, p string) time.Time {
	for _, c := range st.Phases {
		if c.Phase == p {
			return c.At
		}
	}
	return time.Time{}
}

// refusals returns the reasons of refused records named name.
func refusals(st Status, name string) []string {
	var out []string
	for _, s := range st.Signals {
		if s.Name == name && !s.Accepted {
			out = append(out, s.Identity+": "+s.Reason)
		}
	}
	return out
}

// quietLogger keeps test output to warnings and errors of the workflow.
func quietLogger() log.Logger {
	return log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError + 1})))
}

func nonRetryable(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, "CopyFailed", errors.New(msg))
}
