//go:build interop

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// devProc is `umzug dev --db` as its own process, so it can be killed.
type devProc struct {
	bin, db string
	port    int
	cmd     *exec.Cmd
}

func (d *devProc) start(t *testing.T) time.Time {
	t.Helper()
	d.cmd = exec.Command(d.bin, "dev", "--db", d.db, "--port", strconv.Itoa(d.port), "--headless")
	d.cmd.Stdout, d.cmd.Stderr = os.Stderr, os.Stderr
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(d.port))
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("umzug dev did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *devProc) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
}

// TestInteropKilledWorkerResumesQuickly kills `umzug dev` (server and
// worker) with SIGKILL in the middle of a seed, starts it again on the same
// database and measures how soon the copy runs again and how many bytes of
// the partial files it sends again. UMZUG_KILL_MB sets the data size.
func TestInteropKilledWorkerResumesQuickly(t *testing.T) {
	if err := realsshd.Available(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "umzug")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	it := &interop{dir: dir}
	daemons := testkit.StartRealSSHD(t, dir, realsshd.Options{}, realsshd.Options{})
	it.key, it.knownHosts = daemons.Key, daemons.KnownHosts
	it.src, it.dst = daemons.Servers[0], daemons.Servers[1]
	it.srcData = filepath.Join(dir, "old-dc/srv/payroll")
	it.dstData = filepath.Join(dir, "new-dc/srv/payroll")
	it.srcState = filepath.Join(dir, "old-dc/payroll.state")
	it.dstState = filepath.Join(dir, "new-dc/payroll.state")
	makeTree(t, it.srcData)
	mb := 300
	if n, err := strconv.Atoi(os.Getenv("UMZUG_KILL_MB")); err == nil && n > 0 {
		mb = n
	}
	for i := range 3 {
		f, err := os.Create(filepath.Join(it.srcData, fmt.Sprintf("db/big%d.bin", i)))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		for j := range mb / 3 {
			for k := range buf {
				buf[k] = byte(j*31 + k*7 + i)
			}
			f.Write(buf)
		}
		f.Close()
	}
	os.MkdirAll(filepath.Dir(it.dstData), 0o755)
	os.WriteFile(it.srcState, []byte("running\n"), 0o644)
	plan := it.plan(t, true)
	// Slow the seed down so that the kill lands in the middle of it.
	src, _ := os.ReadFile(plan)
	os.WriteFile(plan, []byte(strings.Replace(string(src), `delete  = true`, "delete  = true\n    bandwidth = \"40MiB/s\"", 1)), 0o644)

	port := testkit.FreePort(t)
	dev := &devProc{bin: bin, db: filepath.Join(dir, "dev.db"), port: port}
	dev.start(t)
	defer dev.kill()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	t.Setenv("TEMPORAL_ADDRESS", addr)
	if code, _, _ := cli(t, "run", plan, "--as", "ops.one"); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	partial := func() (n int64) {
		filepath.Walk(it.dstData, func(p string, fi os.FileInfo, err error) error {
			if err == nil && strings.HasPrefix(fi.Name(), ".umzug-tmp.") {
				n += fi.Size()
			}
			return nil
		})
		return n
	}
	for deadline := time.Now().Add(3 * time.Minute); partial() < int64(mb/3)<<20; {
		if time.Now().After(deadline) {
			t.Fatal("the seed did not get going")
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed := time.Now()
	dev.kill()
	atKill := partial()
	restarted := dev.start(t)
	t.Logf("killed with %d MiB in partial files; listening again %.1fs later", atKill>>20, restarted.Sub(killed).Seconds())

	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var resumedAt time.Time
	for deadline := time.Now().Add(5 * time.Minute); resumedAt.IsZero(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the copy did not resume within 5 minutes")
		}
		d, err := c.DescribeWorkflowExecution(context.Background(), payrollID, "")
		if err != nil {
			continue
		}
		for _, pa := range d.PendingActivities {
			if pa.ActivityType.GetName() == contract.NameCopyTree && pa.Attempt >= 2 &&
				pa.State == enumspb.PENDING_ACTIVITY_STATE_STARTED && pa.LastStartedTime.AsTime().After(restarted) {
				resumedAt = pa.LastStartedTime.AsTime()
			}
		}
	}
	latency := resumedAt.Sub(restarted)
	e := &e2e{c: c}
	e.waitPhase(t, payrollID, workflows.PhaseAwaitingApproval)
	st := e.status(t, payrollID)
	var seed contract.CopyResult
	for _, r := range st.Copies {
		if r.Phase == contract.PhaseSeed {
			seed = r
		}
	}
	t.Logf("RESUME: copy attempt 2 started %.1fs after the restart (heartbeat timeout %v); partial bytes at kill %d, kept %d, re-sent %d (seed copied %d files, %d bytes)",
		latency.Seconds(), workflows.CopyHeartbeatTimeout, atKill, seed.ResumedBytes, seed.ResentBytes, seed.CopiedFiles, seed.CopiedBytes)
	if latency > 30*time.Second {
		t.Errorf("the copy resumed %v after the worker restart; want within 30s", latency)
	}
	if seed.ResumedBytes == 0 {
		t.Errorf("no partial file was resumed (%d bytes were in partial files at the kill)", atKill)
	}
	if code, _, _ := cli(t, "approve", payrollID, "--as", "ops.two"); code != 0 {
		t.Fatalf("approve: exit %d", code)
	}
	if st := e.result(t, payrollID); st.Phase != workflows.PhaseCommitted {
		t.Fatalf("phase %s: %s", st.Phase, st.Error)
	}
	if _, err := treecmp.Equal(it.srcData, it.dstData, treecmp.Options{Skip: []string{"tmp/scratch.tmp"}}); err != nil {
		t.Fatal(err)
	}
}
