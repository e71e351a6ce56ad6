package plans

import (
	"os"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Every refusal kind a plan may accept is explained in the plan language
// document's refusal table.
func TestDocListsRefusalKinds(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if f := strings.Split(line, "|"); len(f) > 2 {
			rows[strings.TrimSpace(f[1])] = true
		}
	}
	for _, k := range contract.RefusalKinds {
		if !rows["`"+k+"`"] {
			t.Errorf("refusal kind %s has no row in %s", k, docPath)
		}
	}
}
