package workflows

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/umzug-dev/umzug/activities/contract"
)

// changeRefusalsFail guards the workflow's own check of copy refusals:
// histories recorded before it replay as they ran (their moves went on
// whatever a copy refused).
const changeRefusalsFail = "copy-refusals-fail-the-move"

// refusalKindUnclassified names refusals a copy counted without a kind.
const refusalKindUnclassified = "unclassified"

// maxRefusalPathsInError bounds the paths named in a failure message; the
// status lists up to contract.MaxRefusalsListed per copy.
const maxRefusalPathsInError = 10

// CopyRefusals is what one copy (a set in one phase) left out: counts
// per kind, the kinds the plan accepts, and the first refused paths.
type CopyRefusals struct {
	Set   string `json:"set"`
	Phase string `json:"phase"`
	// Total counts every refusal; Unaccepted those whose kind the copy set
	// does not accept (they fail the move).
	Total      int64            `json:"total"`
	Unaccepted int64            `json:"unaccepted"`
	ByKind     map[string]int64 `json:"by_kind"`
	// AcceptedKinds are the kinds the plan accepts for this set
	// (accept_refusals; a seed also accepts "changed").
	AcceptedKinds []string `json:"accepted_kinds,omitempty"`
	// Paths are the first contract.MaxRefusalsListed refusals, each
	// marked accepted or not.
	Paths []contract.Refusal `json:"paths,omitempty"`
}

// acceptedKinds are the refusal kinds a copy of set in phase may leave
// out without failing: the plan's accept_refusals, and for the seed also
// entries that changed while listed (final_sync copies them again with
// the application stopped).
func acceptedKinds(set contract.CopySet, phase string) []string {
	kinds := slices.Clone(set.AcceptRefusals)
	if phase == contract.PhaseSeed && !slices.Contains(kinds, contract.RefusalChanged) {
		kinds = append(kinds, contract.RefusalChanged)
	}
	return kinds
}

// summarizeRefusals builds the status record of one copy's refusals, or
// nil when it refused nothing. Refusals counted without a kind (an engine
// that predates kinds) are never accepted.
func summarizeRefusals(set contract.CopySet, phase string, res contract.CopyResult) *CopyRefusals {
	byKind := map[string]int64{}
	var classified int64
	for _, k := range sortedKinds(res.RefusedByKind) {
		if n := res.RefusedByKind[k]; n > 0 {
			byKind[k] = n
			classified += n
		}
	}
	if res.Refused > classified {
		byKind[refusalKindUnclassified] += res.Refused - classified
	}
	if len(byKind) == 0 {
		return nil
	}
	accepted := acceptedKinds(set, phase)
	r := &CopyRefusals{Set: set.Name, Phase: phase, ByKind: byKind, AcceptedKinds: accepted}
	for _, k := range sortedKinds(byKind) {
		n := byKind[k]
		r.Total += n
		if !slices.Contains(accepted, k) {
			r.Unaccepted += n
		}
	}
	for _, p := range res.RefusalList {
		if len(r.Paths) == contract.MaxRefusalsListed {
			break
		}
		p.Accepted = slices.Contains(accepted, p.Kind)
		r.Paths = append(r.Paths, p)
	}
	return r
}

// noteRefusals records a copy's refusals in the status. Recording adds
// no command, so it needs no version guard.
func (m *move) noteRefusals(set contract.CopySet, phase string, res contract.CopyResult) *CopyRefusals {
	r := summarizeRefusals(set, phase, res)
	if r != nil {
		m.st.Refusals = append(m.st.Refusals, *r)
	}
	return r
}

// noteRefusalsOf records the refusals a failed copy carried in its error
// details (an activity that refuses a copy returns its CopyResult there).
func (m *move) noteRefusalsOf(set contract.CopySet, phase string, err error) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.Type() != contract.ErrCopyRefused || !app.HasDetails() {
		return
	}
	var res contract.CopyResult
	if app.Details(&res) != nil {
		return
	}
	m.noteRefusals(set, phase, res)
}

// refusalsFail records the refusals of a successful copy and returns why
// the move must not go on, or "" when every refusal is accepted.
func (m *move) refusalsFail(ctx workflow.Context, set contract.CopySet, phase string, res contract.CopyResult) string {
	r := m.noteRefusals(set, phase, res)
	if workflow.GetVersion(ctx, changeRefusalsFail, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return ""
	}
	if r == nil || r.Unaccepted == 0 {
		return ""
	}
	return r.explain(m.in.Source.Name)
}

// sortedKinds returns the keys of a count map in order, so the workflow
// never depends on map iteration order.
func sortedKinds(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	// The keys are sorted below, so the iteration order does not matter.
	//workflowcheck:ignore
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// explain says what was refused, where, and what to do.
func (r *CopyRefusals) explain(source string) string {
	var kinds []string
	for _, k := range sortedKinds(r.ByKind) {
		if !slices.Contains(r.AcceptedKinds, k) {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, r.ByKind[k]))
		}
	}
	var paths []string
	for _, p := range r.Paths {
		if !p.Accepted && len(paths) < maxRefusalPathsInError {
			paths = append(paths, fmt.Sprintf("%s (%s)", p.Path, p.Kind))
		}
	}
	named := ""
	if len(paths) > 0 {
		named = ": " + strings.Join(paths, ", ")
		if int64(len(paths)) < r.Unaccepted {
			named += fmt.Sprintf(" and %d more (umzug status lists up to %d)", r.Unaccepted-int64(len(paths)), contract.MaxRefusalsListed)
		}
	}
	entries := "entries"
	if r.Unaccepted == 1 {
		entries = "entry"
	}
	return fmt.Sprintf("copy set %s (%s) left out %d %s on %s that the plan does not accept (%s)%s; fix them on the source, exclude them, or list their kinds in accept_refusals of copy %q",
		r.Set, r.Phase, r.Unaccepted, entries, source, strings.Join(kinds, ", "), named, r.Set)
}
