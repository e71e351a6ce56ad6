package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/umzug-dev/umzug/workflows"
)

// printRefusals shows what each copy left out: "refused: N (kinds...)",
// then one line per listed path, marked accepted or NOT ACCEPTED.
func printRefusals(w io.Writer, list []workflows.CopyRefusals) {
	for _, r := range list {
		var kinds []string
		for k, n := range r.ByKind {
			note := ""
			if !slices.Contains(r.AcceptedKinds, k) {
				note = ", not accepted"
			}
			kinds = append(kinds, fmt.Sprintf("%s %d%s", k, n, note))
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "refused     %s %s: %d (%s)\n", r.Set, r.Phase, r.Total, strings.Join(kinds, "; "))
		for _, p := range r.Paths {
			verdict := "NOT ACCEPTED"
			if p.Accepted {
				verdict = "accepted"
			}
			fmt.Fprintf(w, "              %s  %s: %s (%s)\n", p.Path, p.Kind, p.Reason, verdict)
		}
		if n := r.Total - int64(len(r.Paths)); n > 0 && len(r.Paths) > 0 {
			fmt.Fprintf(w, "              … and %d more not listed\n", n)
		}
	}
}
