package activities

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/testkit"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/umzug-dev/umzug/activities/contract"
)

// testSSH is an in-process SSH server plus a Host that reaches it with a
// generated key and a known_hosts file holding the server's key.
type testSSH struct {
	srv  *sshserver.Server
	host Host
	dir  string

	mu  sync.Mutex
	log []string
}

func (ts *testSSH) logged(substr string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, l := range ts.log {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func startTestSSH(t testing.TB, name string, o sshserver.Options) *testSSH {
	t.Helper()
	dir := t.TempDir()
	ts := &testSSH{dir: dir}
	o.Users = []string{"migrate"}
	o.Logf = func(f string, a ...any) {
		ts.mu.Lock()
		ts.log = append(ts.log, fmt.Sprintf(f, a...))
		ts.mu.Unlock()
	}
	s := testkit.StartSSH(t, dir, o)
	ts.srv = s.Servers[0]
	ts.host = Host{Name: name, Address: ts.srv.Addr(), User: "migrate", IdentityFile: s.Key, KnownHosts: s.KnownHosts}
	return ts
}

func dialErr(t *testing.T, h Host) *DialError {
	t.Helper()
	c, err := DefaultDialer{Timeout: 5 * time.Second}.Dial(context.Background(), h)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s succeeded, want an error", h.Name)
	}
	var de *DialError
	if !errors.As(err, &de) {
		t.Fatalf("dial %s: want *DialError, got %T %v", h.Name, err, err)
	}
	return de
}

func wantAll(t *testing.T, msg string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message lacks %q:\n%s", p, msg)
		}
	}
}

func TestDialVerifiesHostKey(t *testing.T) {
	ts := startTestSSH(t, "fin_lg", sshserver.Options{})
	c, err := DefaultDialer{}.Dial(context.Background(), ts.host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if want := ssh.FingerprintSHA256(ts.srv.HostKey()); c.Fingerprint != want {
		t.Fatalf("fingerprint %q, want %q", c.Fingerprint, want)
	}
	code, err := c.Run(context.Background(), "exit 0", nil, nil, nil)
	if err != nil || code != 0 {
		t.Fatalf("run: %d %v", code, err)
	}
}

func TestDialUnknownHostKey(t *testing.T) {
	ts := startTestSSH(t, "fin_lg", sshserver.Options{})
	h := ts.host
	h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	if err := sshserver.WriteKnownHosts(h.KnownHosts, "# nothing yet"); err != nil {
		t.Fatal(err)
	}
	de := dialErr(t, h)
	if de.Kind != contract.ErrHostKeyUnknown || de.Retryable() {
		t.Fatalf("kind %s", de.Kind)
	}
	_, port, _ := net.SplitHostPort(ts.srv.Addr())
	wantAll(t, de.Error(),
		"host fin_lg ("+ts.srv.Addr()+")",
		"host key "+ssh.FingerprintSHA256(ts.srv.HostKey())+" (ssh-ed25519) is not in known_hosts file "+h.KnownHosts,
		"verify the fingerprint out of band",
		"ssh-keyscan -p "+port+" 127.0.0.1 >> "+h.KnownHosts)
}

func TestDialChangedHostKey(t *testing.T) {
	ts := startTestSSH(t, "fin_lg", sshserver.Options{})
	other, _, err := sshserver.GenerateEd25519()
	if err != nil {
		t.Fatal(err)
	}
	h := ts.host
	h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(ts.srv.Addr())}, other.PublicKey())
	if err := sshserver.WriteKnownHosts(h.KnownHosts, "# header", line); err != nil {
		t.Fatal(err)
	}
	de := dialErr(t, h)
	if de.Kind != contract.ErrHostKeyChanged || de.Retryable() {
		t.Fatalf("kind %s", de.Kind)
	}
	wantAll(t, de.Error(), "CHANGED", h.KnownHosts+":2", ssh.FingerprintSHA256(other.PublicKey()),
		ssh.FingerprintSHA256(ts.srv.HostKey()), "possible man-in-the-middle or reinstalled host; do not continue until verified")
}

func TestDialConfigErrors(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})

	h := ts.host
	h.KnownHosts = ""
	de := dialErr(t, h)
	if de.Kind != contract.ErrSSHConfig {
		t.Fatalf("kind %s", de.Kind)
	}
	wantAll(t, de.Error(), "no known_hosts file configured", `set known_hosts = "~/.ssh/known_hosts"`, `host "fin_pb"`)

	h = ts.host
	h.KnownHosts = filepath.Join(t.TempDir(), "absent")
	wantAll(t, dialErr(t, h).Error(), "known_hosts file "+h.KnownHosts+" does not exist")

	h = ts.host
	h.IdentityFile = filepath.Join(t.TempDir(), "no_such_key")
	de = dialErr(t, h)
	if de.Kind != contract.ErrSSHConfig {
		t.Fatalf("kind %s", de.Kind)
	}
	wantAll(t, de.Error(), "identity file "+h.IdentityFile+" does not exist", "set identity_file")

	h = ts.host
	h.IdentityFile = ""
	wantAll(t, dialErr(t, h).Error(), "no credentials", "agent = true")

	h = ts.host
	h.IdentityFile, h.Agent = "", true
	t.Setenv("SSH_AUTH_SOCK", "")
	wantAll(t, dialErr(t, h).Error(), "SSH_AUTH_SOCK is not set")
}

func TestDialAuthAndNetworkErrors(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	wrong := filepath.Join(t.TempDir(), "other_key")
	if _, err := sshserver.WriteKeyPair(wrong); err != nil {
		t.Fatal(err)
	}
	h := ts.host
	h.IdentityFile = wrong
	de := dialErr(t, h)
	if de.Kind != contract.ErrSSHAuthFailed {
		t.Fatalf("kind %s: %v", de.Kind, de)
	}
	wantAll(t, de.Error(), `user "migrate"`, "identity file "+wrong, "authorized_keys")

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h = ts.host
	h.Address = addr
	de = dialErr(t, h)
	if de.Kind != contract.ErrSSHConnectFailed || !de.Retryable() {
		t.Fatalf("kind %s", de.Kind)
	}
	wantAll(t, de.Error(), "connect to "+addr, "refused")
}

func TestDialDefaultPort(t *testing.T) {
	if got := withDefaultPort("10.40.7.21"); got != "10.40.7.21:22" {
		t.Errorf("got %s", got)
	}
	if got := withDefaultPort("db.example:2222"); got != "db.example:2222" {
		t.Errorf("got %s", got)
	}
	if got := withDefaultPort("[fe80::1]"); got != "[fe80::1]:22" {
		t.Errorf("got %s", got)
	}
}

func TestDialThroughJumpHost(t *testing.T) {
	jump := startTestSSH(t, "bastion", sshserver.Options{Forwarding: true})
	target := startTestSSH(t, "fin_lg", sshserver.Options{})
	h := target.host
	j := jump.host
	h.Jump = &j
	c, err := DefaultDialer{Timeout: 5 * time.Second}.Dial(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	code, err := c.Run(context.Background(), "echo via-jump", nil, &out, nil)
	if err != nil || code != 0 || out.String() != "via-jump\n" {
		t.Fatalf("run through jump: %d %v %q", code, err, out.String())
	}
	if !jump.logged("forwards to " + target.srv.Addr()) {
		t.Fatal("the jump host did not carry the connection")
	}
	if c.Fingerprint != ssh.FingerprintSHA256(target.srv.HostKey()) {
		t.Fatal("fingerprint is not the target's")
	}
	c.Close()

	// The target's host key is still checked through the tunnel.
	h.KnownHosts = jump.host.KnownHosts // has only the bastion's key
	de := dialErr(t, h)
	if de.Kind != contract.ErrHostKeyUnknown || de.Host != "fin_lg" {
		t.Fatalf("want unknown key of fin_lg, got %s %v", de.Kind, de)
	}
	// A jump host that refuses forwarding names both hosts.
	noFwd := startTestSSH(t, "bastion2", sshserver.Options{})
	h = target.host
	j2 := noFwd.host
	h.Jump = &j2
	wantAll(t, dialErr(t, h).Error(), "through jump host bastion2")
}

func TestHostKeyAlgorithmFollowsKnownHosts(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, err := ssh.NewSignerFromKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	// A host with an ed25519 and an ECDSA key, like a stock sshd.
	ts := startTestSSH(t, "multi", sshserver.Options{ExtraHostKeys: []ssh.Signer{ecSigner}})
	// x/crypto by default prefers ECDSA over ed25519, so with only the
	// ed25519 key in known_hosts the server would present its ECDSA key
	// and verification would fail unless HostKeyAlgorithms follows
	// known_hosts. Check both directions.
	for _, key := range []ssh.PublicKey{ts.srv.HostKey(), ecSigner.PublicKey()} {
		h := ts.host
		h.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
		line := knownhosts.Line([]string{knownhosts.Normalize(ts.srv.Addr())}, key)
		if err := sshserver.WriteKnownHosts(h.KnownHosts, line); err != nil {
			t.Fatal(err)
		}
		c, err := DefaultDialer{}.Dial(context.Background(), h)
		if err != nil {
			t.Fatalf("dial with only %s in known_hosts: %v", key.Type(), err)
		}
		c.Close()
		if c.Fingerprint != ssh.FingerprintSHA256(key) {
			t.Fatalf("negotiated %s, want the %s key", c.Fingerprint, key.Type())
		}
	}
}

func TestRunExitCodesAndCancel(t *testing.T) {
	ts := startTestSSH(t, "h", sshserver.Options{})
	c, err := DefaultDialer{}.Dial(context.Background(), ts.host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out, errb strings.Builder
	code, err := c.Run(context.Background(), "cat; echo e >&2; exit 7", strings.NewReader("in\n"), &out, &errb)
	if err != nil || code != 7 || out.String() != "in\n" || errb.String() != "e\n" {
		t.Fatalf("got %d %v %q %q", code, err, out.String(), errb.String())
	}

	marker := filepath.Join(t.TempDir(), "marker")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, err = c.Run(ctx, "sleep 2; touch "+ShellQuote(marker), nil, nil, nil)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || code != -1 {
		t.Fatalf("cancelled run: %d %v", code, err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("cancel took %s", time.Since(start))
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command survived cancellation")
	}
}

func TestShellQuoteThroughShell(t *testing.T) {
	ts := startTestSSH(t, "h", sshserver.Options{})
	c, err := DefaultDialer{}.Dial(context.Background(), ts.host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range []string{"", "plain", "it's", "a b\tc\nd", `$HOME "x" \ ; | & * ? ~`, "'''", "-n", "ümlaut/ß"} {
		var out strings.Builder
		code, err := c.Run(context.Background(), "printf '%s' "+ShellQuote(s), nil, &out, nil)
		if err != nil || code != 0 || out.String() != s {
			t.Errorf("ShellQuote(%q) = %s came back as %q (%d %v)", s, ShellQuote(s), out.String(), code, err)
		}
	}
}

func TestDialWithAgent(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	// An in-process agent holding the client key, on a unix socket.
	priv, err := os.ReadFile(ts.host.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	h := ts.host
	h.IdentityFile, h.Agent = "", true
	c, err := DefaultDialer{}.Dial(context.Background(), h)
	if err != nil {
		t.Fatalf("dial with agent: %v", err)
	}
	c.Close()

	// An agent without the right key: the error names the agent.
	if err := keyring.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	de := dialErr(t, h)
	if de.Kind != contract.ErrSSHAuthFailed {
		t.Fatalf("kind %s: %v", de.Kind, de)
	}
	wantAll(t, de.Error(), "ssh-agent at "+sock)
}

func TestParallelDialsAndSessions(t *testing.T) {
	ts := startTestSSH(t, "h", sshserver.Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := DefaultDialer{}.Dial(context.Background(), ts.host)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			var inner sync.WaitGroup
			for j := 0; j < 4; j++ {
				inner.Add(1)
				go func() {
					defer inner.Done()
					var out strings.Builder
					code, err := c.Run(context.Background(), "echo "+fmt.Sprint(j)+"; exit "+fmt.Sprint(j), nil, &out, nil)
					if err != nil || code != j || out.String() != fmt.Sprintf("%d\n", j) {
						errs <- fmt.Errorf("session %d: code %d out %q err %v", j, code, out.String(), err)
					}
				}()
			}
			if cl, err := c.SFTP(); err != nil {
				errs <- err
			} else if _, err := cl.Stat(ts.dir); err != nil {
				errs <- err
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkDial(b *testing.B) {
	ts := startTestSSH(b, "h", sshserver.Options{})
	for b.Loop() {
		c, err := DefaultDialer{}.Dial(context.Background(), ts.host)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkRunTrue(b *testing.B) {
	ts := startTestSSH(b, "h", sshserver.Options{})
	c, err := DefaultDialer{}.Dial(context.Background(), ts.host)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for b.Loop() {
		if code, err := c.Run(context.Background(), "true", nil, nil, nil); err != nil || code != 0 {
			b.Fatal(code, err)
		}
	}
}

// BenchmarkCipherThroughput streams 64 MiB from the server per cipher, to
// back the cipher preference order (go test -bench CipherThroughput).
func BenchmarkCipherThroughput(b *testing.B) {
	ts := startTestSSH(b, "h", sshserver.Options{})
	saved := preferredCiphers
	defer func() { preferredCiphers = saved }()
	for _, cipher := range []string{ssh.CipherAES128GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES256GCM, ssh.CipherAES128CTR} {
		b.Run(cipher, func(b *testing.B) {
			preferredCiphers = []string{cipher}
			c, err := DefaultDialer{}.Dial(context.Background(), ts.host)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(64 << 20)
			for b.Loop() {
				var n countWriter
				if code, err := c.Run(context.Background(), "head -c 67108864 /dev/zero", nil, &n, nil); err != nil || code != 0 || n != 64<<20 {
					b.Fatal(code, err, n)
				}
			}
		})
	}
}

type countWriter int64

func (w *countWriter) Write(p []byte) (int, error) { *w += countWriter(len(p)); return len(p), nil }
