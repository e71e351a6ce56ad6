//go:build uilane

package uilane

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/testkit"
)

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found above %s: %v", root, err)
	}
	return root
}

// buildUmzug builds the binary under test into dir.
func buildUmzug(t *testing.T, root, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "umzug")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/umzug")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/umzug: %v\n%s", err, out)
	}
	return bin
}

// devServer is a running `umzug dev` child process.
type devServer struct {
	Address string // Temporal frontend, host:port
	UI      string // Web UI base URL
	Log     string // its stdout and stderr
}

// startDev runs `umzug dev --db` on free loopback ports, waits until the
// worker runs and the Web UI answers, and stops the process group when the
// test ends.
func startDev(t *testing.T, bin, dir string) *devServer {
	t.Helper()
	port, uiPort := testkit.FreePort(t), testkit.FreePort(t)
	d := &devServer{
		Address: fmt.Sprintf("127.0.0.1:%d", port),
		UI:      fmt.Sprintf("http://127.0.0.1:%d", uiPort),
		Log:     filepath.Join(dir, "umzug-dev.log"),
	}
	logf, err := os.Create(d.Log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "dev", "--db", filepath.Join(dir, "umzug.db"),
		"--port", fmt.Sprint(port), "--ui-port", fmt.Sprint(uiPort))
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start umzug dev: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	ready := make(chan struct{})
	go copyUntil(pr, logf, "Worker:", ready)
	t.Cleanup(func() { stopGroup(t, cmd.Process.Pid, exited); logf.Close() })

	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("umzug dev exited before its worker ran: %v; log %s:\n%s", err, d.Log, readFile(d.Log))
	case <-time.After(2 * time.Minute):
		t.Fatalf("umzug dev did not report its worker within 2m; log %s:\n%s", d.Log, readFile(d.Log))
	}
	waitHTTP(t, d.UI+"/", time.Minute)
	return d
}

// copyUntil copies the child's output to the log and closes ready once a
// line starts with marker.
func copyUntil(r io.Reader, w io.Writer, marker string, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	signalled := false
	for sc.Scan() {
		fmt.Fprintln(w, sc.Text())
		if !signalled && strings.HasPrefix(strings.TrimSpace(sc.Text()), marker) {
			close(ready)
			signalled = true
		}
	}
	_, _ = io.Copy(w, r)
}

// stopGroup ends umzug dev the way Ctrl-C does, and kills the group if it
// has not stopped within 15s.
func stopGroup(t *testing.T, pid int, exited chan error) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Logf("umzug dev (pid %d) ignored SIGTERM for 15s; killing its process group", pid)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, url string, limit time.Duration) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	var last error
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
	}
	t.Fatalf("Web UI at %s did not answer within %s: %v", url, limit, last)
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
