package mirror

import "github.com/umzug-dev/umzug/internal/pathfilter"

// Filter decides which entries of a copy set take part in a copy: the
// rules of the classic engine, preflight and the delta scan.
type Filter = pathfilter.Filter

// NewFilter compiles a copy set's exclude and include globs.
func NewFilter(exclude, include []string) (*Filter, error) {
	return pathfilter.NewFilter(exclude, include)
}
