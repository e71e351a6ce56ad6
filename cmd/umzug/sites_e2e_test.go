package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"github.com/umzug-dev/umzug/workflows"
)

// Both hosts name their key and known_hosts under ~: each site's worker
// resolves them in its own home, which holds only that site's key.
const sitesPlan = `
variable "root" {
  type = string
}
variable "pb_address" {
  type = string
}
variable "lg_address" {
  type = string
}
datacenter "paderborn" {
  worker_queue = "paderborn"
}
datacenter "lemgo" {
  worker_queue = "lemgo"
}
host "app_pb" {
  datacenter    = datacenter.paderborn
  address       = var.pb_address
  user          = "migrate"
  identity_file = "~/.ssh/id_site"
  known_hosts   = "~/.ssh/known_hosts"
}
host "app_lg" {
  datacenter    = datacenter.lemgo
  address       = var.lg_address
  user          = "migrate"
  identity_file = "~/.ssh/id_site"
  known_hosts   = "~/.ssh/known_hosts"
}
application "app" {
  source = host.app_pb
  target = host.app_lg
  copy "data" {
    from = "${var.root}/paderborn/srv/app"
    to   = "${var.root}/lemgo/srv/app"
  }
  cutover {
    approval {
      approvers = ["b.schulz"]
      quorum    = 1
    }
    final_sync {}
    step "stop" {
      on   = "source"
      run  = "echo stopped > ${var.root}/paderborn/state"
      undo = "echo running > ${var.root}/paderborn/state"
    }
    step "start" {
      on   = "target"
      run  = "echo running > ${var.root}/lemgo/state"
      undo = "rm -f ${var.root}/lemgo/state"
    }
    check "up" {
      on  = "target"
      run = "grep -q running ${var.root}/lemgo/state"
    }
  }
}
`

// twoSites are two SSH servers and a home directory per site's worker.
// The source site also accepts the target site's key: the copy runs on
// the target's worker and pulls from the source.
type twoSites struct {
	root           string
	pb, lg         *sshserver.Server
	pbHome, lgHome string
}

func startTwoSites(t *testing.T) *twoSites {
	t.Helper()
	s := &twoSites{root: t.TempDir()}
	s.pbHome, s.lgHome = filepath.Join(s.root, "home-pb"), filepath.Join(s.root, "home-lg")
	keys := map[string]ssh.Signer{}
	for home, name := range map[string]string{s.pbHome: "pb", s.lgHome: "lg"} {
		if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		k, err := sshserver.WriteKeyPair(filepath.Join(home, ".ssh/id_site"))
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
	}
	for _, d := range []string{"paderborn/srv/app/sub", "lemgo/srv"} {
		os.MkdirAll(filepath.Join(s.root, d), 0o755)
	}
	for i := 0; i < 20; i++ {
		b := bytes.Repeat([]byte(fmt.Sprintf("file %d ", i)), 4000+i*97)
		os.WriteFile(filepath.Join(s.root, "paderborn/srv/app/sub", fmt.Sprintf("f%02d", i)), b, 0o644)
	}
	var err error
	s.pb, err = sshserver.Start(sshserver.Options{AuthorizedKeys: []ssh.PublicKey{keys["pb"].PublicKey(), keys["lg"].PublicKey()}, Dir: filepath.Join(s.root, "paderborn")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.pb.Close() })
	s.lg, err = sshserver.Start(sshserver.Options{AuthorizedKeys: []ssh.PublicKey{keys["lg"].PublicKey()}, Dir: filepath.Join(s.root, "lemgo")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.lg.Close() })
	if err := sshserver.WriteKnownHosts(filepath.Join(s.pbHome, ".ssh/known_hosts"), s.pb.KnownHostsLine()); err != nil {
		t.Fatal(err)
	}
	if err := sshserver.WriteKnownHosts(filepath.Join(s.lgHome, ".ssh/known_hosts"), s.pb.KnownHostsLine(), s.lg.KnownHostsLine()); err != nil {
		t.Fatal(err)
	}
	return s
}

// umzugProc is umzug run as its own process (this test binary re-executed).
type umzugProc struct {
	name string
	cmd  *exec.Cmd
	log  string
}

func startUmzug(t *testing.T, name string, env []string, waitFor string, args ...string) *umzugProc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestUmzugHelperProcess$", "--"}, args...)...)
	cmd.Env = append(append(os.Environ(), "UMZUG_TEST_HELPER=1"), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p := &umzugProc{name: name, cmd: cmd, log: logPath}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		b, _ := os.ReadFile(logPath)
		if bytes.Contains(b, []byte(waitFor)) {
			return p
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", name, b)
		}
	}
}

// stop sends SIGTERM and expects a clean exit.
func (p *umzugProc) stop(t *testing.T) string {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.cmd.Wait()
	b, _ := os.ReadFile(p.log)
	if err != nil {
		t.Fatalf("%s after SIGTERM: %v\n%s", p.name, err, b)
	}
	return string(b)
}

// TestTwoSiteWorkersAsProcesses runs the server without a worker, a
// workflow worker and one worker per site as separate processes.
func TestTwoSiteWorkersAsProcesses(t *testing.T) {
	sites := startTwoSites(t)
	conn := []string{"TEMPORAL_NAMESPACE=default", "TEMPORAL_CONFIG_FILE=" + filepath.Join(sites.root, "none.toml")}
	dev := startUmzug(t, "dev", conn, "Worker:", "dev", "--no-worker", "--headless", "--port", "0")
	devOut, _ := os.ReadFile(dev.log)
	addr := devAddress(t, string(devOut))
	conn = append(conn, "TEMPORAL_ADDRESS="+addr)
	for _, kv := range conn {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	emptyHome := filepath.Join(sites.root, "home-central")
	os.MkdirAll(emptyHome, 0o700)
	central := startUmzug(t, "central", append(conn, "HOME="+emptyHome), "worker umzug-worker/umzug@", "worker")
	pb := startUmzug(t, "paderborn", append(conn, "HOME="+sites.pbHome), "metrics on http://", "worker", "--queue", "paderborn",
		"--metrics-address", "127.0.0.1:0", "--log-format", "json")
	checkSiteWorkerHealth(t, pb)

	planFile := filepath.Join(sites.root, "app.hcl")
	os.WriteFile(planFile, []byte(sitesPlan), 0o644)
	const id = "umzug/app/app"
	if code, _, _ := cli(t, "run", "--as", "a.meier", planFile, "--var", "root="+sites.root,
		"--var", "pb_address="+sites.pb.Addr(), "--var", "lg_address="+sites.lg.Addr()); code != 0 {
		t.Fatalf("run: exit %d", code)
	}
	// Lemgo's worker is not running: the target's activities wait, and
	// status says which queue lacks its worker.
	waitStatus(t, id, "task queue lemgo has no worker polling; Preflight waiting")
	if _, err := os.Stat(filepath.Join(sites.root, "lemgo/srv/app")); err == nil {
		t.Fatal("the target was written without its site's worker")
	}
	lgArgs := []string{"worker", "--queue", "lemgo"}
	lg := startUmzug(t, "lemgo", append(conn, "HOME="+sites.lgHome), "task queue lemgo", lgArgs...)
	waitStatus(t, id, "phase       "+workflows.PhaseAwaitingApproval)

	// Lemgo's worker stops (SIGTERM) while the move waits for approval:
	// the final sync waits for it, status names the queue whose worker
	// takes no tasks, and the move goes on once the worker is back.
	if out := lg.stop(t); !strings.Contains(out, "worker stopped") {
		t.Fatalf("lemgo worker did not stop gracefully:\n%s", out)
	}
	if code, _, _ := cli(t, "approve", id, "--as", "b.schulz"); code != 0 {
		t.Fatalf("approve: exit %d", code)
	}
	waitStatus(t, id, "task queue lemgo has no worker taking tasks (last poll by umzug-worker/lemgo@")
	lg = startUmzug(t, "lemgo-again", append(conn, "HOME="+sites.lgHome), "task queue lemgo", lgArgs...)

	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var st workflows.Status
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, &st); err != nil || st.Phase != workflows.PhaseCommitted {
		t.Fatalf("move: %v, phase %s (%s)", err, st.Phase, st.Error)
	}
	if _, err := treecmp.Equal(filepath.Join(sites.root, "paderborn/srv/app"), filepath.Join(sites.root, "lemgo/srv/app"), treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	checkActivitySites(t, c, id)
	for _, p := range []*umzugProc{lg, pb, central} {
		if out := p.stop(t); !strings.Contains(out, "worker stopped") {
			t.Errorf("%s did not stop gracefully:\n%s", p.name, out)
		}
	}
	if b, _ := os.ReadFile(pb.log); !bytes.Contains(b, []byte(`{"time":`)) {
		t.Errorf("--log-format json wrote no JSON log line:\n%s", b)
	}
	dev.cmd.Process.Signal(syscall.SIGINT)
	dev.cmd.Wait()
}

// waitStatus waits until `umzug status id` prints want.
func waitStatus(t *testing.T, id, want string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		_, out, _ := cli(t, "status", id)
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never said %q:\n%s", want, out)
		}
	}
}

// checkSiteWorkerHealth reads the worker's metrics address from its
// output and waits until /healthz says the cluster sees it poll.
func checkSiteWorkerHealth(t *testing.T, p *umzugProc) {
	t.Helper()
	b, _ := os.ReadFile(p.log)
	_, rest, _ := strings.Cut(string(b), "metrics on http://")
	addr, _, _ := strings.Cut(rest, "/metrics")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		code, body := get(t, "http://"+addr+"/healthz")
		if code == 200 && strings.HasPrefix(body, "ok: umzug-worker/paderborn@") && strings.Contains(body, "polls task queue paderborn") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("site worker health: %d %q", code, body)
		}
	}
}

// checkActivitySites reads the history: every activity ran on a worker of
// the queue it was scheduled on; commands ran on both sites, the copy on
// the target's.
func checkActivitySites(t *testing.T, c client.Client, id string) {
	t.Helper()
	type sched struct{ queue, typ string }
	scheduled := map[int64]sched{}
	ran := map[string]bool{}
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[ev.GetEventId()] = sched{a.GetTaskQueue().GetName(), a.GetActivityType().GetName()}
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
			s := scheduled[a.GetScheduledEventId()]
			if !strings.HasPrefix(a.GetIdentity(), "umzug-worker/"+s.queue+"@") {
				t.Errorf("%s scheduled on %s ran on %s", s.typ, s.queue, a.GetIdentity())
			}
			ran[s.typ+"@"+s.queue] = true
		}
	}
	for _, want := range []string{"CopyTree@lemgo", "RunCommand@paderborn", "RunCommand@lemgo", "Preflight@lemgo"} {
		if !ran[want] {
			t.Errorf("no %s in history; ran: %v", want, ran)
		}
	}
}
