package audit

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

func ts(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// cell escapes a value for a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// WriteMarkdown writes the human-readable report.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Audit report: %s\n\n", r.WorkflowID)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Workflow | %s (%s), run %s |\n", cell(r.WorkflowID), cell(r.WorkflowType), cell(r.RunID))
	fmt.Fprintf(&b, "| Plan | %s |\n", cell(r.PlanName))
	fmt.Fprintf(&b, "| Plan SHA-256 | `%s` |\n", r.PlanSHA256)
	if r.RunDigest != "" {
		fmt.Fprintf(&b, "| Run digest (files and variable values) | `%s` |\n", r.RunDigest)
	}
	if r.Application != "" {
		fmt.Fprintf(&b, "| Application | %s |\n", cell(r.Application))
		fmt.Fprintf(&b, "| Source | %s |\n| Target | %s |\n", cell(r.Source), cell(r.Target))
	}
	fmt.Fprintf(&b, "| Started by | %s (client identity %s) at %s |\n", cell(r.StartedBy), cell(r.StartIdentity), ts(r.Started))
	if r.Closed {
		fmt.Fprintf(&b, "| Outcome | **%s** (workflow %s at %s) |\n", cell(r.FinalPhase), r.CloseState, ts(r.ClosedAt))
	} else {
		fmt.Fprintf(&b, "| Outcome | still running, phase %s |\n", cell(r.FinalPhase))
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "| Error | %s |\n", cell(r.Error))
	}
	fmt.Fprintf(&b, "| History | %d events |\n", r.Events)
	fmt.Fprintf(&b, "| Replay against this build | %s |\n\n", cell(r.Replay))

	if len(r.Phases) > 0 {
		b.WriteString("## Phases\n\n| time | phase |\n|---|---|\n")
		for _, p := range r.Phases {
			fmt.Fprintf(&b, "| %s | %s |\n", ts(p.At), p.Phase)
		}
		b.WriteString("\n")
	}

	b.WriteString("## Approvals and other decisions\n\n")
	if len(r.Decisions) == 0 {
		b.WriteString("No signal was received.\n\n")
	} else {
		b.WriteString("| time | signal | identity | comment | via | decision | plan SHA-256 given | run digest given |\n|---|---|---|---|---|---|---|---|\n")
		for _, d := range r.Decisions {
			verdict := "accepted"
			if !d.Accepted {
				verdict = "refused: " + d.Reason
			}
			if d.Name == workflows.RecordApprovalsVoided {
				verdict = "approvals voided"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", ts(d.At), d.Name, cell(d.Identity), cell(d.Comment), d.Via,
				cell(verdict), cell(d.PlanSHA256), cell(d.RunDigest))
		}
		b.WriteString("\n")
	}
	if len(r.Received) > 0 {
		b.WriteString("### As received by the Temporal server\n\n| time | kind | name | client identity | payload | outcome |\n|---|---|---|---|---|---|\n")
		for _, x := range r.Received {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | `%s` | %s |\n", ts(x.At), x.Kind, x.Name, cell(x.Identity), strings.ReplaceAll(string(x.Payload), "|", `\|`), cell(x.Outcome))
		}
		b.WriteString("\n")
	}

	b.WriteString("## Commands\n\n")
	if len(r.Commands) == 0 {
		b.WriteString("No command ran.\n\n")
	} else {
		b.WriteString("| started | purpose | host | command | exit code |\n|---|---|---|---|---|\n")
		for _, c := range r.Commands {
			exit := "—"
			if c.ExitCode != nil {
				exit = fmt.Sprint(*c.ExitCode)
			}
			if c.Failure != "" {
				exit += " (" + c.Failure + ")"
			}
			start := c.Started
			if start.IsZero() {
				start = c.Scheduled
			}
			fmt.Fprintf(&b, "| %s | %s | %s (%s) | `%s` | %s |\n", ts(start), cell(c.Purpose), cell(c.Host), cell(c.Address), strings.ReplaceAll(c.Command, "|", `\|`), cell(exit))
		}
		b.WriteString("\n")
		r.writeAttempts(&b)
	}

	b.WriteString("## Copies and verification\n\n")
	if len(r.Copies) == 0 {
		b.WriteString("Nothing was copied.\n\n")
	} else {
		b.WriteString("| set | phase | files | bytes | copied files | copied bytes | deleted | refused | verify | verified | manifest | manifest SHA-256 |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, c := range r.Copies {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %s | %d by %s | %s (%d entries) | `%s` |\n",
				c.Set, c.Phase, c.Files, c.Bytes, c.CopiedFiles, c.CopiedBytes, c.Deleted, c.Refused,
				c.Verify, c.Verified, cell(c.VerifiedBy), cell(c.ManifestPath), c.ManifestEntries, c.ManifestSHA256)
		}
		b.WriteString("\nEach manifest lives on the target host; `sha256sum` of it must equal the digest above.\n\n")
	}

	writeRefusals(&b, r.Refusals)

	if len(r.Undone) > 0 || len(r.Attention) > 0 {
		b.WriteString("## Rollback\n\n")
		for _, u := range r.Undone {
			fmt.Fprintf(&b, "- undone: %s\n", u)
		}
		for _, a := range r.Attention {
			fmt.Fprintf(&b, "- **needs manual attention:** %s\n", a)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
