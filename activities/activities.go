package activities

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Activities holds what the side effects share: how to dial hosts. One
// value is registered with the worker; its methods are the activities.
type Activities struct {
	// Dialer opens SSH connections; nil means the default dialer, which
	// verifies host keys against each host's known_hosts file.
	Dialer Dialer
	// SecretsFile holds KEY=VALUE lines (UMZUG_SECRET_<name>=value) for
	// secrets not set in the worker's environment; it must be mode 0600.
	// Empty means the file named by $UMZUG_SECRETS_FILE, if any.
	SecretsFile string
	// RemoteStateDir is where commands keep their attempt records on each
	// host; empty means /var/lib/umzug/attempts for root and
	// ~/.umzug/attempts for other users.
	RemoteStateDir string
	// IdentStateDir is where copies keep verified-identity states on each
	// target (an absolute path); empty means .umzug/state under the SSH
	// user's home (where the host's SFTP server starts). It must be
	// reachable through directories only root or that user can write.
	IdentStateDir string
	// Options tune the copy engine (connections, files in flight, the
	// no-progress bound, tracing); the zero value means the defaults.
	Options Options
	// CopyEngine picks how CopyTree, EstimateDelta and the re-hash work:
	// "" or CopyEngineAgent (umzug-agent on both hosts, see copy_agent.go;
	// a host that runs no commands falls back to the classic engine) or
	// CopyEngineClassic (SFTP, tar, find, sha256sum by path).
	CopyEngine string
	// AgentDir is searched first for the umzug-agent binaries the agent
	// engine uploads; the directory of the worker's executable follows.
	AgentDir string
	// AgentHome, when set, replaces the login user's home as the directory
	// on each host that holds the uploaded agent (.umzug/agent below it);
	// the demos' in-process hosts, whose SFTP starts in the working
	// directory, use it.
	AgentHome string

	// hooks are set by this package's tests only.
	hooks copyHooks
	// Pool tunes the SSH connection pool the activities share; see
	// PoolOptions. Close closes it.
	Pool PoolOptions

	poolMu sync.Mutex
	pool   *connPool

	agentMu sync.Mutex
	agents  *agentPool // one started agent per login (copy_agent_pool.go)
}

// Dialer opens a verified SSH connection to a host.
type Dialer interface {
	Dial(ctx context.Context, h Host) (*Conn, error)
}

// Conn is one SSH connection to a host with its SFTP session opened lazily.
type Conn struct {
	Host   Host
	Client *ssh.Client
	// Fingerprint is the SHA256 fingerprint of the host key that was
	// verified against known_hosts.
	Fingerprint string

	sftp *sftp.Client
	// Set for a connection the pool lent out; see pool_conn.go.
	pool     *connPool
	poolKey  string
	dialedAt time.Time // when the dial that verified the host key began
	broken   atomic.Bool
}

// SFTP returns the connection's SFTP client, opening it on first use with
// options tuned for throughput (concurrent reads and writes, 64 KiB packets).
// On a host with become = "sudo" the SFTP server runs as root (see
// sudoSFTP), so preflight reads what the steps and the agent will.
func (c *Conn) SFTP() (*sftp.Client, error) {
	if c.sftp != nil {
		return c.sftp, nil
	}
	opts := []sftp.ClientOption{
		sftp.MaxPacketUnchecked(1 << 16),
		sftp.UseConcurrentReads(true),
		sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(64),
	}
	var cl *sftp.Client
	var err error
	if c.Host.Sudo() {
		cl, err = c.sudoSFTP(opts)
	} else {
		cl, err = sftp.NewClient(c.Client, opts...)
	}
	if err != nil {
		return nil, err
	}
	c.sftp = cl
	return cl, nil
}

// Close closes the SFTP session and the SSH connection.
func (c *Conn) Close() error {
	c.markBroken()
	if c.sftp != nil {
		c.sftp.Close()
	}
	return c.Client.Close()
}

// Runner runs a shell command on a host; implemented over an SSH exec
// session by Conn.Run. The copy engine uses it for batched sha256sum.
type Runner interface {
	Run(ctx context.Context, command string, stdin io.Reader, stdout, stderr io.Writer) (exitCode int, err error)
}

// dial lends a verified connection from the pool, which dials with the
// configured dialer (or the default known_hosts-checking one) when it has
// none idle. Give it back with release, or Close it.
func (a *Activities) dial(ctx context.Context, h Host) (*Conn, error) {
	if p := a.connPool(); p != nil {
		return p.get(ctx, a.dialer(), h)
	}
	return a.dialer().Dial(ctx, h)
}

// dialFresh opens a new connection, never a pooled one: it asks whether
// the host accepts connections now.
func (a *Activities) dialFresh(ctx context.Context, h Host) (*Conn, error) {
	return a.dialer().Dial(ctx, h)
}

func (a *Activities) dialer() Dialer {
	if a.Dialer == nil {
		return DefaultDialer{}
	}
	return a.Dialer
}
