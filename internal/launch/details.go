package launch

import (
	"fmt"
	"strings"

	"github.com/umzug-dev/umzug/workflows"
)

// StaticDetails is the markdown the Web UI shows in a workflow's Details
// panel: what the workflow was started to do, fixed at start (the move's
// Current Details show its state as it goes). It holds names, hosts,
// paths and rules from the input, never a command's text: commands may
// name secrets' variables, and the panel is for orientation.
func StaticDetails(input any) string {
	var b strings.Builder
	switch in := input.(type) {
	case workflows.MoveInput:
		moveDetails(&b, in)
	case workflows.WaveInput:
		fmt.Fprintf(&b, "**wave %s** of plan %s, started by %s; at most %d moves at once\n\n", in.Wave, in.PlanName, in.StartedBy, max(in.MaxParallel, 1))
		for _, m := range in.Moves {
			fmt.Fprintf(&b, "- %s: %s → %s (workflow `%s`)\n", m.Application, hostLabel(m.Source.Name, m.Source.Address), hostLabel(m.Target.Name, m.Target.Address), workflows.MoveID(m.PlanName, m.Application))
		}
	}
	return b.String()
}

func hostLabel(name, addr string) string {
	if addr == "" {
		return name
	}
	return fmt.Sprintf("%s (%s)", name, addr)
}

func moveDetails(b *strings.Builder, in workflows.MoveInput) {
	kind := "move"
	if in.Mode != workflows.ModeMove {
		kind = in.Mode
	}
	fmt.Fprintf(b, "**%s of %s** (plan %s), started by %s\n\n", kind, in.Application, in.PlanName, in.StartedBy)
	fmt.Fprintf(b, "- source: %s\n- target: %s\n", hostLabel(in.Source.Name, in.Source.Address), hostLabel(in.Target.Name, in.Target.Address))
	for _, h := range in.Hosts {
		fmt.Fprintf(b, "- host: %s\n", hostLabel(h.Name, h.Address))
	}
	for _, c := range in.Copies {
		del := ""
		if c.Delete {
			del = ", deletes what the source lacks"
		}
		pair := ""
		if c.SourceHost != "" || c.TargetHost != "" {
			s, t := c.SourceHost, c.TargetHost
			if s == "" {
				s = in.Source.Name
			}
			if t == "" {
				t = in.Target.Name
			}
			pair = fmt.Sprintf(" %s → %s:", s, t)
		}
		fmt.Fprintf(b, "- copy %s:%s %s → %s (verify %s%s)\n", c.Name, pair, c.From, c.To, c.Verify, del)
	}
	if len(in.Cutover.Blocks) > 0 {
		b.WriteString("- cutover, in order:")
		for i, blk := range in.Cutover.Blocks {
			name := blk.Name
			if blk.Kind == workflows.BlockFinalSync {
				name = "final_sync"
			}
			sep := ","
			if i == 0 {
				sep = ""
			}
			on := ""
			if blk.On != "" {
				on = " on " + blk.On
			}
			if blk.Group > 0 {
				on += fmt.Sprintf(" (parallel group %d)", blk.Group)
			}
			fmt.Fprintf(b, "%s %s%s", sep, name, on)
		}
		b.WriteString("\n")
	}
	if r := in.Cutover.Approval; r != nil {
		fmt.Fprintf(b, "- approval: %d of %s", r.Quorum, strings.Join(r.Approvers, ", "))
		if r.FourEyes {
			b.WriteString("; four-eyes (the starter cannot approve)")
		}
		b.WriteString("\n")
		if len(r.Operators) > 0 {
			fmt.Fprintf(b, "- commit or roll back during soak: %s\n", strings.Join(r.Operators, ", "))
		}
	}
	if w := in.Cutover.Window; w != nil {
		fmt.Fprintf(b, "- window: %s for %s\n", w.NotBefore.Format("2006-01-02 15:04 -07:00"), w.Duration)
	}
	if in.Soak > 0 {
		fmt.Fprintf(b, "- soak: %s\n", in.Soak)
	}
	b.WriteString("\nDecide with **More Actions → Send an Update** (it answers with the verdict): `approve` " +
		"`{\"approver\": \"NAME\", \"comment\": \"…\"}`, `reject`, and during soak `commit` or `rollback` `{\"by\": \"NAME\"}`. " +
		"Current Details (User Metadata) show the phase, the results and every decision.\n")
}
