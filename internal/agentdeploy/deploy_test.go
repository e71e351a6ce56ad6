//go:build linux

package agentdeploy

import (
	"context"
	"github.com/umzug-dev/umzug/internal/testkit"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/sshserver"
)

// agentDir is the agent built for this test binary.
func agentDir(t *testing.T) string { return testkit.AgentDir(t) }

func dial(t *testing.T) *ssh.Client { return dialEnv(t, nil) }

// dialEnv reaches an in-process SSH server whose commands get env.
func dialEnv(t *testing.T, env []string) *ssh.Client {
	t.Helper()
	key, err := sshserver.WriteKeyPair(filepath.Join(t.TempDir(), "id"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sshserver.Start(sshserver.Options{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{User: "migrate", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(srv.HostKey()), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func start(t *testing.T, c *ssh.Client, o Options) *Agent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := Start(ctx, c, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	// It serves: a root opens and lists.
	r, err := a.OpenRoot(ctx, filepath.Dir(a.Path), agentproto.RoleSource)
	if err != nil {
		t.Fatalf("open root through the started agent: %v", err)
	}
	if _, err := r.Lstat(ctx, "umzug-agent"); err != nil {
		t.Fatalf("lstat through the agent: %v", err)
	}
	return a
}

func TestUploadOnceVerifyEveryStart(t *testing.T) {
	dir := agentDir(t)
	c := dial(t)
	home := t.TempDir()
	o := Options{Host: "h1", Locator: Locator{Dir: dir, NoExecutableDir: true}, Home: home}

	a := start(t, c, o)
	if !a.Uploaded || !strings.HasPrefix(a.Path, filepath.Join(home, ".umzug", "agent", a.Digest[:16])+"/") {
		t.Fatalf("first start: uploaded=%v path=%s", a.Uploaded, a.Path)
	}
	for _, d := range []string{".umzug", ".umzug/agent", ".umzug/agent/" + a.Digest[:16]} {
		fi, err := os.Lstat(filepath.Join(home, d))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v, want a 0700 directory", d, fi.Mode(), err)
		}
	}
	if fi, _ := os.Lstat(a.Path); fi.Mode().Perm() != 0o700 {
		t.Fatalf("agent mode %v, want 0700", fi.Mode())
	}

	if b := start(t, c, o); b.Uploaded || b.Path != a.Path {
		t.Fatalf("second start uploaded again (%v) or moved (%s)", b.Uploaded, b.Path)
	}

	// A changed binary is found before the start and replaced.
	replace(t, a.Path, []byte("#!/bin/sh\necho pwned >&2\n"))
	if b := start(t, c, o); !b.Uploaded {
		t.Fatal("a tampered agent was started without being replaced")
	}
}

func TestUnsafePlacesRefused(t *testing.T) {
	dir := agentDir(t)
	c := dial(t)
	ctx := context.Background()
	loc := Locator{Dir: dir, NoExecutableDir: true}

	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".umzug"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(home, ".umzug"), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(ctx, c, Options{Host: "h1", Locator: loc, Home: home}); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("world-writable ~/.umzug: %v", err)
	}

	home2 := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(home2, ".umzug")); err != nil {
		t.Fatal(err)
	}
	if _, err := Start(ctx, c, Options{Host: "h1", Locator: loc, Home: home2}); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("symlinked ~/.umzug: %v", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatalf("wrote through the symlink: %v", ents)
	}
}

func TestMissingAgentNamesBuildCommand(t *testing.T) {
	c := dial(t)
	empty := t.TempDir()
	_, err := Start(context.Background(), c, Options{Host: "h9", Locator: Locator{Dir: empty, NoExecutableDir: true}, Home: t.TempDir()})
	want := "CGO_ENABLED=0 GOOS=linux GOARCH=" + runtime.GOARCH + " go build -o " + filepath.Join(empty, "umzug-agent-linux-"+runtime.GOARCH) + " ./cmd/umzug-agent"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "h9") || !strings.Contains(err.Error(), empty) {
		t.Fatalf("got %v, want the host, the directory and %q", err, want)
	}
}

func TestInstalledAgentPath(t *testing.T) {
	dir := agentDir(t)
	c := dial(t)
	home := t.TempDir()
	inst := filepath.Join(t.TempDir(), "umzug-agent")
	bin, err := os.ReadFile(filepath.Join(dir, "umzug-agent-linux-"+runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inst, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	o := Options{Host: "h1", Locator: Locator{Dir: dir, NoExecutableDir: true}, Home: home, AgentPath: inst}
	a := start(t, c, o)
	if a.Uploaded || a.Path != inst {
		t.Fatalf("installed agent: uploaded=%v path=%s", a.Uploaded, a.Path)
	}
	if _, err := os.Lstat(filepath.Join(home, ".umzug")); err == nil {
		t.Fatal("an installed agent still created ~/.umzug")
	}
	replace(t, inst, append(bin, 0))
	if _, err := Start(context.Background(), c, o); err == nil || !strings.Contains(err.Error(), "not the worker's agent") {
		t.Fatalf("a different installed agent: %v", err)
	}
}

func TestGOARCH(t *testing.T) {
	for in, want := range map[string]string{"x86_64\n": "amd64", "aarch64": "arm64", "arm64": "arm64"} {
		if got, err := GOARCH(in); got != want || err != nil {
			t.Errorf("GOARCH(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := GOARCH("riscv64"); err == nil {
		t.Error("riscv64 accepted")
	}
}

// replace puts b under p by rename (the running agent keeps p busy).
func replace(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p+".new", b, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
}

// An installed agent the host cannot execute (here: no x bit, as on a
// noexec mount) fails naming agent_path and the way out.
func TestNotExecutableNamesAgentPath(t *testing.T) {
	dir := agentDir(t)
	c := dial(t)
	inst := filepath.Join(t.TempDir(), "umzug-agent")
	bin, err := os.ReadFile(filepath.Join(dir, "umzug-agent-linux-"+runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inst, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), c, Options{Host: "h1", Locator: Locator{Dir: dir, NoExecutableDir: true}, Home: t.TempDir(), AgentPath: inst})
	if err == nil || !strings.Contains(err.Error(), "agent_path") {
		t.Fatalf("got %v", err)
	}
}
