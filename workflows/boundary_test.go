package workflows

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWorkflowsCompileWithoutActivityImplementations: workflow code sees
// the activities only through package contract. If it imported the
// implementation again, SSH and SFTP would be one call away from
// deterministic code, and every engine change would rebuild the workflows.
func TestWorkflowsCompileWithoutActivityImplementations(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{
		"github.com/umzug-dev/umzug/activities", // the implementation; activities/contract is allowed
		"github.com/pkg/sftp",
		"golang.org/x/crypto/ssh",
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 || deps[len(deps)-1] != "github.com/umzug-dev/umzug/workflows" {
		t.Fatalf("go list -deps did not list this package last: %q", out)
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") && !strings.HasPrefix(d, "github.com/umzug-dev/umzug/activities/contract") {
				t.Errorf("workflows depends on %s; import github.com/umzug-dev/umzug/activities/contract for activity names and types instead", d)
			}
		}
	}
}
