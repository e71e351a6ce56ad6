//go:build newcomer

package newcomer

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNewcomerFollowsTheREADME is a newcomer's first hour: a fresh clone
// of this repository (its working state: every tracked file as it is
// now), the binary installed the way the README says, the demo started
// with the README's command, the two approvals and the commit sent from a
// second shell with that binary, as the README writes them. It asserts
// the exit codes, the demo's lines for each phase, and the move's final
// phase from `umzug status`.
//
// The demo gets flags that keep it off the default ports and /tmp
// (another demo may run on this machine); everything else is the README's.
func TestNewcomerFollowsTheREADME(t *testing.T) {
	clone := freshClone(t)
	readme, err := os.ReadFile(filepath.Join(clone, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := Commands(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	gobin := t.TempDir()
	sh := shell{dir: clone, env: append(os.Environ(), "GOBIN="+gobin, "PATH="+gobin+string(os.PathListSeparator)+os.Getenv("PATH"))}

	for _, c := range cmds["install"] {
		sh.mustRun(t, 20*time.Minute, c)
	}
	if got := strings.TrimSpace(sh.mustRun(t, time.Minute, "command -v umzug")); got != filepath.Join(gobin, "umzug") {
		t.Fatalf("umzug resolves to %q, want the installed %s", got, filepath.Join(gobin, "umzug"))
	}

	d := sh.startDemo(t, cmds["demo"][0]+" --dir "+filepath.Join(t.TempDir(), "demo")+
		" --paderborn 127.0.0.1:0 --lemgo 127.0.0.1:0 --port 0 --headless")
	addr := d.waitFor(t, regexp.MustCompile(`Temporal\s+(\S+) \(namespace`), 5*time.Minute)[1]
	d.waitFor(t, regexp.MustCompile(`awaiting_approval: 2 approvals needed`), 5*time.Minute)
	sh.env = append(sh.env, "TEMPORAL_ADDRESS="+addr, "TEMPORAL_NAMESPACE=default")

	var last string
	for _, c := range cmds["approve"] {
		last = sh.mustRun(t, 2*time.Minute, c)
	}
	if !strings.Contains(last, "quorum reached") {
		t.Errorf("the last approval answered %q, want quorum reached", last)
	}
	d.waitFor(t, regexp.MustCompile(`approve by c\.yilmaz \(.*\): accepted`), time.Minute)
	d.waitFor(t, regexp.MustCompile(`\] soak: the target runs`), 5*time.Minute)
	for _, c := range cmds["commit"] {
		sh.mustRun(t, 2*time.Minute, c)
	}
	d.waitFor(t, regexp.MustCompile(`from start to committed`), 5*time.Minute)
	d.waitFor(t, regexp.MustCompile(`audit report: .*replay consistent`), time.Minute)
	d.waitFor(t, regexp.MustCompile(`Ctrl-C stops`), time.Minute)

	if st := sh.mustRun(t, time.Minute, "umzug status umzug/finance/finance"); !regexp.MustCompile(`(?m)^phase\s+committed`).MatchString(st) {
		t.Errorf("status after commit:\n%s", st)
	}
	if code := d.interrupt(t); code != 0 {
		t.Errorf("demo exited %d after Ctrl-C, want 0", code)
	}
}

// freshClone clones the repository into a temporary directory and lays
// its tracked files over it as they are in the working tree, so the lane
// tests what is about to be committed, not only the last commit.
func freshClone(t *testing.T) string {
	t.Helper()
	rootB, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v", err)
	}
	root := strings.TrimSpace(string(rootB))
	clone := filepath.Join(t.TempDir(), "umzug")
	if out, err := exec.Command("git", "clone", "-q", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone %s: %v\n%s", root, err, out)
	}
	list, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(list), "\x00"), "\x00") {
		if err := overlay(filepath.Join(root, f), filepath.Join(clone, f)); err != nil {
			t.Fatal(err)
		}
	}
	return clone
}

// overlay copies src over dst with its mode; a file deleted in the
// working tree is deleted in the clone.
func overlay(src, dst string) error {
	fi, err := os.Lstat(src)
	if os.IsNotExist(err) {
		return os.RemoveAll(dst)
	}
	if err != nil || !fi.Mode().IsRegular() {
		return err
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, fi.Mode().Perm())
}

// shell runs README lines as a user's shell would: sh -c, in the clone.
type shell struct {
	dir string
	env []string
}

func (s shell) mustRun(t *testing.T, limit time.Duration, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir, cmd.Env = s.dir, s.env
	out, err := cmd.CombinedOutput()
	t.Logf("$ %s\n%s", line, out)
	if err != nil {
		t.Fatalf("%s: %v (exit code %d)", line, err, cmd.ProcessState.ExitCode())
	}
	return string(out)
}

// demoProc is the running demo and the lines it printed so far.
type demoProc struct {
	cmd   *exec.Cmd
	lines chan string
	exit  chan int
}

func (s shell) startDemo(t *testing.T, line string) *demoProc {
	t.Helper()
	cmd := exec.Command("sh", "-c", "exec "+line)
	cmd.Dir, cmd.Env = s.dir, s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	d := &demoProc{cmd: cmd, lines: make(chan string, 1024), exit: make(chan int, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Logf("demo: %s", sc.Text())
			d.lines <- sc.Text()
		}
		close(d.lines)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		pw.Close()
	})
	go func() { _ = cmd.Wait(); pw.Close(); d.exit <- cmd.ProcessState.ExitCode() }()
	return d
}

// waitFor returns the submatches of the first line matching re.
func (d *demoProc) waitFor(t *testing.T, re *regexp.Regexp, limit time.Duration) []string {
	t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case l, ok := <-d.lines:
			if !ok {
				t.Fatalf("demo ended before printing %q", re)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no demo line matched %q within %s", re, limit)
		}
	}
}

// interrupt sends Ctrl-C (SIGINT to the process group) and returns the
// exit code.
func (d *demoProc) interrupt(t *testing.T) int {
	t.Helper()
	if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for range d.lines {
	}
	select {
	case code := <-d.exit:
		return code
	case <-time.After(time.Minute):
		t.Fatal("demo still running a minute after Ctrl-C")
		return -1
	}
}
