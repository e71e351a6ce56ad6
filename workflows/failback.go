package workflows

import (
	"fmt"
	"slices"
)

// FailbackID is the workflow ID of the failback of move id.
func FailbackID(id string) string { return id + "/failback" }

// FailbackInput builds the reverse of a committed move (or failover) from
// its input and final status: source and target swapped, every copy set
// from its `to` back to its `from`, the plan's failback blocks as the
// cutover (their `on` still names the original hosts, so it flips with
// them), the same approval rule, no window. Copying back compares with
// what the original source still holds, so only what changed at the
// partner is transferred.
func FailbackInput(orig MoveInput, st Status, id, by string) (MoveInput, error) {
	switch {
	case orig.Mode == ModeRehearsal:
		return MoveInput{}, fmt.Errorf("%s is a rehearsal: it changed nothing to fail back from", id)
	case st.Phase != PhaseCommitted:
		return MoveInput{}, fmt.Errorf("move %s ended in phase %s: only a committed move or failover can be failed back (a move before commit is rolled back instead)", id, st.Phase)
	case orig.FailbackBlocks == nil:
		return MoveInput{}, fmt.Errorf("move %s was started from a plan without a failback block for %s: add one (from_undo = true or its own steps) and start a new move, or reverse it by hand", id, orig.Application)
	}
	in := MoveInput{
		Subject: Subject{
			PlanName: orig.PlanName, PlanSHA256: orig.PlanSHA256, Application: orig.Application,
			StartedBy: by, Source: orig.Target, Target: orig.Source,
		},
		Description: "failback of " + id,
		Soak:        orig.Soak, Mode: ModeFailback, RunDigest: orig.RunDigest,
		SearchAttributes: orig.SearchAttributes, FailbackOf: id,
		Hosts: slices.Clone(orig.Hosts),
	}
	for _, c := range orig.Copies {
		c.From, c.To = c.To, c.From
		c.SourceHost, c.TargetHost = c.TargetHost, c.SourceHost
		c.Exclude, c.Include = slices.Clone(c.Exclude), slices.Clone(c.Include)
		in.Copies = append(in.Copies, c)
	}
	if a := orig.Cutover.Approval; a != nil {
		r := *a
		in.Cutover.Approval = &r
	}
	in.Cutover.Blocks = flipSides(orig.FailbackBlocks)
	// Failing back the failback moves forward again, as the cutover did.
	in.FailbackBlocks = flipSides(orig.Cutover.Blocks)
	return in, nil
}

// flipSides renames on = "source" to "target" and back: the hosts
// swapped. A block on a named host (on = "host.NAME") keeps it.
func flipSides(blocks []Block) []Block {
	out := make([]Block, 0, len(blocks))
	for _, b := range blocks {
		if b.Kind != BlockFinalSync && stepHostName(b.On) == "" {
			if b.On == "source" {
				b.On = "target"
			} else {
				b.On = "source"
			}
		}
		out = append(out, b)
	}
	return out
}
