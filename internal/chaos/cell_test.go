//go:build chaos

package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/umzug-dev/umzug/internal/realsshd"
)

// cellOptions shape one run's move.
type cellOptions struct {
	profile   string // profileSmall, profileBigSeed or profileBigDelta
	bandwidth string // copy bandwidth, "" for unlimited
	gateStop  bool   // the source's stop step waits for the gate file
	gateUndo  bool   // the target's start undo waits for the gate file
	broken    bool   // the health check fails, so the cutover rolls back
	srcUser   string // SSH login on the source ("" = the test's user)
	mustAbort bool   // committing is wrong for this run
	noDelete  bool   // delete = false: target-only entries must survive
	// keep lists target-only files (slash paths under `to`) the run plants;
	// with noDelete they must still be there at the end.
	keep []string
}

// cell is one move with its own two sshd, its own source and target trees
// and a counting proxy in front of the target's sshd.
//
//	dir/src/data        from (the tree to move)
//	dir/src/outside     0600 secrets that must never reach the target
//	dir/src/app.state   "running" while the source application runs
//	dir/dst/data        to
//	dir/dst/neighbour   files next to the target that nothing may touch
//	dir/dst/.umzug      manifests (the one allowed write outside to)
type cell struct {
	s    *suite
	name string
	o    cellOptions
	rng  *rand.Rand
	dir  string

	srcData, dstData, srcState, dstState string
	outside, secretFile                  string
	gate, stopEntered, undoEntered       string
	broken, planFile                     string
	secret                               []byte

	src, dst *realsshd.Server
	proxy    *Proxy
	sshdDir  [2]string

	outsideBefore map[string]string
	ref           map[string]fileSum // the source tree the target must end up equal to
	hold          sync.Locker        // held while the reference is taken, if a driver changes the tree meanwhile
	needed        int64              // bytes the move has to send: the tree, then what changed
	seedForeign   int64              // foreign bytes found on the target after the seed
	seedForeignAt string
}

func (c *cell) id() string { return "umzug/" + c.name + "/" + c.name }

func (s *suite) newCell(name string, idx int, o cellOptions) (*cell, error) {
	c := &cell{s: s, name: name, o: o, dir: filepath.Join(s.base, name),
		rng: rand.New(rand.NewPCG(uint64(s.seed), uint64(idx)))}
	c.srcData = filepath.Join(c.dir, "src/data")
	c.dstData = filepath.Join(c.dir, "dst/data")
	c.srcState = filepath.Join(c.dir, "src/app.state")
	c.dstState = filepath.Join(c.dir, "dst/app.state")
	c.outside = filepath.Join(c.dir, "src/outside")
	c.secretFile = filepath.Join(c.outside, "secret.key")
	c.gate = filepath.Join(c.dir, "gate")
	c.stopEntered = filepath.Join(c.dir, "stop.entered")
	c.undoEntered = filepath.Join(c.dir, "undo.entered")
	c.broken = filepath.Join(c.dir, "broken")
	c.planFile = filepath.Join(c.dir, name+".hcl")
	c.secret = []byte(fmt.Sprintf("UMZUG-CHAOS-SECRET-%d-%s-%08x", s.seed, name, c.rng.Uint32()))
	for _, d := range []string{"src/data", "src/outside", "dst/neighbour", "sshd-src", "sshd-dst"} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := c.writeFixtures(); err != nil {
		return nil, err
	}
	if err := makeTree(c.srcData, c.rng, o.profile); err != nil {
		return nil, err
	}
	if o.srcUser != "" {
		if err := chownTree(filepath.Join(c.dir, "src"), o.srcUser); err != nil {
			return nil, err
		}
		if err := chownTree(c.secretFile, "root"); err != nil {
			return nil, err
		}
	}
	if err := c.startSites(); err != nil {
		return nil, err
	}
	// The target's surroundings as they must stay, whatever happens next.
	var err error
	if c.outsideBefore, err = c.snapshotOutside(); err != nil {
		return nil, err
	}
	return c, nil
}

// writeFixtures plants the secrets, the application state and the target
// neighbours, and opens the gates a run does not use.
func (c *cell) writeFixtures() error {
	secret := append([]byte{}, c.secret...)
	for len(secret) < 8192 {
		secret = append(secret, '\n')
		secret = append(secret, c.secret...)
	}
	files := map[string][]byte{
		c.secretFile:                               secret[:8192],
		filepath.Join(c.outside, "other/db.key"):   c.secret,
		filepath.Join(c.dir, "dst/neighbour/keep"): []byte("a neighbour of the target root\n"),
		filepath.Join(c.dir, "dst/data.old/x"):     []byte("an old copy nothing may touch\n"),
		c.srcState:                                 []byte("running\n"),
	}
	for p, b := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
	}
	if err := os.Chmod(c.srcState, 0o644); err != nil {
		return err
	}
	if c.o.broken {
		if err := os.WriteFile(c.broken, nil, 0o644); err != nil {
			return err
		}
	}
	if !c.o.gateStop && !c.o.gateUndo {
		return os.WriteFile(c.gate, nil, 0o644)
	}
	return nil
}

// startSites starts both sshd, the proxy and writes known_hosts and the plan.
func (c *cell) startSites() error {
	var err error
	c.sshdDir = [2]string{filepath.Join(c.dir, "sshd-src"), filepath.Join(c.dir, "sshd-dst")}
	if c.src, err = startSSHD(realsshd.Options{Dir: c.sshdDir[0], AuthorizedKeyFile: c.s.key + ".pub", User: c.o.srcUser}); err != nil {
		return fmt.Errorf("source sshd: %w", err)
	}
	if c.dst, err = startSSHD(realsshd.Options{Dir: c.sshdDir[1], AuthorizedKeyFile: c.s.key + ".pub"}); err != nil {
		return fmt.Errorf("target sshd: %w", err)
	}
	if c.proxy, err = NewProxy(c.dst.Addr); err != nil {
		return err
	}
	if err := c.writeKnownHosts(); err != nil {
		return err
	}
	return os.WriteFile(c.planFile, []byte(c.planText()), 0o644)
}

// startSSHD starts sshd, again when the free port it picked was taken
// before it bound (the suite starts many servers at once).
func startSSHD(o realsshd.Options) (*realsshd.Server, error) {
	var err error
	for range 3 {
		var s *realsshd.Server
		if s, err = realsshd.Start(o); err == nil {
			return s, nil
		}
	}
	return nil, err
}

func (c *cell) knownHosts() string { return filepath.Join(c.dir, "known_hosts") }

// writeKnownHosts records the keys the plan trusts: the target's key
// under the proxy's address, since that is what the worker dials.
func (c *cell) writeKnownHosts() error {
	lines := c.src.KnownHostsLine() + "\n" + fmt.Sprintf("[127.0.0.1]:%d %s\n", c.proxy.Port(), c.dst.HostKeyPub)
	return os.WriteFile(c.knownHosts(), []byte(lines), 0o600)
}

// changeTargetHostKey gives the target sshd a new host key and restarts it;
// the proxy keeps the address the plan knows.
func (c *cell) changeTargetHostKey() error {
	c.dst.Close()
	for _, f := range []string{"ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"} {
		if err := os.Remove(filepath.Join(c.sshdDir[1], f)); err != nil {
			return err
		}
	}
	var err error
	if c.dst, err = startSSHD(realsshd.Options{Dir: c.sshdDir[1], AuthorizedKeyFile: c.s.key + ".pub"}); err != nil {
		return fmt.Errorf("restart target sshd with a new host key: %w", err)
	}
	c.proxy.SetUpstream(c.dst.Addr)
	return nil
}

func (c *cell) close() {
	if c.proxy != nil {
		c.proxy.Close()
	}
	for _, s := range []*realsshd.Server{c.src, c.dst} {
		if s != nil {
			s.Close()
		}
	}
}

func sq(p string) string { return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'" }

// waitGate is a shell fragment that marks entry and blocks until the gate
// file exists: the suite's handle on "mid-step".
func (c *cell) waitGate(entered string) string {
	return fmt.Sprintf("touch %s; while [ ! -e %s ]; do sleep 0.1; done; ", sq(entered), sq(c.gate))
}

func (c *cell) planText() string {
	stop, undoStart := "", ""
	if c.o.gateStop {
		stop = c.waitGate(c.stopEntered)
	}
	if c.o.gateUndo {
		undoStart = c.waitGate(c.undoEntered)
	}
	bw := ""
	if c.o.bandwidth != "" {
		bw = fmt.Sprintf("\n    bandwidth = %q", c.o.bandwidth)
	}
	srcUser := c.src.User
	if c.o.srcUser != "" {
		srcUser = c.o.srcUser
	}
	return fmt.Sprintf(`# chaos suite move %[1]s
datacenter "old" { description = "old site" }
datacenter "new" { description = "new site" }

host "src" {
  datacenter    = datacenter.old
  address       = %[2]q
  user          = %[3]q
  identity_file = %[4]q
  known_hosts   = %[5]q
}

host "dst" {
  datacenter    = datacenter.new
  address       = %[6]q
  user          = %[7]q
  identity_file = %[4]q
  known_hosts   = %[5]q
}

application %[1]q {
  source = host.src
  target = host.dst

  copy "data" {
    from   = %[8]q
    to     = %[9]q
    delete = %[16]v%[10]s
  }

  cutover {
    approval {
      approvers = ["ops.one", "ops.two"]
      quorum    = 1
    }
    step "stop" {
      on   = "source"
      run  = %[11]q
      undo = %[12]q
    }
    final_sync {}
    step "start" {
      on   = "target"
      run  = %[13]q
      undo = %[14]q
    }
    check "health" {
      on       = "target"
      run      = %[15]q
      retries  = 1
      interval = "1s"
    }
  }
  soak = "1s"
}
`, c.name, c.src.Addr, srcUser, c.s.key, c.knownHosts(), c.proxy.Addr(), c.dst.User,
		c.srcData, c.dstData, bw,
		stop+"echo stopped > "+sq(c.srcState), "echo running > "+sq(c.srcState),
		"echo running > "+sq(c.dstState), undoStart+"echo stopped > "+sq(c.dstState),
		"grep -q running "+sq(c.dstState)+" && test ! -e "+sq(c.broken), !c.o.noDelete)
}

// chownTree hands a tree to a user (the non-root SSH login).
func chownTree(root, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// ensureCIUser makes sure the non-root SSH user the permission cases log
// in as exists; it reports why not when that is impossible.
func ensureCIUser() (string, error) {
	_, _, err := realsshd.EnsureUser(realsshd.CIUser)
	return realsshd.CIUser, err
}
