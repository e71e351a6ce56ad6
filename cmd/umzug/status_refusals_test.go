package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/workflows"
)

// Status text names every refused path with its kind and whether the
// plan accepted it.
func TestPrintStatusShowsRefusals(t *testing.T) {
	st := workflows.Status{Phase: workflows.PhaseFailed, Refusals: []workflows.CopyRefusals{{
		Set: "data", Phase: "seed", Total: 2, Unaccepted: 1,
		ByKind:        map[string]int64{"fifo": 1, "socket": 1},
		AcceptedKinds: []string{"socket", "changed"},
		Paths: []contract.Refusal{
			{Path: "run/app.sock", Kind: "socket", Reason: "socket", Accepted: true},
			{Path: "run/app.fifo", Kind: "fifo", Reason: "named pipe"},
		},
	}}}
	var b bytes.Buffer
	printStatus(&b, "umzug/p/a", st, nil)
	for _, want := range []string{
		"refused     data seed: 2 (fifo 1, not accepted; socket 1)",
		"run/app.fifo  fifo: named pipe (NOT ACCEPTED)",
		"run/app.sock  socket: socket (accepted)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Fatalf("status text lacks %q:\n%s", want, b.String())
		}
	}
}
