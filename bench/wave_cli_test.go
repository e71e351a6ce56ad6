//go:build interop

package bench

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/internal/devserver"
	"github.com/umzug-dev/umzug/internal/realsshd"
)

var startupSleep = flag.Duration("umzug.startup-sleep", 50*time.Millisecond, "BenchmarkWaveCLI: how long the login user's ~/.bashrc sleeps")

// waveUser is a second name for uid 0 with a home of the bench's own, so
// root's login shell can get a start-up file without touching /root.
const waveUser = "umzugroot"

// ensureRootAlias creates waveUser (uid 0, bash, home dir, no password)
// unless it exists, and returns its home. An existing entry keeps its home:
// usermod refuses to change a user whose uid (0) runs processes. An alias
// the bench created is removed again when the benchmark ends (userdel -f:
// uid 0 always runs processes), so no second root name stays on the host.
func ensureRootAlias(b *testing.B, dir string) (string, error) {
	if u, err := user.Lookup(waveUser); err == nil {
		return u.HomeDir, os.MkdirAll(u.HomeDir, 0o700)
	}
	if out, err := exec.Command("useradd", "-o", "-u", "0", "-g", "0", "-M", "-d", dir, "-s", "/bin/bash", "-p", "*", waveUser).CombinedOutput(); err != nil {
		return "", fmt.Errorf("useradd %s: %v: %s", waveUser, err, out)
	}
	b.Cleanup(func() {
		if out, err := exec.Command("userdel", "-f", waveUser).CombinedOutput(); err != nil {
			b.Logf("userdel -f %s: %v: %s (remove its /etc/passwd line by hand)", waveUser, err, out)
		}
	})
	return dir, os.MkdirAll(dir, 0o700)
}

// waveCLI is `umzug dev --no-worker` and the hosts a lead's plan names:
// two sshd logging in as root (uid 0) whose bash reads ~/.bashrc.
type waveCLI struct {
	bin, dir, addr, agentDir string
	src, dst                 *realsshd.Server
	dev                      *exec.Cmd
	sshTrue                  float64 // median `ssh host true` as that user, .bashrc included
}

func (e *env) startWaveCLI(b *testing.B) *waveCLI {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root: the hosts log in as root")
	}
	w := &waveCLI{dir: filepath.Join(e.dir, "wavecli"), agentDir: e.buildAgent(b)}
	home, err := ensureRootAlias(b, "/var/lib/umzug-bench/home")
	if err != nil {
		b.Fatal(err)
	}
	// The start-up file: a short sleep, as sourcing a profile costs, and a
	// marker the bench checks to know bash read it.
	rc := fmt.Sprintf("export UMZUG_BASHRC=read\nsleep %.3f\n", startupSleep.Seconds())
	if err := os.WriteFile(filepath.Join(home, ".bashrc"), []byte(rc), 0o644); err != nil {
		b.Fatal(err)
	}
	var lines []string
	for _, side := range []string{"src", "dst"} {
		d := filepath.Join(w.dir, "sshd-"+side)
		os.MkdirAll(d, 0o700)
		s, err := realsshd.Start(realsshd.Options{Dir: d, AuthorizedKeyFile: e.key + ".pub", User: waveUser, ShellStartup: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if side == "src" {
			w.src = s
		} else {
			w.dst = s
		}
		lines = append(lines, s.KnownHostsLine())
	}
	kh := filepath.Join(w.dir, "known_hosts")
	os.WriteFile(kh, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	args := []string{"ssh", "-p", strconv.Itoa(w.dst.Port), "-i", e.key, "-o", "UserKnownHostsFile=" + kh, "-o", "BatchMode=yes", waveUser + "@127.0.0.1", "echo $UMZUG_BASHRC; id -u"}
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "read\n0" {
		b.Fatalf("login as %s: want its .bashrc read and uid 0, got %q %v", waveUser, out, err)
	}
	var ds []float64
	for range 5 {
		t0 := time.Now()
		if out, err := exec.Command(args[0], append(args[1:len(args)-1], "true")...).CombinedOutput(); err != nil {
			b.Fatalf("ssh true: %v: %s", err, out)
		}
		ds = append(ds, time.Since(t0).Seconds())
	}
	slices.Sort(ds)
	w.sshTrue = ds[2]
	w.bin = filepath.Join(w.dir, "umzug")
	if out, err := exec.Command("go", "build", "-o", w.bin, "github.com/umzug-dev/umzug/cmd/umzug").CombinedOutput(); err != nil {
		b.Fatalf("build umzug: %v: %s", err, out)
	}
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	ui, _ := devserver.FreePort("127.0.0.1")
	w.addr = "127.0.0.1:" + strconv.Itoa(port)
	w.dev = w.start(b, "dev.log", "dev", "--port", strconv.Itoa(port), "--ui-port", strconv.Itoa(ui), "--headless", "--no-worker")
	b.Cleanup(func() { w.dev.Process.Kill(); w.dev.Wait() })
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if c, err := net.Dial("tcp", w.addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(w.dir, "dev.log"))
			b.Fatalf("umzug dev did not listen on %s: %s", w.addr, log)
		}
	}
	return w
}

// start runs the umzug binary with args, its output into logName.
func (w *waveCLI) start(b *testing.B, logName string, args ...string) *exec.Cmd {
	b.Helper()
	lf, err := os.Create(filepath.Join(w.dir, logName))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(w.bin, args...)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+w.addr, "TEMPORAL_NAMESPACE=default")
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return cmd
}

// plan writes a plan of chains×length applications of 5 small files each
// (10 chains of 10: each application depends on the one before it in its
// chain) in one wave with max_parallel = 20, and returns its path and the
// trees to compare.
func (w *waveCLI) plan(b *testing.B, e *env, name string, chains, length int) (string, [][2]string) {
	b.Helper()
	var hcl strings.Builder
	fmt.Fprintf(&hcl, "datacenter \"a\" {}\ndatacenter \"b\" {}\n")
	for _, h := range []struct {
		name, dc string
		s        *realsshd.Server
	}{{"src", "a", w.src}, {"dst", "b", w.dst}} {
		fmt.Fprintf(&hcl, "host %q {\n  datacenter    = datacenter.%s\n  address       = %q\n  user          = %q\n  identity_file = %q\n  known_hosts   = %q\n}\n",
			h.name, h.dc, h.s.Addr, waveUser, e.key, filepath.Join(w.dir, "known_hosts"))
	}
	var members []string
	var trees [][2]string
	for c := range chains {
		for i := range length {
			app := fmt.Sprintf("app%d_%d", c, i)
			from := filepath.Join(w.dir, name, app, "src")
			to := filepath.Join(w.dir, name, app, "dst")
			os.MkdirAll(from, 0o755)
			for f := range 5 {
				os.WriteFile(filepath.Join(from, fmt.Sprintf("f%d.conf", f)), []byte(fmt.Sprintf("setting%d = %s\n", f, app)), 0o644)
			}
			deps := ""
			if i > 0 {
				deps = fmt.Sprintf("depends_on = [application.app%d_%d]", c, i-1)
			}
			fmt.Fprintf(&hcl, "application %q {\n  source = host.src\n  target = host.dst\n  %s\n  copy \"conf\" {\n    from = %q\n    to   = %q\n  }\n  cutover {\n    final_sync {}\n  }\n}\n",
				app, deps, from, to)
			members = append(members, "application."+app)
			trees = append(trees, [2]string{from, to})
		}
	}
	fmt.Fprintf(&hcl, "wave \"w\" {\n  applications = [%s]\n  max_parallel = 20\n}\n", strings.Join(members, ", "))
	p := filepath.Join(w.dir, name+".hcl")
	if err := os.WriteFile(p, []byte(hcl.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return p, trees
}

// BenchmarkWaveCLI runs a 100-move wave the way a lead runs it: `umzug run
// PLAN --as lead --wait` against `umzug dev --no-worker` and one `umzug
// worker` process, the hosts logging in as root whose bash reads a
// ~/.bashrc that sleeps -umzug.startup-sleep. The worker runs once with
// --copy-engine classic and once with --copy-engine agent (fresh plans
// each); -short runs 10 moves (2 chains of 5).
func BenchmarkWaveCLI(b *testing.B) {
	e := getEnv(b)
	w := e.startWaveCLI(b)
	chains, length := 10, 10
	if testing.Short() {
		chains, length = 2, 5
	}
	for b.Loop() {
		took := map[string]float64{}
		for _, engine := range []string{activities.CopyEngineClassic, activities.CopyEngineAgent} {
			name := fmt.Sprintf("wave-%s-%d", engine, time.Now().UnixNano()%1e6)
			plan, trees := w.plan(b, e, name, chains, length)
			worker := w.start(b, "worker-"+name+".log", "worker", "--copy-engine", engine, "--agent-dir", w.agentDir)
			time.Sleep(3 * time.Second) // the worker's first poll
			var out bytes.Buffer
			run := exec.Command(w.bin, "run", plan, "--as", "lead", "--wait")
			run.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+w.addr, "TEMPORAL_NAMESPACE=default")
			run.Stdout, run.Stderr = &out, &out
			t0 := time.Now()
			err := run.Run()
			took[engine] = time.Since(t0).Seconds()
			worker.Process.Signal(os.Interrupt)
			worker.Wait()
			if err != nil {
				log, _ := os.ReadFile(filepath.Join(w.dir, "worker-"+name+".log"))
				b.Fatalf("%s engine: umzug run --wait: %v\n%s\nworker log (tail): %s", engine, err, out.String(), tail(log, 3000))
			}
			for _, tr := range trees {
				mustEqual(b, tr[0], tr[1])
			}
			b.Logf("%s engine: %d moves in %.1f s (umzug run --wait)", engine, len(trees), took[engine])
		}
		n := chains * length
		moveRows = append(moveRows,
			moveRow{Case: fmt.Sprintf("wave via `umzug run --wait`, %d moves, root with a %v .bashrc: classic", n, *startupSleep), Moves: n, Seconds: took["classic"], SSHTrue: w.sshTrue, SessionsRatio: took["classic"] / w.sshTrue},
			moveRow{Case: fmt.Sprintf("wave via `umzug run --wait`, %d moves, root with a %v .bashrc: agent", n, *startupSleep), Moves: n, Seconds: took["agent"], SSHTrue: w.sshTrue, SessionsRatio: took["agent"] / w.sshTrue})
		b.ReportMetric(took["classic"], "classic-s/wave")
		b.ReportMetric(took["agent"], "agent-s/wave")
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
