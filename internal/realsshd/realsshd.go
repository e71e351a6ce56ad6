package realsshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Binary is Debian's sshd; `apt-get install openssh-server` provides it.
const Binary = "/usr/sbin/sshd"

// Options configure one daemon.
type Options struct {
	// Dir holds the config, host key, pid file and log; it must exist.
	Dir string
	// AuthorizedKeyFile is a public key file (.pub) allowed to log in.
	AuthorizedKeyFile string
	// User is the account tests log in as; empty means whoever runs the
	// tests. Another user needs read access to Dir (authorized_keys is
	// then written world-readable: it holds only a public key).
	User string
}

// Server is a running sshd.
type Server struct {
	Addr string // 127.0.0.1:port
	Port int
	User string // the user tests log in as: whoever runs the tests
	// HostKeyPub is the host key's public line ("ssh-ed25519 AAAA...").
	HostKeyPub string
	cmd        *exec.Cmd
	log        string
	done       chan error
	closeOnce  sync.Once
}

// Available reports why sshd cannot be started here, or nil.
func Available() error {
	if _, err := os.Stat(Binary); err != nil {
		return fmt.Errorf("%s not found: install Debian's openssh-server (apt-get install -y openssh-server)", Binary)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		return errors.New("ssh-keygen not found: install openssh-client")
	}
	return nil
}

// Start writes a config into o.Dir and starts sshd in the foreground (-D)
// on a free loopback port. It returns once the port accepts connections.
func Start(o Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	// Privilege separation needs this directory when running as root.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("create /run/sshd for sshd privilege separation: %w", err)
		}
	}
	hostKey := filepath.Join(o.Dir, "ssh_host_ed25519_key")
	if _, err := os.Stat(hostKey); err != nil {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "umzug-interop", "-f", hostKey).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("ssh-keygen host key %s: %v: %s", hostKey, err, out)
		}
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(string(pub))
	if len(fields) < 2 {
		return nil, fmt.Errorf("host key %s.pub: unexpected content", hostKey)
	}
	authorized, err := os.ReadFile(o.AuthorizedKeyFile)
	if err != nil {
		return nil, fmt.Errorf("authorized key: %w", err)
	}
	login, authMode := u.Username, os.FileMode(0o600)
	if o.User != "" && o.User != u.Username {
		login, authMode = o.User, 0o644
	}
	authFile := filepath.Join(o.Dir, "authorized_keys")
	if err := os.WriteFile(authFile, authorized, authMode); err != nil {
		return nil, err
	}
	if err := os.Chmod(authFile, authMode); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	sftpServer := "/usr/lib/openssh/sftp-server"
	conf := fmt.Sprintf(`# umzug interop sshd: loopback only, its own keys, nothing from /etc/ssh.
Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers %s
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp %s
# bash sources ~/.bashrc for a command sshd starts only while SHLVL < 2;
# root's .bashrc on build machines may start heavy tools (pyenv) and
# serialize every session on their locks. The test daemons measure and
# exercise umzug, not the machine's interactive setup.
SetEnv SHLVL=1
LogLevel ERROR
`, port, hostKey, filepath.Join(o.Dir, "sshd.pid"), authFile, login, sftpServer)
	confFile := filepath.Join(o.Dir, "sshd_config")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if out, err := exec.Command(Binary, "-t", "-f", confFile).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sshd -t -f %s: %v: %s", confFile, err, out)
	}
	logFile := filepath.Join(o.Dir, "sshd.log")
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(Binary, "-D", "-e", "-f", confFile)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Die with the test process even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, User: login,
		HostKeyPub: fields[0] + " " + fields[1], cmd: cmd, log: logFile, done: make(chan error, 1),
	}
	go func() { s.done <- cmd.Wait(); lf.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			logText, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("sshd exited at start (%v): %s", err, bytes.TrimSpace(logText))
		default:
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("sshd on %s did not accept connections within 10s; log %s", s.Addr, logFile)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// KnownHostsLine is the known_hosts entry for this daemon.
func (s *Server) KnownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, s.HostKeyPub)
}

// Log returns what sshd logged, for test failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// Close stops the daemon. A second Close returns at once: the daemon's
// exit is received only once.
func (s *Server) Close() error {
	if s.cmd.Process == nil {
		return nil
	}
	s.closeOnce.Do(s.stop)
	return nil
}

func (s *Server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
