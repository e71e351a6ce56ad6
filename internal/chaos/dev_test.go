//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/umzug-dev/umzug/internal/devserver"
)

// devProc is `umzug dev --db FILE` in its own process: Temporal server and
// worker together, so SIGKILL takes both down mid-activity and a restart
// with the same database resumes the moves.
type devProc struct {
	bin, db, logPath string
	port             int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
	c    client.Client
}

func newDev(bin, dir string) (*devProc, error) {
	port, err := devserver.FreePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	d := &devProc{bin: bin, db: filepath.Join(dir, "umzug.db"), logPath: filepath.Join(dir, "dev.log"), port: port}
	return d, d.start()
}

// Addr is the Temporal frontend the CLI dials.
func (d *devProc) Addr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return "127.0.0.1:" + strconv.Itoa(d.port)
}

// newPortIfTaken picks another frontend port when the last start found
// its port taken (another lane's server or sshd may have bound it).
func (d *devProc) newPortIfTaken() {
	log, _ := os.ReadFile(d.logPath)
	if !strings.Contains(string(log), "address already in use") {
		return
	}
	if p, err := devserver.FreePort("127.0.0.1"); err == nil {
		d.mu.Lock()
		d.port = p
		d.mu.Unlock()
	}
}

// Env is the environment for CLI processes that talk to this server.
func (d *devProc) Env() []string {
	return append(os.Environ(), "TEMPORAL_ADDRESS="+d.Addr(), "TEMPORAL_NAMESPACE=default")
}

// startMu serialises server starts: the embedded server picks free ports
// for its internal services, and two starting at once can pick the same.
var startMu sync.Mutex

// start starts the process, again when it exits at start: a port it
// picked may have been taken meanwhile (by a test's sshd, say), which the
// server reports as "address already in use" or even a panic.
func (d *devProc) start() error {
	startMu.Lock()
	defer startMu.Unlock()
	var errs []string
	for range 3 {
		err := d.startOnce()
		if err == nil {
			return nil
		}
		errs = append(errs, err.Error())
		if !strings.Contains(err.Error(), "exited at start") {
			break
		}
		d.newPortIfTaken()
		_ = os.Rename(d.logPath, fmt.Sprintf("%s.failed-%d", d.logPath, len(errs)))
	}
	return fmt.Errorf("start umzug dev: %s", strings.Join(errs, "; "))
}

func (d *devProc) startOnce() error {
	lf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	addr := d.Addr()
	cmd := exec.Command(d.bin, "dev", "--db", d.db, "--port", addr[strings.LastIndexByte(addr, ':')+1:], "--headless")
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("start umzug dev: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); lf.Close() }()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := client.DialContext(ctx, client.Options{HostPort: d.Addr(), Namespace: "default", Identity: "chaos-suite"})
		cancel()
		if err == nil {
			d.mu.Lock()
			d.cmd, d.done, d.c = cmd, done, c
			d.mu.Unlock()
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("umzug dev exited at start (%v); log %s", err, d.logPath)
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("umzug dev on %s not ready within 3m: %v; log %s", d.Addr(), err, d.logPath)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Client is the SDK client of the current incarnation.
func (d *devProc) Client() client.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.c
}

// stop sends sig and waits for the process to exit; a graceful stop that
// takes over a minute is finished with SIGKILL.
func (d *devProc) stop(sig syscall.Signal) {
	d.mu.Lock()
	cmd, done, c := d.cmd, d.done, d.c
	d.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
	}
	c.Close()
}

// restart stops the process with sig and starts it again on the same
// database and port.
func (d *devProc) restart(sig syscall.Signal) error {
	d.stop(sig)
	return d.start()
}

// Close ends the process for good.
func (d *devProc) Close() { d.stop(syscall.SIGTERM) }
