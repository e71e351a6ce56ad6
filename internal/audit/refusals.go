package audit

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/umzug-dev/umzug/workflows"
)

// writeRefusals lists what each copy left out, per kind and per path,
// and whether the plan accepted it: a move commits only when every
// refusal was accepted.
func writeRefusals(b *strings.Builder, list []workflows.CopyRefusals) {
	b.WriteString("## Refusals\n\n")
	if len(list) == 0 {
		b.WriteString("No copy left anything out.\n\n")
		return
	}
	b.WriteString("| set | phase | kind | count | accepted by the plan |\n|---|---|---|---|---|\n")
	for _, r := range list {
		kinds := make([]string, 0, len(r.ByKind))
		for k := range r.ByKind {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(b, "| %s | %s | %s | %d | %s |\n", cell(r.Set), r.Phase, k, r.ByKind[k], yesNo(slices.Contains(r.AcceptedKinds, k)))
		}
	}
	b.WriteString("\n| set | phase | path | kind | reason | accepted |\n|---|---|---|---|---|---|\n")
	for _, r := range list {
		for _, p := range r.Paths {
			fmt.Fprintf(b, "| %s | %s | `%s` | %s | %s | %s |\n", cell(r.Set), r.Phase, strings.ReplaceAll(p.Path, "|", `\|`), p.Kind, cell(p.Reason), yesNo(p.Accepted))
		}
		if n := r.Total - int64(len(r.Paths)); n > 0 {
			fmt.Fprintf(b, "| %s | %s | … %d more not listed | | | |\n", cell(r.Set), r.Phase, n)
		}
	}
	b.WriteString("\n")
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
