package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/umzug-dev/umzug/activities/contract"
)

// DefaultDialer opens SSH connections the way OpenSSH would with
// StrictHostKeyChecking=yes: the host key must already be in the host's
// known_hosts file. It supports identity files, the SSH agent and one or
// more jump hosts (Host.Jump, like ProxyJump).
type DefaultDialer struct {
	// Timeout bounds the TCP connect and the SSH handshake; 0 means 20s.
	Timeout time.Duration
}

// DialError is a failed Dial with what went wrong and what to do.
// Host-key, configuration and authentication problems do not heal by
// retrying; network failures may.
type DialError struct {
	Host    string
	Address string
	Kind    string // a dial error type of package contract (ErrSSHConfig …)
	Msg     string // full explanation including the advice
	Err     error
}

func (e *DialError) Error() string { return e.Msg }
func (e *DialError) Unwrap() error { return e.Err }

// Retryable says whether trying again later can succeed without a change
// by an operator. A refused key is not retried: the same key is refused
// again, and repeated failures can lock the account.
func (e *DialError) Retryable() bool {
	return e.Kind == contract.ErrSSHConnectFailed || e.Kind == contract.ErrSSHHandshakeError
}

// Cipher and MAC preferences: AES-GCM is fastest on CPUs with AES-NI, which
// the migration hosts have; chacha20 next for those without.
var (
	preferredCiphers = []string{
		ssh.CipherAES128GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES256GCM,
		ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR,
	}
	preferredMACs = []string{
		ssh.HMACSHA256ETM, ssh.HMACSHA512ETM, ssh.HMACSHA256, ssh.HMACSHA512,
	}
)

// Dial connects to h, verifying its host key against h.KnownHosts.
func (d DefaultDialer) Dial(ctx context.Context, h Host) (*Conn, error) {
	h, err := applyUserSSHConfig(h) // ~/.ssh/config fills what the plan leaves open
	if err != nil {
		return nil, err
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	addr := withDefaultPort(h.Address)
	fail := dialFailer(h, addr)
	login, err := newLogin(h, addr, timeout, fail)
	if err != nil {
		return nil, err
	}
	defer login.cleanup()
	netCon, jump, err := d.connect(ctx, h, addr, timeout, fail)
	if err != nil {
		return nil, err
	}
	client, err := login.handshake(ctx, netCon, addr, timeout)
	if err != nil {
		netCon.Close()
		if jump != nil {
			jump.Close()
		}
		return nil, err
	}
	if jump != nil {
		// The jump connection lives exactly as long as the tunnelled one.
		go func() {
			client.Wait()
			jump.Close()
		}()
	}
	return &Conn{Host: h, Client: client, Fingerprint: login.fingerprint}, nil
}

// failFunc builds a DialError of a kind with a message.
type failFunc func(kind string, err error, format string, args ...any) error

func dialFailer(h Host, addr string) failFunc {
	return func(kind string, err error, format string, args ...any) error {
		return &DialError{Host: h.Name, Address: addr, Kind: kind, Err: err,
			Msg: fmt.Sprintf("host %s (%s): ", h.Name, addr) + fmt.Sprintf(format, args...)}
	}
}

// login is the client side of one SSH login: configuration, credentials
// and what the host-key check found.
type login struct {
	h           Host
	cfg         *ssh.ClientConfig
	authDesc    string
	cleanup     func()
	fail        failFunc
	hostKeyErr  error
	fingerprint string
}

// newLogin checks the host's settings and reads known_hosts and the
// credentials. Host key verification is never skipped.
func newLogin(h Host, addr string, timeout time.Duration, fail failFunc) (*login, error) {
	if h.Address == "" {
		return nil, fail(contract.ErrSSHConfig, nil, "no address; set address = \"host:port\" in host %q of the plan", h.Name)
	}
	if h.User == "" {
		return nil, fail(contract.ErrSSHConfig, nil, "no user; set user in host %q of the plan", h.Name)
	}
	if h.KnownHosts == "" {
		return nil, fail(contract.ErrSSHConfig, nil, "no known_hosts file configured; set known_hosts = \"~/.ssh/known_hosts\" (or another file holding the host's key) in host %q of the plan", h.Name)
	}
	khPath, err := expandHome(h.KnownHosts)
	if err != nil {
		return nil, fail(contract.ErrSSHConfig, err, "known_hosts %s: %v", h.KnownHosts, err)
	}
	khCallback, err := knownhosts.New(khPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fail(contract.ErrSSHConfig, err, "known_hosts file %s does not exist; create it with the host's verified key (ssh-keyscan -p %s %s >> %s, after checking the fingerprint out of band) or fix known_hosts in host %q of the plan", khPath, portOf(addr), hostOf(addr), khPath, h.Name)
		}
		return nil, fail(contract.ErrSSHConfig, err, "read known_hosts file %s: %v", khPath, err)
	}
	auth, authDesc, cleanup, err := authMethods(h)
	if err != nil {
		return nil, fail(contract.ErrSSHConfig, err, "%v", err)
	}
	l := &login{h: h, authDesc: authDesc, cleanup: cleanup, fail: fail}
	l.cfg = &ssh.ClientConfig{
		User:              h.User,
		Auth:              auth,
		HostKeyAlgorithms: hostKeyAlgorithms(khCallback, addr),
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			if err := khCallback(hostname, remote, key); err != nil {
				l.hostKeyErr = hostKeyError(h, addr, khPath, key, err)
				return l.hostKeyErr
			}
			l.fingerprint = ssh.FingerprintSHA256(key)
			return nil
		},
		Timeout:       timeout,
		ClientVersion: "SSH-2.0-umzug",
		Config:        ssh.Config{Ciphers: preferredCiphers, MACs: preferredMACs},
	}
	return l, nil
}

// connect opens the transport to addr: TCP, or with jump hosts a channel
// of the jump host's SSH connection, as with ProxyJump. jump is the
// connection to close with the transport, nil without jump hosts.
func (d DefaultDialer) connect(ctx context.Context, h Host, addr string, timeout time.Duration, fail failFunc) (netCon net.Conn, jump *Conn, err error) {
	if h.Jump == nil {
		nd := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
		netCon, err = nd.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, nil, fail(contract.ErrSSHConnectFailed, err, "connect to %s failed: %v; check the address in the plan, that sshd listens there and that the firewall lets this worker through", addr, err)
		}
		return netCon, nil, nil
	}
	jump, err = d.Dial(ctx, *h.Jump)
	if err != nil {
		return nil, nil, fmt.Errorf("host %s (%s): via jump host %s: %w", h.Name, addr, h.Jump.Name, err)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	netCon, err = jump.Client.DialContext(dctx, "tcp", addr)
	cancel()
	if err != nil {
		jump.Close()
		return nil, nil, fail(contract.ErrSSHConnectFailed, err, "connect to %s through jump host %s (%s) failed: %v; check that the jump host can reach the address", addr, h.Jump.Name, h.Jump.Address, err)
	}
	return netCon, jump, nil
}

// handshake runs the SSH handshake over netCon. It has no context of its
// own: a deadline bounds it, and the end of ctx aborts it.
func (l *login) handshake(ctx context.Context, netCon net.Conn, addr string, timeout time.Duration) (*ssh.Client, error) {
	netCon.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { netCon.Close() })
	c, chans, reqs, err := ssh.NewClientConn(netCon, addr, l.cfg)
	stopped := stop()
	if err != nil {
		switch {
		case l.hostKeyErr != nil:
			return nil, l.hostKeyErr
		case !stopped:
			return nil, l.fail(contract.ErrSSHConnectFailed, ctx.Err(), "SSH handshake interrupted: %v", ctx.Err())
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, l.fail(contract.ErrSSHAuthFailed, err, "authentication as user %q with %s was refused; check that the matching public key is in ~%s/.ssh/authorized_keys on the host", l.h.User, l.authDesc, l.h.User)
		case isNetErr(err):
			return nil, l.fail(contract.ErrSSHConnectFailed, err, "SSH handshake with %s failed: %v", addr, err)
		default:
			return nil, l.fail(contract.ErrSSHHandshakeError, err, "SSH handshake failed: %v", err)
		}
	}
	if !stopped {
		// ctx ended just as the handshake finished; the socket is closed.
		c.Close()
		return nil, l.fail(contract.ErrSSHConnectFailed, ctx.Err(), "SSH handshake interrupted: %v", ctx.Err())
	}
	netCon.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// hostKeyError turns a knownhosts verdict into a message an operator can
// act on.
func hostKeyError(h Host, addr, khPath string, key ssh.PublicKey, err error) error {
	fp := ssh.FingerprintSHA256(key)
	prefix := fmt.Sprintf("host %s (%s): ", h.Name, addr)
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		return &DialError{Host: h.Name, Address: addr, Kind: contract.ErrHostKeyRevoked, Err: err,
			Msg: prefix + fmt.Sprintf("host key %s (%s) is marked @revoked in %s:%d; do not connect until the host has a new key", fp, key.Type(), re.Revoked.Filename, re.Revoked.Line)}
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return &DialError{Host: h.Name, Address: addr, Kind: contract.ErrHostKeyUnknown, Err: err,
			Msg: prefix + fmt.Sprintf("host key %s (%s) is not in known_hosts file %s; verify the fingerprint out of band, then add it (ssh-keyscan -p %s %s >> %s)", fp, key.Type(), khPath, portOf(addr), hostOf(addr), khPath)}
	case errors.As(err, &ke):
		var known []string
		for _, w := range ke.Want {
			known = append(known, fmt.Sprintf("%s (%s) at %s:%d", ssh.FingerprintSHA256(w.Key), w.Key.Type(), w.Filename, w.Line))
		}
		return &DialError{Host: h.Name, Address: addr, Kind: contract.ErrHostKeyChanged, Err: err,
			Msg: prefix + fmt.Sprintf("host key CHANGED: the host offered %s (%s) but known_hosts has %s; possible man-in-the-middle or reinstalled host; do not continue until verified, then correct that line", fp, key.Type(), strings.Join(known, ", "))}
	default:
		return &DialError{Host: h.Name, Address: addr, Kind: contract.ErrHostKeyUnknown, Err: err,
			Msg: prefix + fmt.Sprintf("host key %s (%s) could not be verified against %s: %v", fp, key.Type(), khPath, err)}
	}
}

// probeKey is a key no known_hosts file contains; checking it makes the
// knownhosts callback list every key it knows for an address.
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	// A fixed, well-formed ed25519 public key (all-zero point is rejected
	// by nobody at parse time and never matches a real host).
	k, err := ssh.ParsePublicKey(ssh.Marshal(struct {
		Name string
		Key  []byte
	}{ssh.KeyAlgoED25519, make([]byte, 32)}))
	if err != nil {
		panic(err)
	}
	return k
})

// hostKeyAlgorithms returns the host key algorithms to offer so that the
// server presents a key type that known_hosts holds for addr (otherwise a
// host with ed25519 and RSA keys could present one we do not know and
// fail verification). Nil leaves the library default.
func hostKeyAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	remote := &net.TCPAddr{IP: net.IPv4(0, 0, 0, 0), Port: 22}
	var ke *knownhosts.KeyError
	if err := cb(addr, remote, probeKey()); !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, x := range a {
			if !seen[x] {
				seen[x] = true
				algos = append(algos, x)
			}
		}
	}
	for _, w := range ke.Want {
		switch t := w.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// authMethods builds the client authentication from the identity file
// and/or the agent; authDesc names them for error messages.
func authMethods(h Host) (methods []ssh.AuthMethod, authDesc string, cleanup func(), err error) {
	cleanup = func() {}
	var desc []string
	if h.IdentityFile != "" {
		p, err := expandHome(h.IdentityFile)
		if err != nil {
			return nil, "", cleanup, fmt.Errorf("identity file %s: %v", h.IdentityFile, err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, "", cleanup, fmt.Errorf("identity file %s does not exist; set identity_file in host %q of the plan to an existing private key (or agent = true)", p, h.Name)
			}
			return nil, "", cleanup, fmt.Errorf("read identity file %s: %v", p, err)
		}
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				return nil, "", cleanup, fmt.Errorf("identity file %s is passphrase-protected; load it into ssh-agent and set agent = true in host %q", p, h.Name)
			}
			return nil, "", cleanup, fmt.Errorf("parse identity file %s: %v", p, err)
		}
		methods = append(methods, ssh.PublicKeys(signer))
		desc = append(desc, fmt.Sprintf("identity file %s (%s)", p, ssh.FingerprintSHA256(signer.PublicKey())))
	}
	if h.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, "", cleanup, fmt.Errorf("agent = true but SSH_AUTH_SOCK is not set for the worker; start the worker with an ssh-agent or set identity_file in host %q", h.Name)
		}
		ac, err := net.Dial("unix", sock)
		if err != nil {
			return nil, "", cleanup, fmt.Errorf("connect to ssh-agent at %s: %v", sock, err)
		}
		// The agent is only needed during the handshake.
		cleanup = func() { ac.Close() }
		methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(ac).Signers))
		desc = append(desc, "the keys of ssh-agent at "+sock)
	}
	if len(methods) == 0 {
		return nil, "", cleanup, fmt.Errorf("no credentials; set identity_file = \"~/.ssh/...\" or agent = true in host %q of the plan", h.Name)
	}
	return methods, strings.Join(desc, " and "), cleanup, nil
}

// Run runs command in a new exec session. A non-zero exit is returned as
// the code with a nil error; an error means the command's outcome is
// unknown (connection lost, no exit status, ctx ended). Cancelling ctx
// sends KILL and closes the session.
func (c *Conn) Run(ctx context.Context, command string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	sess, err := c.Client.NewSession()
	if err != nil {
		// A connection that cannot open a session is of no further use.
		c.markBroken()
		return -1, fmt.Errorf("open session on %s (%s): %w", c.Host.Name, c.Host.Address, err)
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr
	if err := sess.Start(command); err != nil {
		return -1, fmt.Errorf("start %q on %s (%s): %w", command, c.Host.Name, c.Host.Address, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		// Wait may hang on a blocked stdin reader; do not wait for it long.
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		return -1, fmt.Errorf("%q on %s (%s) stopped: %w", command, c.Host.Name, c.Host.Address, ctx.Err())
	}
	if err == nil {
		return 0, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus(), nil
	}
	var em *ssh.ExitMissingError
	if errors.As(err, &em) {
		return -1, fmt.Errorf("%q on %s (%s): the server reported no exit status; the outcome is unknown", command, c.Host.Name, c.Host.Address)
	}
	return -1, fmt.Errorf("%q on %s (%s): %w", command, c.Host.Name, c.Host.Address, err)
}

// ShellQuote quotes s as one POSIX shell word: single quotes, with each
// embedded ' written as '\”. Safe for any byte string except NUL.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// withDefaultPort adds the default port 22 when the address has none.
func withDefaultPort(a string) string {
	if a == "" {
		return a
	}
	if _, _, err := net.SplitHostPort(a); err == nil {
		return a
	}
	return net.JoinHostPort(strings.Trim(a, "[]"), "22")
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "22"
	}
	return p
}

// expandHome expands a leading "~/" (or a lone "~") to the home directory.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %s: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}
