package agentdeploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Locator finds the worker's agent binary for an architecture.
type Locator struct {
	// Dir is searched first (the worker's --agent-dir); "" skips it.
	Dir string
	// NoExecutableDir leaves out the directory of the worker's own
	// executable (tests, whose executable is a test binary).
	NoExecutableDir bool
}

// dirs are the directories searched, in order.
func (l Locator) dirs() []string {
	var d []string
	if l.Dir != "" {
		d = append(d, l.Dir)
	}
	if !l.NoExecutableDir {
		if exe, err := os.Executable(); err == nil {
			if r, err := filepath.EvalSymlinks(exe); err == nil {
				exe = r
			}
			d = append(d, filepath.Dir(exe))
		}
	}
	return d
}

// names are the file names an agent for arch may have in a directory:
// the cross-built name and, for the worker's own architecture, the plain
// name `go install ./cmd/umzug-agent` gives.
func names(arch string) []string {
	n := []string{"umzug-agent-linux-" + arch}
	if runtime.GOOS == "linux" && arch == runtime.GOARCH {
		n = append(n, "umzug-agent")
	}
	return n
}

// Find returns the path of the agent binary for arch (a GOARCH), or an
// error naming host, the directories searched and the build command.
func (l Locator) Find(host, arch string) (string, error) {
	dirs := l.dirs()
	for _, d := range dirs {
		for _, n := range names(arch) {
			p := filepath.Join(d, n)
			fi, err := os.Stat(p)
			if err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("agent for %s (linux/%s): %w", host, arch, err)
			}
		}
	}
	out := l.Dir
	if out == "" && len(dirs) > 0 {
		out = dirs[len(dirs)-1]
	}
	if out == "" {
		out = "<dir>"
	}
	return "", fmt.Errorf("no umzug-agent for host %s (linux/%s): looked for %s in %s; build it with: CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -o %s ./cmd/umzug-agent",
		host, arch, strings.Join(names(arch), " or "), strings.Join(dirs, ", "), arch, filepath.Join(out, "umzug-agent-linux-"+arch))
}

// GOARCH maps `uname -m` to the Go architecture the agent is built for.
func GOARCH(machine string) (string, error) {
	switch strings.TrimSpace(machine) {
	case "x86_64", "amd64":
		return "amd64", nil
	case "aarch64", "arm64":
		return "arm64", nil
	}
	return "", fmt.Errorf("architecture %q has no umzug-agent build (amd64 and arm64 do)", strings.TrimSpace(machine))
}

// ErrNoExec says the host runs no commands for the login (an SFTP-only
// account, or no uname): such a host cannot run the agent.
var ErrNoExec = errors.New("the host runs no commands over SSH")

// HostArch runs `uname -m` on the host and maps it with GOARCH. A login
// whose PATH lacks uname gets the usual absolute paths tried.
func HostArch(ctx context.Context, conn *ssh.Client) (string, error) {
	out, err := run(ctx, conn, "uname -m 2>/dev/null || /bin/uname -m 2>/dev/null || /usr/bin/uname -m", 256)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		var ee *ssh.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() == 126 || ee.ExitStatus() == 127 || ee.ExitStatus() == 1 {
			// The exec request was refused (ForceCommand internal-sftp
			// answers 1), or uname is missing.
			return "", fmt.Errorf("%w: uname -m: %v", ErrNoExec, err)
		}
		return "", fmt.Errorf("uname -m: %w", err)
	}
	return GOARCH(string(out))
}

// run runs cmd in an exec session and returns at most max bytes of its
// stdout; ctx ends the session.
func run(ctx context.Context, conn *ssh.Client, cmd string, max int) ([]byte, error) {
	s, err := conn.NewSession()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	var out, errb limited
	out.max, errb.max = max, 4096
	s.Stdout, s.Stderr = &out, &errb
	if err := s.Run(cmd); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if msg := strings.TrimSpace(string(errb.b)); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return out.b, nil
}

// limited keeps the first max bytes written to it.
type limited struct {
	b   []byte
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		l.b = append(l.b, p[:room]...)
	}
	return len(p), nil
}
