package activities

import "github.com/umzug-dev/umzug/internal/pathfilter"

// Filter decides which entries of a copy set take part in a copy, with the
// same rules in preflight, the copy engine and the delta scan.
type Filter = pathfilter.Filter

// NewFilter compiles a copy set's exclude and include globs.
func NewFilter(exclude, include []string) (*Filter, error) {
	return pathfilter.NewFilter(exclude, include)
}
