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
	// NoRootLogin sets PermitRootLogin no, as hardened hosts do.
	NoRootLogin bool
	// ShellStartup lets bash source the login user's ~/.bashrc for the
	// commands sshd starts, as on a host where nobody configured sshd for
	// tests (the default keeps the machine's interactive setup out).
	ShellStartup bool
	// Etc, when set, is a directory holding passwd and group files that
	// sshd and its sessions see as /etc/passwd and /etc/group: the daemon
	// runs in a mount namespace of its own (unshare -m) where they are
	// bind-mounted, a host with another user database. Needs root.
	Etc string
	// Ramfs lists directories that the daemon's mount namespace mounts a
	// ramfs over: a file system without ACLs or extended attributes.
	Ramfs []string
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

// startTries bounds the starts on fresh ports when another process took
// the chosen port first.
const startTries = 5

// pickPort chooses the port for one start (a test replaces it to hand out
// a port that is already taken).
var pickPort = freePort

// errPortTaken says sshd could not bind its port: another process took
// it between pickPort and sshd's bind.
var errPortTaken = errors.New("port taken by another process")

// Start writes a config into o.Dir and starts sshd in the foreground (-D)
// on a free loopback port. It returns once sshd has bound the port.
//
// OpenSSH cannot listen on port 0 and report the port it got, so the port
// is chosen first and bound by sshd a moment later; when another process
// takes it in between, sshd exits with "Address already in use" and Start
// tries again on a fresh port.
func Start(o Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	f, err := prepare(o)
	if err != nil {
		return nil, err
	}
	for range startTries {
		port, err := pickPort()
		if err != nil {
			return nil, err
		}
		s, err := f.launch(port)
		if !errors.Is(err, errPortTaken) {
			return s, err
		}
	}
	return nil, fmt.Errorf("start sshd: the chosen port was taken by another process %d times in a row; log %s", startTries, filepath.Join(o.Dir, "sshd.log"))
}

// files is what one daemon needs on disk before it starts, and the user
// it lets in.
type files struct {
	dir        string
	hostKey    string
	hostKeyPub string // "ssh-ed25519 AAAA..."
	authFile   string
	login      string
	rootLogin  string // PermitRootLogin
	setEnv     string // "SetEnv SHLVL=1", or "" to let bash read ~/.bashrc
	etc        string
	ramfs      []string
}

// prepare writes the host key (once per Dir) and authorized_keys, and
// makes the directory privilege separation needs when running as root.
func prepare(o Options) (*files, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("create /run/sshd for sshd privilege separation: %w", err)
		}
	}
	f := &files{dir: o.Dir, hostKey: filepath.Join(o.Dir, "ssh_host_ed25519_key"), authFile: filepath.Join(o.Dir, "authorized_keys")}
	if f.hostKeyPub, err = hostKey(f.hostKey); err != nil {
		return nil, err
	}
	authorized, err := os.ReadFile(o.AuthorizedKeyFile)
	if err != nil {
		return nil, fmt.Errorf("authorized key: %w", err)
	}
	login, authMode := u.Username, os.FileMode(0o600)
	if o.User != "" && o.User != u.Username {
		login, authMode = o.User, 0o644
	}
	f.login = login
	f.etc, f.ramfs = o.Etc, o.Ramfs
	if (f.etc != "" || len(f.ramfs) > 0) && os.Geteuid() != 0 {
		return nil, errors.New("a daemon with its own /etc/passwd or ramfs needs root (unshare -m)")
	}
	f.rootLogin = "prohibit-password"
	if o.NoRootLogin {
		f.rootLogin = "no"
	}
	if !o.ShellStartup {
		f.setEnv = "SetEnv SHLVL=1"
	}
	if err := os.WriteFile(f.authFile, authorized, authMode); err != nil {
		return nil, err
	}
	if err := os.Chmod(f.authFile, authMode); err != nil {
		return nil, err
	}
	return f, nil
}

// hostKey generates the host key at path unless it exists and returns its
// public line.
func hostKey(path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "umzug-interop", "-f", path).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("ssh-keygen host key %s: %v: %s", path, err, out)
		}
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		return "", err
	}
	fields := strings.Fields(string(pub))
	if len(fields) < 2 {
		return "", fmt.Errorf("host key %s.pub: unexpected content", path)
	}
	return fields[0] + " " + fields[1], nil
}

// writeConfig writes sshd_config for port and returns its path.
func (f *files) writeConfig(port int) (string, error) {
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
PermitRootLogin %s
AllowUsers %s
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp %s
# bash sources ~/.bashrc for a command sshd starts only while SHLVL < 2;
# root's .bashrc on build machines may start heavy tools (pyenv) and
# serialize every session on their locks. The test daemons measure and
# exercise umzug, not the machine's interactive setup.
%s
LogLevel ERROR
`, port, f.hostKey, f.pidFile(), f.authFile, f.rootLogin, f.login, sftpServer, f.setEnv)
	confFile := filepath.Join(f.dir, "sshd_config")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		return "", err
	}
	if out, err := exec.Command(Binary, "-t", "-f", confFile).CombinedOutput(); err != nil {
		return "", fmt.Errorf("sshd -t -f %s: %v: %s", confFile, err, out)
	}
	return confFile, nil
}

func (f *files) pidFile() string { return filepath.Join(f.dir, "sshd.pid") }

// launch starts sshd on port and waits until it has bound it.
func (f *files) launch(port int) (*Server, error) {
	confFile, err := f.writeConfig(port)
	if err != nil {
		return nil, err
	}
	// A pid file left by an earlier daemon in this directory must not
	// pass for this one's.
	if err := os.Remove(f.pidFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	logFile := filepath.Join(f.dir, "sshd.log")
	lf, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(Binary, "-D", "-e", "-f", confFile)
	if f.etc != "" || len(f.ramfs) > 0 {
		// unshare and sh exec in turn: the daemon keeps the pid started.
		script := ""
		for _, n := range []string{"passwd", "group"} {
			if f.etc != "" {
				script += "mount --bind " + shQuote(filepath.Join(f.etc, n)) + " /etc/" + n + " && "
			}
		}
		for _, d := range f.ramfs {
			script += "mount -t ramfs ramfs " + shQuote(d) + " && "
		}
		script += `exec "$@"`
		cmd = exec.Command("unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", Binary, "-D", "-e", "-f", confFile)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	// Die with the test process even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, User: f.login,
		HostKeyPub: f.hostKeyPub, cmd: cmd, log: logFile, done: make(chan error, 1),
	}
	go func() { s.done <- cmd.Wait(); lf.Close() }()
	if err := s.waitBound(f.pidFile()); err != nil {
		return nil, err
	}
	return s, nil
}

// waitBound waits for sshd's pid file: sshd writes it only after its
// listening socket is bound. Dialing the port instead could reach another
// process that took the port while this sshd fails to bind it.
func (s *Server) waitBound(pidFile string) error {
	want := strconv.Itoa(s.cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == want {
			return nil
		}
		select {
		case err := <-s.done:
			logText := bytes.TrimSpace([]byte(s.Log()))
			if bytes.Contains(logText, []byte("Address already in use")) {
				return fmt.Errorf("sshd on %s: %w: %s", s.Addr, errPortTaken, logText)
			}
			return fmt.Errorf("sshd exited at start (%v): %s", err, logText)
		default:
		}
		if time.Now().After(deadline) {
			s.Close()
			return fmt.Errorf("sshd on %s did not bind its port within 10s; log %s", s.Addr, s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the daemon's process id (nsenter -t Pid -m sees its mounts).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

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
