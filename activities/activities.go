package activities

import (
	"context"
	"io"
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
	// NoProgress bounds how long a copy attempt may move nothing before
	// it fails (retryable) and starts again on fresh connections; 0 means
	// UMZUG_COPY_NO_PROGRESS or DefaultNoProgress (2m).
	NoProgress time.Duration
	// StripeFrom is the file size from which a file is copied over every
	// SSH connection at once and, with verify = "sha256", hashed on the
	// target as it lands; 0 means 64 MiB.
	StripeFrom int64
	// StripeBytes is how much landed data the target hashes at a time
	// (rounded to 2 MiB chunks); 0 means 32 MiB.
	StripeBytes int64
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
}

// SFTP returns the connection's SFTP client, opening it on first use with
// options tuned for throughput (concurrent reads and writes, 64 KiB packets).
func (c *Conn) SFTP() (*sftp.Client, error) {
	if c.sftp != nil {
		return c.sftp, nil
	}
	cl, err := sftp.NewClient(c.Client,
		sftp.MaxPacketUnchecked(1<<16),
		sftp.UseConcurrentReads(true),
		sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(64),
	)
	if err != nil {
		return nil, err
	}
	c.sftp = cl
	return cl, nil
}

// Close closes the SFTP session and the SSH connection.
func (c *Conn) Close() error {
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

// dial opens a verified connection with the configured dialer, or the
// default known_hosts-checking one.
func (a *Activities) dial(ctx context.Context, h Host) (*Conn, error) {
	d := a.Dialer
	if d == nil {
		d = DefaultDialer{}
	}
	return d.Dial(ctx, h)
}
