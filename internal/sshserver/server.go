package sshserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Options configure a Server.
type Options struct {
	// Addr is the listen address; default "127.0.0.1:0" (a free port).
	Addr string
	// HostKey identifies the server; nil generates an ephemeral Ed25519 key.
	HostKey ssh.Signer
	// ExtraHostKeys are further host keys of other types, as a real host
	// has (ed25519, ecdsa, rsa); clients negotiate which one they see.
	ExtraHostKeys []ssh.Signer
	// AuthorizedKeys are the client keys accepted (public-key auth only).
	AuthorizedKeys []ssh.PublicKey
	// Users are the accepted user names; empty accepts any name.
	Users []string
	// Env is added to the server process's environment for exec requests,
	// e.g. "PATH=..." or "UMZUG_ROOT=...". Later entries win.
	Env []string
	// Dir is the working directory of commands; default the current
	// user's home directory, as with sshd. (Relative SFTP paths resolve
	// against the process's working directory; umzug uses absolute paths.)
	Dir string
	// Forwarding allows "direct-tcpip" channels (ssh -J / ProxyJump through
	// this server). Off by default, like AllowTcpForwarding no.
	Forwarding bool
	// SFTPOnly serves the sftp subsystem and runs no command, as a login
	// with ForceCommand internal-sftp: an exec request ends at once with
	// exit status 1 and no output.
	SFTPOnly bool
	// Logf receives connection-level events; nil discards them.
	Logf func(format string, args ...any)
}

// Server is a running SSH server. Close stops it.
type Server struct {
	o       Options
	cfg     *ssh.ServerConfig
	ln      net.Listener
	hostKey ssh.Signer

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on o.Addr and serves connections until Close.
func Start(o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.Dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			o.Dir = home
		} else {
			o.Dir = "/"
		}
	}
	if o.HostKey == nil {
		signer, _, err := GenerateEd25519()
		if err != nil {
			return nil, err
		}
		o.HostKey = signer
	}
	if len(o.AuthorizedKeys) == 0 {
		return nil, errors.New("sshserver: no authorized keys: nobody could log in; set Options.AuthorizedKeys")
	}
	s := &Server{o: o, hostKey: o.HostKey, conns: map[net.Conn]struct{}{}}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: s.checkKey,
		ServerVersion:     "SSH-2.0-umzug_sshserver",
	}
	s.cfg.AddHostKey(o.HostKey)
	for _, k := range o.ExtraHostKeys {
		s.cfg.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("sshserver: listen on %s: %w", o.Addr, err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is the host:port the server actually listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// HostKey is the server's public host key.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey.PublicKey() }

// KnownHostsLine is the known_hosts line that makes clients trust this
// server at Addr, e.g. "[127.0.0.1]:40022 ssh-ed25519 AAAA...".
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.hostKey.PublicKey())
}

// Close stops listening, drops every live connection (killing the commands
// they run) and waits for all connection goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if len(s.o.Users) > 0 {
		ok := false
		for _, u := range s.o.Users {
			if u == meta.User() {
				ok = true
				break
			}
		}
		if !ok {
			return nil, fmt.Errorf("user %q not accepted", meta.User())
		}
	}
	b := key.Marshal()
	for _, k := range s.o.AuthorizedKeys {
		if bytes.Equal(k.Marshal(), b) {
			return &ssh.Permissions{Extensions: map[string]string{"pubkey-fp": ssh.FingerprintSHA256(key)}}, nil
		}
	}
	return nil, fmt.Errorf("key %s not authorized for %q", ssh.FingerprintSHA256(key), meta.User())
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return // listener closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.serveConn(c)
		}()
	}
}

func (s *Server) serveConn(c net.Conn) {
	// A client that never finishes the handshake must not hold a goroutine.
	c.SetDeadline(time.Now().Add(30 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		s.o.Logf("sshserver: handshake with %s: %v", c.RemoteAddr(), err)
		return
	}
	c.SetDeadline(time.Time{})
	s.o.Logf("sshserver: %s logged in as %s with key %s", c.RemoteAddr(), sc.User(), sc.Permissions.Extensions["pubkey-fp"])
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ssh.DiscardRequests(reqs) // keepalives and tcpip-forward: refused
	}()
	for nc := range chans {
		if nc.ChannelType() == "direct-tcpip" && s.o.Forwarding {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.forward(nc, sc.User())
			}()
			continue
		}
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels are supported")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			s.o.Logf("sshserver: accept channel from %s: %v", c.RemoteAddr(), err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ch, creqs)
		}()
	}
	sc.Close()
	wg.Wait()
}

// forward serves a direct-tcpip channel: a TCP connection made from the
// server on the client's behalf.
func (s *Server) forward(nc ssh.NewChannel, user string) {
	var p struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nc.ExtraData(), &p); err != nil {
		nc.Reject(ssh.ConnectionFailed, "malformed direct-tcpip request")
		return
	}
	target := net.JoinHostPort(p.Host, fmt.Sprint(p.Port))
	tc, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		tc.Close()
		return
	}
	s.o.Logf("sshserver: %s forwards to %s", user, target)
	go ssh.DiscardRequests(reqs)
	// Closing the TCP side when the server shuts down ends both copies.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		tc.Close()
		ch.Close()
		return
	}
	s.conns[tc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, tc)
		s.mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(tc, ch)
		if cw, ok := tc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		io.Copy(ch, tc)
		ch.CloseWrite()
		done <- struct{}{}
	}()
	// Either side ending ends the tunnel (the tunnelled protocols here are
	// SSH, which never half-closes).
	<-done
	ch.Close()
	tc.Close()
	<-done
}

// session is one session channel: at most one command or subsystem.
type session struct {
	s       *Server
	ch      ssh.Channel
	started bool
	cmd     *exec.Cmd
	done    chan struct{} // closed when the command or subsystem ended
	// afterReply runs once the request that started the session has been
	// answered.
	afterReply func()
}

func (s *Server) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	ss := &session{s: s, ch: ch, done: make(chan struct{})}
	for req := range reqs {
		ok := false
		switch req.Type {
		case "exec":
			var p struct{ Command string }
			if ss.started || ssh.Unmarshal(req.Payload, &p) != nil {
				break
			}
			if s.o.SFTPOnly {
				ss.refuseExec()
				ok = true
				break
			}
			if err := ss.startExec(p.Command); err != nil {
				fmt.Fprintf(ch.Stderr(), "umzug sshserver: %v\n", err)
				break
			}
			ok = true
		case "subsystem":
			var p struct{ Name string }
			if ss.started || ssh.Unmarshal(req.Payload, &p) != nil || p.Name != "sftp" {
				break
			}
			ss.startSFTP()
			ok = true
		case "signal":
			var p struct{ Signal string }
			if ssh.Unmarshal(req.Payload, &p) == nil {
				ss.signal(p.Signal)
			}
			ok = true
		case "shell", "pty-req":
			// No interactive use: umzug only runs commands and SFTP.
		case "env":
			// Ignored like sshd without AcceptEnv.
		}
		if req.WantReply {
			req.Reply(ok, nil)
		}
		if ss.afterReply != nil {
			ss.afterReply()
			ss.afterReply = nil
		}
	}
	// The client closed the channel (or the connection dropped): a command
	// still running has nobody to report to, so kill it as sshd does.
	ss.signal("KILL")
	if ss.started {
		<-ss.done
	}
	ch.Close()
}

func (ss *session) startExec(command string) error {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = ss.s.o.Dir
	cmd.Env = append(os.Environ(), ss.s.o.Env...)
	// Own process group, so KILL reaches the shell's children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout = ss.ch
	cmd.Stderr = ss.ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start /bin/sh: %w", err)
	}
	ss.started = true
	ss.cmd = cmd
	// Not waited for: a client that never sends EOF must not keep the
	// session alive after the command exits.
	go func() {
		io.Copy(stdin, ss.ch)
		stdin.Close()
	}()
	// Reaped only after the exec reply went out: a command that exits at
	// once must not close the channel before the client saw the reply.
	ss.afterReply = func() {
		go func() {
			defer close(ss.done)
			err := cmd.Wait()
			ss.sendExit(cmd.ProcessState, err)
			ss.ch.Close()
		}()
	}
	return nil
}

// refuseExec answers a command as ForceCommand internal-sftp does for a
// client that does not speak SFTP on it: no output, exit status 1.
func (ss *session) refuseExec() {
	ss.started = true
	ss.afterReply = func() {
		go func() {
			defer close(ss.done)
			ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{1}))
			ss.ch.Close()
		}()
	}
}

func (ss *session) sendExit(ps *os.ProcessState, err error) {
	if ps == nil {
		ss.s.o.Logf("sshserver: command failed: %v", err)
		ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{255}))
		return
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		name := signalName(ws.Signal())
		ss.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{name, ws.CoreDump(), "killed by SIG" + name, ""}))
		return
	}
	ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(ps.ExitCode())}))
}

func (ss *session) startSFTP() {
	ss.started = true
	ss.afterReply = func() { go ss.serveSFTP() }
}

func (ss *session) serveSFTP() {
	defer close(ss.done)
	// No WithServerWorkingDirectory: pkg/sftp then also rewrites the
	// *target* of SSH_FXP_SYMLINK ("../x" became "<dir>/../x" cleaned to
	// an absolute path), which corrupts copied relative symlinks.
	// Clients of this server use absolute paths. WithMaxTxPacket: answer
	// the 64 KiB reads umzug's client asks for in full, as OpenSSH does
	// (pkg/sftp's default 32 KiB halves every concurrent read).
	srv, err := sftp.NewServer(ss.ch, sftp.WithMaxTxPacket(1<<16))
	if err != nil {
		ss.s.o.Logf("sshserver: sftp server: %v", err)
		ss.ch.Close()
		return
	}
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		ss.s.o.Logf("sshserver: sftp session: %v", err)
	}
	srv.Close()
	ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
	ss.ch.Close()
}

// signal delivers an SSH signal name ("KILL", "TERM", ...) to the command's
// process group.
func (ss *session) signal(name string) {
	if ss.cmd == nil || ss.cmd.Process == nil {
		return
	}
	select {
	case <-ss.done:
		return
	default:
	}
	sig, ok := signalsByName[name]
	if !ok {
		return
	}
	syscall.Kill(-ss.cmd.Process.Pid, sig)
}

var signalsByName = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE,
	"HUP": syscall.SIGHUP, "ILL": syscall.SIGILL, "INT": syscall.SIGINT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "QUIT": syscall.SIGQUIT,
	"SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

func signalName(sig syscall.Signal) string {
	for n, s := range signalsByName {
		if s == sig {
			return n
		}
	}
	return fmt.Sprintf("%d", int(sig))
}
