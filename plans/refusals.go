package plans

import (
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/umzug-dev/umzug/activities/contract"
)

// acceptRefusals reads a copy block's accept_refusals: a list of refusal
// kinds. Each unknown kind is reported at its own list element when the
// list is written out literally.
func (l *loader) acceptRefusals(a *hcl.Attribute, copyName string) []string {
	kinds, ok := l.strList(a, "accept_refusals")
	if !ok {
		return nil
	}
	elems, _ := hcl.ExprList(a.Expr)
	at := func(i int) hcl.Range {
		if len(elems) == len(kinds) {
			return elems[i].Range()
		}
		return a.Expr.Range()
	}
	seen := map[string]bool{}
	var out []string
	for i, k := range kinds {
		switch {
		case !contract.KnownRefusal(k):
			l.errorf(at(i), "Unknown refusal kind",
				"copy %q: accept_refusals has %q, which is not a refusal kind.%s The kinds are: %s.",
				copyName, k, didYouMean(k, contract.RefusalKinds), strings.Join(contract.RefusalKinds, ", "))
		case seen[k]:
			l.warnf(at(i), "Duplicate refusal kind", "copy %q: %q is listed twice in accept_refusals.", copyName, k)
		default:
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
