package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/launch"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// planRehearsal is the latest successful rehearsal of an application and
// the cutover it predicts: the rehearsed steps and checks as measured,
// the others by their timeout or the default estimate.
type planRehearsal struct {
	ID        string               `json:"id,omitempty"`
	Finished  time.Time            `json:"finished,omitzero"`
	Durations []workflows.Measured `json:"durations,omitempty"`
	// Commands is the predicted time of the cutover's steps and checks.
	Commands string `json:"commands_predicted,omitempty"`
	Note     string `json:"note,omitempty"`
}

// addRehearsals looks up, on the Temporal cluster, the latest successful
// rehearsal of each application with a rehearsal block. An unreachable
// cluster is a note, not an error: plan works without one.
func addRehearsals(ctx context.Context, p *plans.Plan, r *planReport) {
	var c client.Client
	for i, a := range p.Applications {
		if a.Rehearsal == nil {
			continue
		}
		if c == nil {
			cl, err := dialFromEnv(ctx, currentUser()+"@umzug-plan")
			if err != nil {
				r.Applications[i].Rehearsal = &planRehearsal{Note: "rehearsals not looked up: " + err.Error()}
				continue
			}
			defer cl.Close()
			c = cl
		}
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rec, err := launch.LatestRehearsal(lctx, c, p.Name, a.Name)
		cancel()
		pr := &planRehearsal{}
		switch {
		case err != nil:
			pr.Note = "rehearsals not looked up: " + err.Error()
		case rec == nil:
			pr.Note = "no successful rehearsal yet (umzug run --rehearsal)"
		default:
			pr.ID, pr.Finished, pr.Durations = rec.ID, rec.Finished, rec.Durations
			pr.Commands = predictCommands(a, rec).Round(time.Second).String()
		}
		r.Applications[i].Rehearsal = pr
	}
}

// predictCommands is what the window predictor counts for the steps and
// checks: measured where the rehearsal ran them; a parallel group counts
// its longest member.
func predictCommands(a *plans.Application, rec *workflows.RehearsalRecord) time.Duration {
	var total time.Duration
	if a.Cutover == nil {
		return 0
	}
	one := func(b *plans.Block) time.Duration {
		if b.Kind == plans.KindFinalSync {
			return 0
		}
		if d, ok := rec.Of(b.Kind, b.Name); ok {
			return d
		}
		one := workflows.DefaultCommandEstimate
		if b.Timeout > 0 {
			one = b.Timeout
		}
		if b.Kind == plans.KindCheck {
			return time.Duration(1+b.Retries)*one + time.Duration(b.Retries)*b.Interval
		}
		return one
	}
	blocks := a.Cutover.Blocks
	for i := 0; i < len(blocks); {
		j, longest := i, time.Duration(0)
		for j < len(blocks) && (j == i || (blocks[i].Group > 0 && blocks[j].Group == blocks[i].Group)) {
			longest = max(longest, one(blocks[j]))
			j++
		}
		total += longest
		i = j
	}
	return total
}

func printPlanRehearsal(w io.Writer, pr *planRehearsal) {
	if pr == nil {
		return
	}
	if pr.ID == "" {
		fmt.Fprintf(w, "  rehearsal: %s\n", pr.Note)
		return
	}
	fmt.Fprintf(w, "  rehearsed: %s, finished %s; steps and checks predicted %s from its measured durations:\n",
		pr.ID, pr.Finished.Format(time.RFC3339), pr.Commands)
	for _, d := range pr.Durations {
		fmt.Fprintf(w, "    measured %s %s: %s\n", d.Kind, d.Name, d.Duration.Round(time.Millisecond))
	}
}
