package mirror

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The engine must build without Temporal: an agent-side or command-line
// user links it alone.
func TestNoTemporalDependency(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "go.temporal.io") || strings.Contains(p, "umzug/activities") && p != "github.com/umzug-dev/umzug/activities/contract" {
			t.Errorf("internal/mirror depends on %s", p)
		}
	}
}
