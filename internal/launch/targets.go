package launch

import (
	"context"
	"fmt"
	"net"
	"path"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/umzug-dev/umzug/workflows"
)

// maxOpenScanned bounds how many open workflows one start reads: a
// namespace with more open umzug workflows than that is refused rather
// than checked in part.
const maxOpenScanned = 5000

// TargetUse is one copy set's target directory as a workflow writes it.
type TargetUse struct {
	Host     string // canonical host:port of the target
	HostName string // the plan's name for it
	To       string
	Plan     string
	App      string
	Set      string
	Workflow string // ID of the workflow that writes (or would write) there
}

func (u TargetUse) String() string {
	return fmt.Sprintf("plan %s, application %s, copy %q → %s:%s", u.Plan, u.App, u.Set, u.HostName, u.To)
}

// TargetConflict is a directory that a move about to start and an open
// workflow would both write.
type TargetConflict struct {
	New, Open TargetUse
}

func (c TargetConflict) Error() string {
	return fmt.Sprintf("%s overlaps %s, written by the open workflow %s (%s): two moves must not write the same directory. "+
		"Let that workflow end (commit, roll back or stop its standby) first, or give this copy set another `to`",
		c.New, c.Open.To, c.Open.Workflow, c.Open)
}

// canonicalHost makes one spelling of a target's address: the host part
// lower-cased without brackets or a trailing dot, the port explicit (22).
// Two plans naming the same address are then seen as one host; two
// different names for one machine (an alias, another IP) are not, since
// the launcher does no name resolution.
func canonicalHost(addr string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		h, p = addr, "22"
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	return net.JoinHostPort(h, p)
}

// usesOf lists the targets of one move's copy sets.
func usesOf(id string, in workflows.MoveInput) []TargetUse {
	var out []TargetUse
	for _, c := range in.Copies {
		out = append(out, TargetUse{
			Host: canonicalHost(in.Target.Address), HostName: in.Target.Name, To: path.Clean(c.To),
			Plan: in.PlanName, App: in.Application, Set: c.Name, Workflow: id,
		})
	}
	return out
}

// standbyUses lists the targets a standby's syncs write.
func standbyUses(id string, in workflows.StandbyInput) []TargetUse {
	return usesOf(id, workflows.MoveInput{Subject: in.Subject, Copies: in.Copies})
}

// Conflicts pairs every new use with the open uses it overlaps (equal or
// nested directories on the same host). Uses of the same plan and
// application are not conflicts: they are the application's own standby,
// failover or failback, which the workflows order among themselves.
func Conflicts(fresh, open []TargetUse) []TargetConflict {
	var out []TargetConflict
	for _, n := range fresh {
		for _, o := range open {
			if n.Host != o.Host || n.Workflow == o.Workflow || (n.Plan == o.Plan && n.App == o.App) {
				continue
			}
			if nestedPaths(n.To, o.To) {
				out = append(out, TargetConflict{New: n, Open: o})
				break
			}
		}
	}
	return out
}

// nestedPaths reports whether two absolute paths are equal or one lies
// inside the other.
func nestedPaths(a, b string) bool {
	if a == b || a == "/" || b == "/" {
		return true
	}
	return strings.HasPrefix(b, a+"/") || strings.HasPrefix(a, b+"/")
}

// jobUses lists what the jobs about to start would write.
func jobUses(jobs []startJob) []TargetUse {
	var out []TargetUse
	for _, j := range jobs {
		switch in := j.input.(type) {
		case workflows.MoveInput:
			out = append(out, usesOf(j.id, in)...)
		case workflows.WaveInput:
			for _, m := range in.Moves {
				out = append(out, usesOf(workflows.MoveID(m.PlanName, m.Application), m)...)
			}
		}
	}
	return out
}

// OpenTargets reads the targets of every open umzug workflow that writes
// copy sets: moves (of any mode), waves (their moves not yet started) and
// standby records (their syncs). Each is read from its start event, the
// input it runs with.
func OpenTargets(ctx context.Context, c client.Client) ([]TargetUse, error) {
	var out []TargetUse
	var token []byte
	scanned := 0
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         `WorkflowId STARTS_WITH "umzug/" AND ExecutionStatus = "Running"`,
			NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list the open umzug workflows to check that no other move writes the same directories: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				continue
			}
			typ := e.GetType().GetName()
			if typ != workflows.MoveWorkflow && typ != workflows.WaveWorkflow && typ != workflows.StandbyWorkflow {
				continue
			}
			if scanned++; scanned > maxOpenScanned {
				return nil, fmt.Errorf("more than %d open umzug workflows: too many to check that no other move writes the same directories", maxOpenScanned)
			}
			uses, err := startedUses(ctx, c, e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId(), typ)
			if err != nil {
				return nil, err
			}
			out = append(out, uses...)
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return out, nil
		}
	}
}

// startedUses reads one open workflow's start event.
func startedUses(ctx context.Context, c client.Client, id, runID, typ string) ([]TargetUse, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, nil
	}
	ev, err := it.Next()
	if err != nil {
		return nil, fmt.Errorf("read the start of open workflow %s: %w", id, err)
	}
	a := ev.GetWorkflowExecutionStartedEventAttributes()
	if a == nil {
		return nil, nil
	}
	dc := converter.GetDefaultDataConverter()
	switch typ {
	case workflows.MoveWorkflow:
		var in workflows.MoveInput
		if dc.FromPayloads(a.GetInput(), &in) != nil {
			return nil, fmt.Errorf("open workflow %s: its input cannot be read as a move's, so it is unknown what it writes", id)
		}
		return usesOf(id, in), nil
	case workflows.WaveWorkflow:
		var in workflows.WaveInput
		if dc.FromPayloads(a.GetInput(), &in) != nil {
			return nil, fmt.Errorf("open workflow %s: its input cannot be read as a wave's, so it is unknown what it writes", id)
		}
		var out []TargetUse
		for _, m := range in.Moves {
			out = append(out, usesOf(id, m)...)
		}
		return out, nil
	default:
		var in workflows.StandbyInput
		if dc.FromPayloads(a.GetInput(), &in) != nil {
			return nil, fmt.Errorf("open workflow %s: its input cannot be read as a standby's, so it is unknown what it writes", id)
		}
		return standbyUses(id, in), nil
	}
}

// checkTargetsFree refuses jobs that would write where an open workflow
// of another plan or application writes.
func checkTargetsFree(ctx context.Context, c client.Client, jobs []startJob) error {
	fresh := jobUses(jobs)
	if len(fresh) == 0 {
		return nil
	}
	open, err := OpenTargets(ctx, c)
	if err != nil {
		return err
	}
	cs := Conflicts(fresh, open)
	if len(cs) == 0 {
		return nil
	}
	msgs := make([]string, len(cs))
	for i, x := range cs {
		msgs[i] = x.Error()
	}
	return fmt.Errorf("nothing started: %s", strings.Join(msgs, "; "))
}
