//go:build linux

package agentclient

import (
	"context"
	"github.com/umzug-dev/umzug/internal/testkit"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// buildAgent is the real agent, built once for this test binary.
func buildAgent(t *testing.T) string { return testkit.AgentBin(testkit.AgentDir(t)) }

// TestAgentBinaryOverSSH uploads nothing (the binary is local) but runs
// `<agent> serve` through an SSH exec session of the in-process server and
// copies a tree between two roots through it.
func TestAgentBinaryOverSSH(t *testing.T) {
	bin := buildAgent(t)
	dir := t.TempDir()
	clientKey, err := sshserver.WriteKeyPair(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sshserver.Start(sshserver.Options{AuthorizedKeys: []ssh.PublicKey{clientKey.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{
		User: "migrate", Auth: []ssh.AuthMethod{ssh.PublicKeys(clientKey)},
		HostKeyCallback: ssh.FixedHostKey(srv.HostKey()), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	vs, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := vs.Output(bin + " version")
	if err != nil || !strings.Contains(string(out), agentserver.Version) {
		t.Fatalf("version: %q %v", out, err)
	}

	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	sess.Stderr = &stderr
	if err := sess.Start(bin + " serve"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := New(ctx, stdout, stdin)
	if err != nil {
		t.Fatalf("%v; agent stderr: %s", err, stderr.String())
	}
	if h := c.Hello(); h.GOOS != "linux" || h.Proto != agentproto.Version {
		t.Fatalf("hello %+v", h)
	}
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.Mkdir(dst, 0755); err != nil {
		t.Fatal(err)
	}
	makeTree(t, src)
	sr, err := c.OpenRoot(ctx, src, agentproto.RoleSource)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.OpenRoot(ctx, dst, agentproto.RoleTarget)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := copyTree(ctx, sr, tr, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := treecmp.Equal(src, dst, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	sameMeta(t, src, dst)
	// Closing stdin ends the agent with status 0.
	c.Close()
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent exit: %v; stderr: %s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not exit after stdin closed")
	}
	if !strings.Contains(stderr.String(), "opened source root") {
		t.Fatalf("agent logged nothing to stderr: %q", stderr.String())
	}
}
