package main

import (
	"fmt"
	"io"

	"github.com/umzug-dev/umzug/workflows"
)

// printDecisionBinding shows what approvals are bound to (the run digest:
// plan files and variable values) and approvals a reschedule voided.
func printDecisionBinding(w io.Writer, st workflows.Status) {
	if st.RunDigest != "" {
		fmt.Fprintf(w, "run digest  %s (umzug approve --plan FILE --var … recomputes it)\n", st.RunDigest)
	}
	for _, v := range st.Voided {
		fmt.Fprintf(w, "voided      approval of %s\n", v)
	}
}
