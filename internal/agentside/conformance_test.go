//go:build linux

package agentside

import (
	"context"
	"fmt"
	"github.com/umzug-dev/umzug/internal/testkit"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/agentdeploy"
	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/treecmp"
)

// agentDir is the agent built for this test binary.
func agentDir(t testing.TB) string { return testkit.AgentDir(t) }

// agents starts two agents (source host, target host) through the
// in-process SSH server, deployed as in production.
func agents(t testing.TB) (*agentdeploy.Agent, *agentdeploy.Agent) {
	t.Helper()
	dir := agentDir(t)
	key, err := sshserver.WriteKeyPair(filepath.Join(t.TempDir(), "id"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sshserver.Start(sshserver.Options{AuthorizedKeys: []ssh.PublicKey{key.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	home := t.TempDir()
	var out [2]*agentdeploy.Agent
	for i := range out {
		c, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{User: "migrate", Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
			HostKeyCallback: ssh.FixedHostKey(srv.HostKey()), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		a, err := agentdeploy.Start(context.Background(), c, agentdeploy.Options{Host: fmt.Sprint("host", i),
			Locator: agentdeploy.Locator{Dir: dir, NoExecutableDir: true}, Home: home})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		out[i] = a
	}
	return out[0], out[1]
}

type sidesFunc func(t *testing.T, src, dst, state string) (mirror.Side, mirror.Side)

func localSides(t *testing.T, src, dst, state string) (mirror.Side, mirror.Side) {
	s, err := mirror.NewLocalSide(src, mirror.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := mirror.NewLocalSide(dst, mirror.LocalOptions{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	return s, d
}

func agentSides(sa, da *agentdeploy.Agent) sidesFunc {
	return func(t *testing.T, src, dst, state string) (mirror.Side, mirror.Side) {
		ctx := context.Background()
		sr, err := sa.OpenRoot(ctx, src, agentproto.RoleSource)
		if err != nil {
			t.Fatal(err)
		}
		dr, err := da.OpenRoot(ctx, dst, agentproto.RoleTarget)
		if err != nil {
			t.Fatal(err)
		}
		st, err := da.OpenRoot(ctx, state, agentproto.RoleTarget)
		if err != nil {
			t.Fatal(err)
		}
		return New(sr, Options{}), New(dr, Options{State: st})
	}
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

func write(t *testing.T, p, s string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, t0, t0); err != nil {
		t.Fatal(err)
	}
}

func baseTree(t *testing.T, src string) {
	write(t, filepath.Join(src, "a.txt"), "alpha", 0o644)
	write(t, filepath.Join(src, "bin/run.sh"), "#!/bin/sh\necho hi\n", 0o755)
	write(t, filepath.Join(src, "etc/secret"), "s3cret", 0o600)
	write(t, filepath.Join(src, "deep/x/y/z.bin"), strings.Repeat("z", 700000), 0o640)
	write(t, filepath.Join(src, "ro/inside"), "locked in", 0o444)
	os.Mkdir(filepath.Join(src, "empty"), 0o700)
	os.Chmod(filepath.Join(src, "ro"), 0o555)
	os.Symlink("a.txt", filepath.Join(src, "link-a"))
	os.Symlink("../a.txt", filepath.Join(src, "bin/up-a"))
	for _, d := range []string{"deep/x/y", "deep/x", "deep", "empty", "etc", "bin", "ro"} {
		os.Chtimes(filepath.Join(src, d), t0.Add(time.Hour), t0.Add(time.Hour))
	}
}

// step mutates the trees (base, src, dst, state), then runs with spec.
type step struct {
	mutate func(t *testing.T, base, src, dst, state string)
	spec   func(s *mirror.Spec, prev mirror.Result)
}

func seed(s *mirror.Spec, _ mirror.Result) { s.Phase = contract.PhaseSeed }

func syncWithState(s *mirror.Spec, prev mirror.Result) {
	s.Phase, s.Delete = contract.PhaseFinalSync, true
	s.State.SHA256, s.State.Records = prev.StateSHA256, prev.StateRecords
}

var scenarios = []struct {
	name  string
	steps []step
}{
	{"seed then trusted sync", []step{{spec: seed}, {spec: syncWithState}}},
	{"changes, deletes, retargeted link", []step{{spec: seed}, {
		mutate: func(t *testing.T, _, src, _, _ string) {
			write(t, filepath.Join(src, "a.txt"), "alpha two", 0o644)
			write(t, filepath.Join(src, "new/file"), "new", 0o600)
			os.RemoveAll(filepath.Join(src, "deep"))
			os.Remove(filepath.Join(src, "link-a"))
			os.Symlink("etc/secret", filepath.Join(src, "link-a"))
		}, spec: syncWithState}}},
	{"forged state not trusted", []step{{spec: seed}, {
		mutate: func(t *testing.T, _, _, dst, state string) {
			p := filepath.Join(state, "set-verified.bin")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-1] ^= 0xff
			os.WriteFile(p, b, 0o600)
			write(t, filepath.Join(dst, "etc/secret"), "forged", 0o600)
		}, spec: syncWithState}}},
	{"target directory swapped for a symlink", []step{{
		mutate: func(t *testing.T, base, _, dst, _ string) {
			out := filepath.Join(base, "outside")
			os.Mkdir(out, 0o755)
			os.Symlink(out, filepath.Join(dst, "etc"))
		}, spec: func(s *mirror.Spec, p mirror.Result) { seed(s, p); s.Delete = true }}}},
}

// outcome is what must agree between the local and the agent sides.
type outcome struct {
	Res   []mirror.Result
	Errs  []string
	Out   []string // entries written outside the target
	Equal []bool
}

func runScenario(t *testing.T, mk sidesFunc, steps []step) outcome {
	return runScenarioIn(t, lane{base: t.TempDir(), owner: os.Geteuid() == 0}, mk, steps)
}

// lane is where a scenario runs: its base directory, a fix-up run after
// every change of the trees (a non-root lane hands them to its user), and
// whether owners are kept.
type lane struct {
	base  string
	fix   func(t *testing.T, base string)
	owner bool
}

func runScenarioIn(t *testing.T, l lane, mk sidesFunc, steps []step) outcome {
	base := l.base
	src, dst, state := filepath.Join(base, "src"), filepath.Join(base, "dst"), filepath.Join(base, "state")
	for _, d := range []string{src, dst, state} {
		os.Mkdir(d, 0o755)
	}
	os.Chmod(state, 0o700)
	baseTree(t, src)
	if l.fix != nil {
		l.fix(t, base)
	}
	var o outcome
	var prev mirror.Result
	for _, st := range steps {
		if st.mutate != nil {
			st.mutate(t, base, src, dst, state)
			if l.fix != nil {
				l.fix(t, base)
			}
		}
		spec := mirror.Spec{Name: "set", Verify: contract.VerifySHA256, State: mirror.StateRef{Name: "set-verified.bin"}}
		st.spec(&spec, prev)
		s, d := mk(t, src, dst, state)
		r, err := mirror.Run(context.Background(), spec, s, d, mirror.Options{Owner: l.owner}, nil)
		s.Close()
		d.Close()
		e := ""
		if err != nil {
			e = err.Error()
			if i := strings.Index(e, base); i >= 0 {
				e = e[:i] // paths differ between the runs
			}
		}
		prev = r
		r.Duration, r.StateSHA256 = 0, "" // the state binds inode numbers
		for i := range r.RefusalList {
			r.RefusalList[i].Reason = ""
		}
		r.Notes = nil
		o.Res, o.Errs = append(o.Res, r), append(o.Errs, e)
		_, cerr := treecmp.Equal(src, dst, treecmp.Options{})
		o.Equal = append(o.Equal, cerr == nil)
	}
	if ents, err := os.ReadDir(filepath.Join(base, "outside")); err == nil {
		for _, e := range ents {
			o.Out = append(o.Out, e.Name())
		}
	}
	return o
}

// TestConformance runs each scenario over mirror.LocalSide and over two
// agents reached through SSH and requires the same outcome.
func TestConformance(t *testing.T) {
	sa, da := agents(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			local := runScenario(t, localSides, sc.steps)
			agent := runScenario(t, agentSides(sa, da), sc.steps)
			if !reflect.DeepEqual(local, agent) {
				t.Fatalf("outcomes differ\nlocal: %+v\nagent: %+v", local, agent)
			}
			if len(agent.Out) != 0 {
				t.Fatalf("written outside the target: %v", agent.Out)
			}
			t.Logf("%+v", agent)
		})
	}
}

// TestTrustedSyncReadsNothing checks the agent-side result in absolute
// terms: the seed copies and records every file, the sync keeps them all
// by the identity state.
func TestTrustedSyncReadsNothing(t *testing.T) {
	sa, da := agents(t)
	o := runScenario(t, agentSides(sa, da), scenarios[0].steps)
	seedR, syncR := o.Res[0], o.Res[1]
	if o.Errs[0] != "" || o.Errs[1] != "" || !o.Equal[0] || !o.Equal[1] {
		t.Fatalf("errors %q, trees equal %v", o.Errs, o.Equal)
	}
	if seedR.CopiedFiles != 5 || seedR.StateRecords != 5 || seedR.Symlinks != 2 {
		t.Fatalf("seed: %+v", seedR)
	}
	if !syncR.StateTrusted || syncR.Kept != 5 || syncR.CopiedFiles != 0 || syncR.VerifiedBy != mirror.VerifiedByIdentity {
		t.Fatalf("sync: %+v", syncR)
	}
}
