package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/umzug-dev/umzug/internal/units"
	"github.com/umzug-dev/umzug/plans"
	"github.com/umzug-dev/umzug/workflows"
)

// printPlanSteps prints the cutover in order; the members of a parallel
// group share one number, lettered, under the group's line.
func printPlanSteps(w io.Writer, steps []planStep) {
	n := 0
	for i := 0; i < len(steps); {
		n++
		g := steps[i].Group
		if g == 0 {
			printPlanStep(w, n, steps[i])
			if steps[i].Estimate != "" {
				fmt.Fprintf(w, "         counts %s\n", steps[i].Estimate)
			}
			i++
			continue
		}
		j := i
		for j < len(steps) && steps[j].Group == g {
			j++
		}
		fmt.Fprintf(w, "    %d. at once (counts its longest member):\n", n)
		for k, s := range steps[i:j] {
			var sb strings.Builder
			printPlanStep(&sb, n, s)
			line := strings.Replace(sb.String(), fmt.Sprintf("    %d. ", n), fmt.Sprintf("       %c) ", 'a'+k), 1)
			fmt.Fprint(w, line)
			if s.Estimate != "" {
				fmt.Fprintf(w, "         counts %s\n", s.Estimate)
			}
		}
		i = j
	}
}

// predictSteps fills each step's estimate as the window predictor counts
// it before the final sync's delta is known and returns the total: a
// step its timeout (else workflows.DefaultCommandEstimate), a check every
// attempt and pause, the final sync the fixed cost per set of its
// slowest host pair, and a parallel group its longest member. steps are
// the report's lines of app's cutover blocks, index by index.
func predictSteps(steps []planStep, app *plans.Application) string {
	pairs := map[[2]*plans.Host]int{}
	most := 0
	for _, c := range app.Copies {
		k := [2]*plans.Host{app.CopySource(c), app.CopyTarget(c)}
		pairs[k]++
		most = max(most, pairs[k])
	}
	blocks := app.Cutover.Blocks
	est := func(b *plans.Block) time.Duration {
		cmd := workflows.DefaultCommandEstimate
		if b.Timeout > 0 {
			cmd = b.Timeout
		}
		switch b.Kind {
		case plans.KindFinalSync:
			return time.Duration(most) * workflows.PerSetOverhead
		case plans.KindCheck:
			n := 1 + max(0, b.Retries)
			return time.Duration(n)*cmd + time.Duration(n-1)*b.Interval
		}
		return cmd
	}
	var total time.Duration
	for i := 0; i < len(blocks) && i < len(steps); {
		j, longest := i, time.Duration(0)
		for j < len(blocks) && j < len(steps) && (j == i || (blocks[i].Group > 0 && blocks[j].Group == blocks[i].Group)) {
			d := est(blocks[j])
			steps[j].Estimate = units.Duration(d)
			if blocks[j].Kind == plans.KindFinalSync {
				steps[j].Estimate += " plus the delta"
			}
			longest = max(longest, d)
			j++
		}
		total += longest
		i = j
	}
	return "at least " + units.Duration(total)
}

// hasGroups reports whether a cutover has a parallel group.
func hasGroups(co *plans.Cutover) bool {
	for _, b := range co.Blocks {
		if b.Group > 0 {
			return true
		}
	}
	return false
}
