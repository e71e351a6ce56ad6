//go:build interop && linux

package agentside

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/agentdeploy"
	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
)

// realAgents starts two agents (source host, target host) through Debian's
// OpenSSH sshd, logged in as user ("" is whoever runs the tests), each
// uploaded into that user's home as in production.
func realAgents(t *testing.T, user string) (*agentdeploy.Agent, *agentdeploy.Agent) {
	t.Helper()
	if err := realsshd.Available(); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "umzug-conformance-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	d := testkit.StartRealSSHD(t, dir, realsshd.Options{User: user})
	s := d.Servers[0]
	pem, err := os.ReadFile(d.Key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKeyPub))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" && s.User != user {
		t.Fatalf("sshd logs in as %q, want %q", s.User, user)
	}
	var out [2]*agentdeploy.Agent
	for i := range out {
		c, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: ssh.FixedHostKey(hk), Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		a, err := agentdeploy.Start(context.Background(), c, agentdeploy.Options{Host: fmt.Sprint("host", i),
			Locator: agentdeploy.Locator{Dir: agentDir(t), NoExecutableDir: true}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		out[i] = a
	}
	return out[0], out[1]
}

// userLane is a lane whose trees belong to uid:gid, under a base that user
// can reach.
func userLane(t *testing.T, uid, gid int) lane {
	base, err := os.MkdirTemp("", "umzug-conformance-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	fix := func(t *testing.T, base string) {
		filepath.WalkDir(base, func(p string, _ fs.DirEntry, err error) error {
			if err == nil {
				os.Lchown(p, uid, gid)
			}
			return nil
		})
	}
	return lane{base: base, fix: fix}
}

// TestConformanceInterop runs the conformance scenarios over agents
// reached through real OpenSSH, logged in as root and as the non-root
// user realsshd.CIUser, and requires the outcome of mirror.LocalSide on
// the same trees (the local side runs as this process, with the same
// owner option).
func TestConformanceInterop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: one lane logs in as root, the other as a user created for it")
	}
	uid, gid, err := realsshd.EnsureUser(realsshd.CIUser)
	if err != nil {
		t.Fatal(err)
	}
	lanes := []struct {
		name, user string
		lane       func(t *testing.T) lane
	}{
		{"root", "", func(t *testing.T) lane { return lane{base: t.TempDir(), owner: true} }},
		{"non-root", realsshd.CIUser, func(t *testing.T) lane { return userLane(t, uid, gid) }},
	}
	for _, ln := range lanes {
		t.Run(ln.name, func(t *testing.T) {
			sa, da := realAgents(t, ln.user)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					local := runScenarioIn(t, ln.lane(t), localSides, sc.steps)
					agent := runScenarioIn(t, ln.lane(t), agentSides(sa, da), sc.steps)
					if !reflect.DeepEqual(local, agent) {
						t.Fatalf("outcomes differ\nlocal: %+v\nagent: %+v", local, agent)
					}
					if len(agent.Out) != 0 {
						t.Fatalf("written outside the target: %v", agent.Out)
					}
					if sc.name == scenarios[0].name && (agent.Errs[0] != "" || agent.Errs[1] != "" || !agent.Equal[0] || !agent.Equal[1] || agent.Res[0].CopiedFiles != 5) {
						t.Fatalf("seed and sync as %q: errors %q, trees equal %v, seed %+v", ln.name, agent.Errs, agent.Equal, agent.Res[0])
					}
				})
			}
		})
	}
}
