package audit

import (
	"slices"
	"sort"

	"github.com/umzug-dev/umzug/workflows"
)

// The Refusals section lists what each copy left out, per kind and per
// path, and whether the plan accepted it: a move commits only when every
// refusal was accepted. These helpers feed the templates.

func sortedKinds(m map[string]int64) []string {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

func acceptedKind(r workflows.CopyRefusals, kind string) bool {
	return slices.Contains(r.AcceptedKinds, kind)
}

func unlisted(r workflows.CopyRefusals) int64 { return r.Total - int64(len(r.Paths)) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
