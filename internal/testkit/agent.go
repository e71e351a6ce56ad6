package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	agentOnce sync.Once
	agentDir  string
	agentOut  []byte
	agentErr  error
)

// AgentDir builds cmd/umzug-agent once per test binary, static (CGO off)
// as it is uploaded to hosts, into a directory under the name the worker
// looks for (umzug-agent-linux-<arch>). Short tests skip: the build takes
// seconds.
func AgentDir(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds cmd/umzug-agent")
	}
	dir, err := BuildAgent()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// BuildAgent is AgentDir for a TestMain: the directory, or why the build
// failed.
func BuildAgent() (string, error) {
	agentOnce.Do(func() {
		if agentDir, agentErr = os.MkdirTemp("", "umzug-test-agent-"); agentErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", AgentBin(agentDir), "github.com/umzug-dev/umzug/cmd/umzug-agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		agentOut, agentErr = cmd.CombinedOutput()
	})
	if agentErr != nil {
		return "", fmt.Errorf("go build cmd/umzug-agent: %v\n%s", agentErr, agentOut)
	}
	return agentDir, nil
}

// AgentBin is the agent's path for this machine's architecture in dir.
func AgentBin(dir string) string { return filepath.Join(dir, "umzug-agent-linux-"+runtime.GOARCH) }
