package agentdeploy

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeSudo is a `sudo` first on the server's PATH that logs its
// arguments and runs them (after -n), or refuses like sudo without a
// NOPASSWD rule.
func fakeSudo(t *testing.T, refuse bool) (env []string, log string) {
	t.Helper()
	bin := t.TempDir()
	log = filepath.Join(t.TempDir(), "sudo.log")
	body := "[ \"$1\" = -n ] || exit 98\nshift\nexec \"$@\""
	if refuse {
		body = "echo 'sudo: a password is required' >&2; exit 1"
	}
	script := "#!/bin/sh\necho \"$*\" >>'" + log + "'\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"PATH=" + bin + ":" + os.Getenv("PATH")}, log
}

// With Sudo the agent starts as `sudo -n AGENT serve`; a sudo that asks
// for a password fails the start naming the command sudoers must allow.
func TestStartThroughSudo(t *testing.T) {
	dir := agentDir(t)
	inst := filepath.Join(t.TempDir(), "umzug-agent")
	bin, err := os.ReadFile(filepath.Join(dir, "umzug-agent-linux-"+runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inst, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	env, log := fakeSudo(t, false)
	o := Options{Host: "h1", Locator: Locator{Dir: dir, NoExecutableDir: true}, Home: t.TempDir(), AgentPath: inst, Sudo: true}
	start(t, dialEnv(t, env), o)
	b, _ := os.ReadFile(log)
	if got := strings.TrimSpace(string(b)); got != "-n "+inst+" serve" {
		t.Fatalf("sudo called with %q, want %q", got, "-n "+inst+" serve")
	}

	env, _ = fakeSudo(t, true)
	_, err = Start(context.Background(), dialEnv(t, env), o)
	if err == nil || !strings.Contains(err.Error(), "sudo: a password is required") || !strings.Contains(err.Error(), inst+" serve") {
		t.Fatalf("refused sudo: %v", err)
	}
}
