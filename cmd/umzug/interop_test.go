//go:build interop

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// interop is the embedded server and worker (what `umzug dev` runs) plus
// two real OpenSSH daemons on loopback, one per data center.
type interop struct {
	dir                string
	src, dst           *realsshd.Server
	key, knownHosts    string
	srcData, dstData   string
	srcState, dstState string
	e                  *e2e
}

func startInterop(t *testing.T) *interop {
	t.Helper()
	if err := realsshd.Available(); err != nil {
		t.Fatal(err) // the interop lane must not pass without sshd
	}
	it := &interop{dir: t.TempDir()}
	daemons := testkit.StartRealSSHD(t, it.dir, realsshd.Options{}, realsshd.Options{})
	it.key, it.knownHosts = daemons.Key, daemons.KnownHosts
	it.src, it.dst = daemons.Servers[0], daemons.Servers[1]
	it.srcData = filepath.Join(it.dir, "old-dc/srv/payroll")
	it.dstData = filepath.Join(it.dir, "new-dc/srv/payroll")
	it.srcState = filepath.Join(it.dir, "old-dc/payroll.state")
	it.dstState = filepath.Join(it.dir, "new-dc/payroll.state")
	makeTree(t, it.srcData)
	if err := os.MkdirAll(filepath.Dir(it.dstData), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(it.srcState, []byte("running\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	st, err := startStack(context.Background(), embeddedOptions{port: 0, noUI: true, identStateDir: filepath.Join(t.TempDir(), "identstate")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv("TEMPORAL_ADDRESS", st.server.Address())
	it.e = &e2e{stack: st, c: st.client}
	return it
}

// makeTree writes a small tree with what a copy tends to get wrong.
func makeTree(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	file := func(rel string, size int, mode os.FileMode) {
		p := filepath.Join(root, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*7 + len(rel))
		}
		must(os.WriteFile(p, b, mode))
		must(os.Chmod(p, mode))
		mt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(size) * time.Second)
		must(os.Chtimes(p, mt, mt))
	}
	file("db/payroll.db", 3<<20, 0o640)
	file("db/journal/2026-11.log", 70000, 0o600)
	file("bin/payrollctl", 4096, 0o755)
	file("exports/Lohn Dezember.csv", 1234, 0o644)
	file("secrets/api.key", 64, 0o400)
	must(os.Chmod(filepath.Join(root, "secrets"), 0o700))
	must(os.MkdirAll(filepath.Join(root, "spool/empty"), 0o750))
	must(os.Chmod(filepath.Join(root, "spool/empty"), 0o750))
	must(os.Symlink("db/payroll.db", filepath.Join(root, "current.db")))
	file("tmp/scratch.tmp", 100, 0o644)
}

func (it *interop) plan(t *testing.T, healthy bool) string {
	t.Helper()
	broken := filepath.Join(it.dir, "new-dc/broken")
	if !healthy {
		if err := os.WriteFile(broken, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := fmt.Sprintf(`# A plan written for two stock OpenSSH servers.
datacenter "old" { description = "old server room" }
datacenter "new" { description = "certified data center" }

host "payroll_old" {
  datacenter    = datacenter.old
  address       = %q
  user          = %q
  identity_file = %q
  known_hosts   = %q
}

host "payroll_new" {
  datacenter    = datacenter.new
  address       = %q
  user          = %q
  identity_file = %q
  known_hosts   = %q
}

application "payroll" {
  source = host.payroll_old
  target = host.payroll_new

  copy "data" {
    from    = %q
    to      = %q
    exclude = ["*.tmp"]
    delete  = true
  }

  cutover {
    approval {
      approvers = ["ops.one", "ops.two"]
      quorum    = 1
    }
    step "stop" {
      on   = "source"
      run  = "echo stopped > %s"
      undo = "echo running > %s"
    }
    final_sync {}
    step "start" {
      on   = "target"
      run  = "echo running > %s"
      undo = "echo stopped > %s"
    }
    check "health" {
      on       = "target"
      run      = "grep -q running %s && test ! -e %s"
      retries  = 2
      interval = "1s"
    }
  }
  soak = "2s"
}
`, it.src.Addr, it.src.User, it.key, it.knownHosts,
		it.dst.Addr, it.dst.User, it.key, it.knownHosts,
		it.srcData, it.dstData,
		it.srcState, it.srcState, it.dstState, it.dstState, it.dstState, broken)
	p := filepath.Join(it.dir, "payroll.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const payrollID = "umzug/payroll/payroll"

func TestInteropMoveCommits(t *testing.T) {
	it := startInterop(t)
	plan := it.plan(t, true)
	if code, _, _ := cli(t, "validate", plan); code != 0 {
		t.Fatalf("validate: exit %d", code)
	}
	if code, _, _ := cli(t, "run", plan, "--as", "ops.one"); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	it.e.waitPhase(t, payrollID, workflows.PhaseAwaitingApproval)
	// Changes while the move waits: final_sync must carry them over.
	if err := os.WriteFile(filepath.Join(it.srcData, "db/journal/2026-12.log"), []byte("new month\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(it.srcData, "exports/Lohn Dezember.csv")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := cli(t, "approve", payrollID, "--as", "ops.one"); code != 1 || !strings.Contains(errOut, "four-eyes") {
		t.Fatalf("starter approval: exit %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "approve", payrollID, "--as", "ops.two", "--comment", "CHG-2040 payroll"); code != 0 {
		t.Fatalf("approve: exit %d", code)
	}
	st := it.e.result(t, payrollID) // soak of 2s ends by itself
	if st.Phase != workflows.PhaseCommitted {
		t.Fatalf("phase %s: %s", st.Phase, st.Error)
	}
	if _, err := treecmp.Equal(it.srcData, it.dstData, treecmp.Options{Skip: []string{"tmp/scratch.tmp"}}); err != nil {
		t.Fatal(err)
	}
	if got := state(t, it.srcState); got != "stopped" {
		t.Fatalf("source state %q, want stopped", got)
	}
	if got := state(t, it.dstState); got != "running" {
		t.Fatalf("target state %q, want running", got)
	}
	dir := t.TempDir()
	if code, _, _ := cli(t, "audit", payrollID, "--out", dir); code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	report, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{"ops.two", "CHG-2040 payroll", "four-eyes", "committed"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("audit report lacks %q:\n%s", want, report)
		}
	}
}

func TestInteropFailingCheckRollsBack(t *testing.T) {
	it := startInterop(t)
	plan := it.plan(t, false)
	if code, _, _ := cli(t, "run", plan, "--as", "ops.one"); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	it.e.waitPhase(t, payrollID, workflows.PhaseAwaitingApproval)
	if code, _, _ := cli(t, "approve", payrollID, "--as", "ops.two"); code != 0 {
		t.Fatalf("approve: exit %d", code)
	}
	st := it.e.result(t, payrollID)
	if st.Phase != workflows.PhaseRolledBack {
		t.Fatalf("phase %s, want rolled_back (%s)", st.Phase, st.Error)
	}
	if got := state(t, it.srcState); got != "running" {
		t.Fatalf("source state %q after rollback, want running", got)
	}
	if got := state(t, it.dstState); got != "stopped" {
		t.Fatalf("target state %q after rollback, want stopped", got)
	}
}
