package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkerUnitVerifies runs `systemd-analyze verify` on an instance of
// the worker unit, with ExecStart pointing at an existing binary.
func TestWorkerUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile("umzug-worker@.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "ExecStart=/usr/local/bin/umzug worker --queue %i") {
		t.Fatal("ExecStart no longer runs `umzug worker --queue %i`")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inst := filepath.Join(dir, "umzug-worker@lemgo.service")
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/umzug", bin)
	if err := os.WriteFile(inst, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", inst).CombinedOutput()
	if err != nil || strings.Contains(string(out), inst) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
