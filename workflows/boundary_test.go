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
		"golang.org/x/crypto/ssh/agent",
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
	checkSSHOnlyForSignatures(t, goTool)
}

// checkSSHOnlyForSignatures: golang.org/x/crypto/ssh is in the workflow's
// build only for verifying signed decisions (public-key parsing and
// signature checks, package decisionsig); nothing else in it may import
// the package that also dials SSH connections.
func checkSSHOnlyForSignatures(t *testing.T, goTool string) {
	out, err := exec.Command(goTool, "list", "-deps", "-f", `{{.ImportPath}} {{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := map[string]bool{
		"github.com/umzug-dev/umzug/internal/decisionsig":    true,
		"github.com/umzug-dev/umzug/internal/allowedsigners": true,
		"github.com/hiddeco/sshsig":                          true,
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || allowed[f[0]] || strings.HasPrefix(f[0], "golang.org/x/crypto/") {
			continue
		}
		for _, imp := range f[1:] {
			if imp == "golang.org/x/crypto/ssh" {
				t.Errorf("%s imports golang.org/x/crypto/ssh; workflow code reaches SSH only through internal/decisionsig (signature checks)", f[0])
			}
		}
	}
}
