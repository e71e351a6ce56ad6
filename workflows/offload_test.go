package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/umzug-dev/umzug/activities/contract"
)

// sites models the two print centers: the source's queue, its claimed
// and archived jobs, the partner's landed copies and intake log.
type sites struct {
	mu       sync.Mutex
	queue    map[string]bool
	claimed  map[string]bool
	archived map[string]bool
	landed   map[string]bool
	intake   map[string]int // the partner's intake log: runs per job
	records  map[string]bool
	produced map[string]bool
	record   string
	// intakeExit fails intake of a job; produceAfter is how many done
	// polls pass before the partner has produced the jobs.
	intakeExit   map[string]int
	polls        int
	produceAfter int
}

func newSites(jobs ...string) *sites {
	s := &sites{queue: map[string]bool{}, claimed: map[string]bool{}, archived: map[string]bool{}, landed: map[string]bool{},
		intake: map[string]int{}, records: map[string]bool{}, produced: map[string]bool{}, intakeExit: map[string]int{}}
	for _, j := range jobs {
		s.queue[j] = true
	}
	return s
}

func keys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (s *sites) jobs(_ context.Context, in contract.OffloadJobsInput) (contract.OffloadJobsResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res contract.OffloadJobsResult
	switch in.Op {
	case contract.OffloadClaim:
		for _, j := range keys(s.queue) {
			if len(res.Jobs) >= in.MaxJobs {
				res.Over++
				continue
			}
			delete(s.queue, j)
			s.claimed[j] = true
		}
		for _, j := range keys(s.claimed) {
			res.Jobs = append(res.Jobs, contract.OffloadJob{ID: j, Bytes: 10, Files: 1, SHA256: strings.Repeat("a", 64)})
			res.Done = append(res.Done, j)
		}
	case contract.OffloadRelease:
		for _, j := range keys(s.claimed) {
			if !slices.Contains(in.Keep, j) {
				delete(s.claimed, j)
				s.queue[j] = true
				res.Done = append(res.Done, j)
			}
		}
	case contract.OffloadArchive:
		s.record = in.Record
		for _, j := range in.Jobs {
			if s.claimed[j] {
				delete(s.claimed, j)
				s.archived[j] = true
			}
			res.Done = append(res.Done, j)
		}
	case contract.OffloadDiscard:
		if len(in.Jobs) == 0 {
			s.landed = map[string]bool{}
		}
		for _, j := range in.Jobs {
			delete(s.landed, j)
		}
	case contract.OffloadLanded:
	}
	return res, nil
}

func (s *sites) copyTree(_ context.Context, in contract.CopyInput) (contract.CopyResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(in.Set.Name, "-results") {
		return contract.CopyResult{}, nil
	}
	for j := range s.claimed {
		s.landed[j] = true
	}
	return contract.CopyResult{ManifestSHA256: strings.Repeat("b", 64)}, nil
}

// runCommand plays intake (once per job record, like the wrapper) and
// done (one P or . per job taken in).
func (s *sites) runCommand(_ context.Context, in contract.CommandInput) (contract.CommandResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := contract.CommandResult{Host: in.Host.Name, Command: in.Command}
	if id, ok := strings.CutPrefix(in.Purpose, "intake "); ok {
		if !strings.Contains(in.Command, "UMZUG_JOB_ID="+shellQuote(id)) || !strings.Contains(in.Command, ".umzug-intake") {
			return res, errors.New("intake command without the job ID or the intake record")
		}
		if code := s.intakeExit[id]; code != 0 {
			res.ExitCode = code
			return res, nil
		}
		if !s.landed[id] {
			res.ExitCode = 71
			return res, nil
		}
		if !s.records[id] {
			s.intake[id]++
			s.records[id] = true
		}
		return res, nil
	}
	s.polls++
	var out strings.Builder
	for _, j := range keys(s.records) {
		if s.polls > s.produceAfter {
			s.produced[j] = true
		}
		if s.produced[j] {
			out.WriteByte('P')
		} else {
			out.WriteByte('.')
		}
	}
	res.Stdout = "UMZUG-DONE:" + out.String() + "\n"
	return res, nil
}

func offloadEnv(t *testing.T, s *sites) *testsuite.TestWorkflowEnvironment {
	var ts testsuite.WorkflowTestSuite
	ts.SetLogger(quietLogger())
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	env.SetTestTimeout(30 * time.Second)
	Register(env)
	env.RegisterActivityWithOptions(s.jobs, activity.RegisterOptions{Name: contract.NameOffloadJobs})
	env.RegisterActivityWithOptions(s.copyTree, activity.RegisterOptions{Name: contract.NameCopyTree})
	env.RegisterActivityWithOptions(s.runCommand, activity.RegisterOptions{Name: contract.NameRunCommand})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: OffloadID("print-center", "print", t0)})
	return env
}

func offloadInput() OffloadInput {
	return OffloadInput{
		Subject: Subject{PlanName: "print-center", PlanSHA256: planSHA, Application: "print", StartedBy: "k.meier",
			Source: contract.Host{Name: "owl_print", Datacenter: "owl"}, Target: contract.Host{Name: "akdb_print", Datacenter: "akdb"}},
		Offload: "peak", Queue: "/srv/print", Select: []string{"queue/*"}, MaxJobs: 10, To: "/srv/offload-in/owl",
		CopySet:     contract.CopySet{Verify: contract.VerifySHA256},
		Accept:      ApprovalRule{Approvers: []string{"m.huber", "j.bauer", "k.meier"}, Quorum: 1, FourEyes: true, Timeout: time.Hour},
		Intake:      Block{Kind: BlockStep, Name: "intake", On: "target", Run: "enqueue \"$UMZUG_JOB_PATH\""},
		Done:        Block{Kind: BlockCheck, Name: "done", On: "target", Run: "produced \"$UMZUG_JOB_ID\""},
		ResultsFrom: "/srv/offload-out", ResultsTo: "/srv/offload-results", Poll: time.Minute, Within: time.Hour,
	}
}

func offloadResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) OffloadStatus {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("offload did not end")
	}
	var st OffloadStatus
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func decide(env *testsuite.TestWorkflowEnvironment, d time.Duration, name, by string) {
	at(env, d, func() { env.SignalWorkflow(name, map[string]any{"by": by, "comment": "CHG-1"}) })
}

// The partner accepts (the starter's own acceptance is refused: four
// eyes): each job is taken in once, produced, returned and archived at
// the source with the acceptance on record.
func TestOffloadAcceptedProducesEachJobOnce(t *testing.T) {
	s := newSites("queue/a.pdf", "queue/b.pdf", "queue/c.pdf")
	s.produceAfter = 2
	env := offloadEnv(t, s)
	decide(env, time.Second, SignalAccept, "K.Meier")
	decide(env, 2*time.Second, SignalAccept, "x.nobody")
	decide(env, 3*time.Second, SignalAccept, "m.huber")
	env.ExecuteWorkflow(OffloadWorkflow, offloadInput())
	st := offloadResult(t, env)
	if st.Phase != OffloadDone {
		t.Fatalf("phase %s: %s %s", st.Phase, st.Outcome, st.Error)
	}
	for _, j := range []string{"queue/a.pdf", "queue/b.pdf", "queue/c.pdf"} {
		if s.intake[j] != 1 || !s.archived[j] || s.queue[j] || s.claimed[j] {
			t.Errorf("%s: intake %d, archived %v, queue %v, claimed %v", j, s.intake[j], s.archived[j], s.queue[j], s.claimed[j])
		}
	}
	c := st.Counts()
	if c != (OffloadCounts{Claimed: 3, Accepted: 3, TakenIn: 3, Produced: 3, Returned: 3}) {
		t.Fatalf("counts %+v", c)
	}
	if !slices.Equal(st.AcceptedBy, []string{"m.huber"}) {
		t.Fatalf("accepted by %v", st.AcceptedBy)
	}
	var refused []string
	for _, r := range st.Signals {
		if !r.Accepted {
			refused = append(refused, r.Identity+": "+r.Reason)
		}
	}
	if len(refused) != 2 || !strings.Contains(refused[0], "four-eyes") || !strings.Contains(refused[1], "not an accept approver") {
		t.Fatalf("refusals %q", refused)
	}
	var rec OffloadRecord
	if err := json.Unmarshal([]byte(s.record), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.ProducedAt != "akdb (akdb_print)" || len(rec.Jobs) != 3 || rec.Jobs[0].Produced == nil || !slices.Equal(rec.AcceptedBy, []string{"m.huber"}) {
		t.Fatalf("record %s", s.record)
	}
}

// A refusal releases every job back into the source's queue and removes
// the partner's copy; nothing is taken in.
func TestOffloadRefusedReleasesEveryJob(t *testing.T) {
	s := newSites("queue/a.pdf", "queue/b.pdf")
	env := offloadEnv(t, s)
	decide(env, time.Second, SignalRefuse, "j.bauer")
	env.ExecuteWorkflow(OffloadWorkflow, offloadInput())
	st := offloadResult(t, env)
	if st.Phase != OffloadReleased || !strings.Contains(st.Outcome, "refused by j.bauer") {
		t.Fatalf("phase %s: %s", st.Phase, st.Outcome)
	}
	if got := keys(s.queue); !slices.Equal(got, []string{"queue/a.pdf", "queue/b.pdf"}) || len(s.claimed) != 0 || len(s.landed) != 0 || len(s.intake) != 0 {
		t.Fatalf("queue %v claimed %v landed %v intake %v", got, s.claimed, s.landed, s.intake)
	}
	if c := st.Counts(); c.Released != 2 {
		t.Fatalf("counts %+v", c)
	}
}

// No acceptance before the deadline: the same as a refusal.
func TestOffloadAcceptDeadlineReleases(t *testing.T) {
	s := newSites("queue/a.pdf")
	env := offloadEnv(t, s)
	env.ExecuteWorkflow(OffloadWorkflow, offloadInput())
	st := offloadResult(t, env)
	if st.Phase != OffloadReleased || !strings.Contains(st.Outcome, "no acceptance within 1h0m0s") || !s.queue["queue/a.pdf"] {
		t.Fatalf("phase %s: %s; queue %v", st.Phase, st.Outcome, s.queue)
	}
}

// A job whose intake fails goes home; a cancel while the partner
// produces names the jobs it has and releases none of them.
func TestOffloadCancelNamesWhatThePartnerHas(t *testing.T) {
	s := newSites("queue/a.pdf", "queue/b.pdf", "queue/c.pdf")
	s.intakeExit["queue/b.pdf"] = 3
	s.produceAfter = 1000
	env := offloadEnv(t, s)
	decide(env, time.Second, SignalAccept, "m.huber")
	at(env, 10*time.Minute, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(OffloadWorkflow, offloadInput())
	st := offloadResult(t, env)
	if st.Phase != OffloadCancelled || !slices.Equal(st.PartnerHas, []string{"queue/a.pdf", "queue/c.pdf"}) {
		t.Fatalf("phase %s, partner has %v: %s", st.Phase, st.PartnerHas, st.Outcome)
	}
	if !s.queue["queue/b.pdf"] || s.landed["queue/b.pdf"] || !s.claimed["queue/a.pdf"] || !s.claimed["queue/c.pdf"] {
		t.Fatalf("queue %v landed %v claimed %v", s.queue, s.landed, s.claimed)
	}
	if s.intake["queue/a.pdf"] != 1 || s.intake["queue/b.pdf"] != 0 {
		t.Fatalf("intake %v", s.intake)
	}
}

// With signers, only an acceptance signed by the acceptor's own key
// counts; the record keeps the key's fingerprint.
func TestOffloadSignedAcceptance(t *testing.T) {
	s := newSites("queue/a.pdf")
	env := offloadEnv(t, s)
	mh, outsider := testKey(t), testKey(t)
	in := offloadInput()
	in.Accept.Signers = signersLine("m.huber", mh)
	at(env, time.Second, func() { env.SignalWorkflow(SignalAccept, map[string]any{"by": "m.huber"}) })
	at(env, 2*time.Second, func() {
		env.SignalWorkflow(SignalAccept, signedPayload(t, env, SignalAccept, "by", "m.huber", "comment", "ok", outsider, t0.Add(2*time.Second)))
	})
	at(env, 3*time.Second, func() {
		env.SignalWorkflow(SignalAccept, signedPayload(t, env, SignalAccept, "by", "m.huber", "comment", "ok", mh, t0.Add(3*time.Second)))
	})
	env.ExecuteWorkflow(OffloadWorkflow, in)
	st := offloadResult(t, env)
	if st.Phase != OffloadDone || !slices.Equal(st.AcceptedBy, []string{"m.huber"}) {
		t.Fatalf("phase %s, accepted by %v: %s", st.Phase, st.AcceptedBy, st.Outcome)
	}
	var got []string
	for _, r := range st.Signals {
		got = append(got, fmt.Sprintf("%v %s %s", r.Accepted, r.KeyFingerprint, r.Reason))
	}
	if len(got) != 3 || !strings.Contains(got[0], "signature required") || !strings.Contains(got[1], "signature does not verify") ||
		!strings.HasPrefix(got[2], "true SHA256:") {
		t.Fatalf("records %q", got)
	}
}

// An intake whose outcome is unknown (the activity failed for good) may
// have enqueued its job: the job stays claimed as the partner's and is
// never released, so it cannot be produced at home as well.
func TestOffloadUncertainIntakeIsNeverReleased(t *testing.T) {
	s := newSites("queue/a.pdf", "queue/b.pdf")
	env := offloadEnv(t, s)
	env.OnActivity(contract.NameRunCommand, mock.Anything, mock.MatchedBy(func(in contract.CommandInput) bool {
		return in.Purpose == "intake queue/a.pdf"
	})).Return(contract.CommandResult{}, temporal.NewNonRetryableApplicationError("connection lost for good", contract.ErrBadCommand, nil))
	decide(env, time.Second, SignalAccept, "m.huber")
	at(env, 10*time.Minute, func() { env.CancelWorkflow() })
	env.ExecuteWorkflow(OffloadWorkflow, offloadInput())
	st := offloadResult(t, env)
	if !slices.Equal(st.PartnerHas, []string{"queue/a.pdf", "queue/b.pdf"}) || !s.claimed["queue/a.pdf"] || s.queue["queue/a.pdf"] {
		t.Fatalf("partner has %v; claimed %v queue %v", st.PartnerHas, s.claimed, s.queue)
	}
	if !st.Jobs[0].Uncertain || !strings.Contains(st.Jobs[0].IntakeError, "outcome unknown") {
		t.Fatalf("job a: %+v", st.Jobs[0])
	}
}

// The intake wrapper takes a job in once: run twice (a second scheduled
// intake after a reset), the plan's intake runs once.
func TestOffloadIntakeCommandRunsOnce(t *testing.T) {
	dir := t.TempDir()
	o := &offload{in: offloadInput(), id: "umzug/p/print/offload/20261208T020000Z"}
	o.in.To, o.in.ResultsFrom = filepath.Join(dir, "in"), ""
	o.in.Intake.Run = `echo "$UMZUG_JOB_ID" >> ` + filepath.Join(dir, "intake.log")
	o.st.Key = offloadKey(o.in.Offload, o.id)
	job := OffloadJob{OffloadJob: contract.OffloadJob{ID: "queue/a b.pdf", SHA256: strings.Repeat("c", 64)}}
	if err := os.MkdirAll(filepath.Join(o.in.To, o.st.Key, "queue"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.in.To, o.st.Key, "queue/a b.pdf"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := o.intakeCommand(job)
	for i := range 2 {
		if out, err := exec.Command("/bin/sh", "-c", cmd).CombinedOutput(); err != nil {
			t.Fatalf("run %d: %v: %s", i, err, out)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "intake.log"))
	if string(b) != "queue/a b.pdf\n" {
		t.Fatalf("intake log %q", b)
	}
	// Another job (or the same name with other content) is its own.
	other := job
	other.SHA256 = strings.Repeat("d", 64)
	if out, err := exec.Command("/bin/sh", "-c", o.intakeCommand(other)).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "intake.log")); strings.Count(string(b), "\n") != 2 {
		t.Fatalf("intake log %q", b)
	}
}
