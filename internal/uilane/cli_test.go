//go:build uilane

package uilane

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

// cli runs the umzug binary against the dev server, as a user in another
// terminal would.
type cli struct {
	bin string
	dev *devServer
}

// run returns the exit code and output of one command, bounded to 2m.
func (c cli) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+c.dev.Address, "TEMPORAL_NAMESPACE=default",
		"TEMPORAL_UI_URL="+c.dev.UI)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := -1 // did not start, or was killed
	if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() >= 0 {
		code = cmd.ProcessState.ExitCode()
	}
	if err != nil && code == 0 {
		code = -1
	}
	t.Logf("umzug %s → exit %d\n%s", strings.Join(args, " "), code, out.String())
	return code, out.String()
}

// mustRun fails the test unless the command exits 0.
func (c cli) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out := c.run(t, args...)
	if code != 0 {
		t.Fatalf("umzug %s exited %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// status is `umzug status ID -o json`.
func (c cli) status(t *testing.T, id string) workflows.Status {
	t.Helper()
	code, out := c.quiet(id)
	if code != 0 {
		t.Fatalf("umzug status %s -o json exited %d:\n%s", id, code, out)
	}
	var st workflows.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("umzug status %s -o json is not a status: %v\n%s", id, err, out)
	}
	return st
}

// waitStatus polls the status (quietly) until ok holds, and fails with
// the last status when limit passes or the move ended elsewhere.
func (c cli) waitStatus(t *testing.T, id, what string, limit time.Duration, ok func(workflows.Status) bool) workflows.Status {
	t.Helper()
	var st workflows.Status
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		code, out := c.quiet(id)
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			continue
		}
		if ok(st) {
			t.Logf("%s: phase %s after polling", what, st.Phase)
			return st
		}
		if final(st.Phase) {
			t.Fatalf("waiting for %s, the move ended as %s: %s", what, st.Phase, pretty(st))
		}
	}
	t.Fatalf("waiting for %s: not reached within %s; last status: %s", what, limit, pretty(st))
	return st
}

// quiet is `status -o json` without logging every poll.
func (c cli) quiet(id string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, "status", id, "-o", "json")
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+c.dev.Address, "TEMPORAL_NAMESPACE=default")
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		return 1, string(out) + errOut.String() + err.Error()
	}
	return 0, string(out)
}

func final(phase string) bool {
	switch phase {
	case workflows.PhaseCommitted, workflows.PhaseFailed, workflows.PhaseRejected, workflows.PhaseExpired, workflows.PhaseRolledBack:
		return true
	}
	return false
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
