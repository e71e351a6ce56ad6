package sshserver

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

type fixture struct {
	srv        *Server
	clientKey  ssh.Signer
	knownHosts string
}

func start(t *testing.T, o Options) *fixture {
	t.Helper()
	dir := t.TempDir()
	clientKey, err := WriteKeyPair(filepath.Join(dir, "id_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := LoadOrCreateHostKey(filepath.Join(dir, "host_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	o.HostKey = hostKey
	o.AuthorizedKeys = append(o.AuthorizedKeys, clientKey.PublicKey())
	srv, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	kh := filepath.Join(dir, "known_hosts")
	if err := WriteKnownHosts(kh, srv.KnownHostsLine()); err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, clientKey: clientKey, knownHosts: kh}
}

func (f *fixture) dial(t *testing.T, user string, key ssh.Signer, knownHostsFile string) (*ssh.Client, error) {
	t.Helper()
	cb, err := knownhosts.New(knownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Dial("tcp", f.srv.Addr(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: cb,
		Timeout:         5 * time.Second,
	})
}

func (f *fixture) mustDial(t *testing.T) *ssh.Client {
	t.Helper()
	c, err := f.dial(t, "migrate", f.clientKey, f.knownHosts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestExecExitStatusAndOutput(t *testing.T) {
	f := start(t, Options{Env: []string{"UMZUG_TEST_VAR=from-env"}})
	c := f.mustDial(t)

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	err = sess.Run("echo hi; echo oops >&2; echo $UMZUG_TEST_VAR; exit 3")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Fatalf("want exit status 3, got %v", err)
	}
	if out.String() != "hi\nfrom-env\n" || errb.String() != "oops\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}

	// stdin reaches the command and a zero exit is no error.
	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	sess.Stdin = strings.NewReader("line1\nline2\n")
	sess.Stdout = &out
	if err := sess.Run("wc -l"); err != nil {
		t.Fatalf("wc -l: %v", err)
	}
	if strings.TrimSpace(out.String()) != "2" {
		t.Fatalf("wc -l read %q", out.String())
	}

	// Commands that exit at once: the exec reply must still arrive before
	// the channel closes (this used to race).
	for i := 0; i < 50; i++ {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Run("true"); err != nil {
			t.Fatalf("run %d of true: %v", i, err)
		}
	}

	// shell requests are refused cleanly.
	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err == nil {
		t.Fatal("shell request accepted")
	}
	sess.Close()
}

func TestExitSignalAndKillOnClose(t *testing.T) {
	f := start(t, Options{})
	c := f.mustDial(t)

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	err = sess.Run("kill -TERM $$")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.Signal() != "TERM" || ee.ExitStatus() != 128+15 {
		t.Fatalf("want exit-signal TERM, got %v", err)
	}

	// Closing the channel kills the command (and its children).
	marker := filepath.Join(t.TempDir(), "survived")
	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("sleep 2; touch " + marker); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	sess.Close()
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("command kept running after its channel was closed")
	}
}

func TestSFTPRoundTrip(t *testing.T) {
	f := start(t, Options{})
	c := f.mustDial(t)
	cl, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	dir := t.TempDir() // a real absolute path: no chroot
	tmp := filepath.Join(dir, ".data.tmp")
	final := filepath.Join(dir, "data")
	payload := bytes.Repeat([]byte("umzug "), 50000)
	w, err := cl.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(final, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// posix-rename replaces an existing file, plain SFTP rename would not.
	if err := cl.PosixRename(tmp, final); err != nil {
		t.Fatalf("posix-rename: %v", err)
	}
	got, err := os.ReadFile(final)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("file on disk differs after rename (err %v, %d bytes)", err, len(got))
	}
	r, err := cl.Open(final)
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(back, payload) {
		t.Fatalf("read back differs (err %v, %d bytes)", err, len(back))
	}
	vfs, err := cl.StatVFS(dir)
	if err != nil {
		t.Fatalf("statvfs: %v", err)
	}
	if vfs.TotalSpace() == 0 || vfs.FreeSpace() > vfs.TotalSpace() {
		t.Fatalf("implausible statvfs: total %d free %d", vfs.TotalSpace(), vfs.FreeSpace())
	}
	if err := cl.Link(final, filepath.Join(dir, "hard")); err != nil {
		t.Fatalf("hardlink: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "hard")); err != nil || st.Size() != int64(len(payload)) {
		t.Fatalf("hardlink target: %v", err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	f := start(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 4; i++ {
		c := f.mustDial(t)
		for j := 0; j < 5; j++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				s, err := c.NewSession()
				if err != nil {
					errs <- err
					return
				}
				out, err := s.Output("echo ok")
				if err != nil || string(out) != "ok\n" {
					errs <- errors.New("exec: " + string(out))
				}
			}()
			go func() {
				defer wg.Done()
				cl, err := sftp.NewClient(c)
				if err != nil {
					errs <- err
					return
				}
				defer cl.Close()
				if _, err := cl.Stat("/"); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestWrongClientKeyRefused(t *testing.T) {
	f := start(t, Options{Users: []string{"migrate"}})
	other, _, err := GenerateEd25519()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.dial(t, "migrate", other, f.knownHosts); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("wrong key: want authentication failure, got %v", err)
	}
	if _, err := f.dial(t, "root", f.clientKey, f.knownHosts); err == nil {
		t.Fatal("user not in Users was accepted")
	}
	// Password auth is not offered at all.
	_, err = ssh.Dial("tcp", f.srv.Addr(), &ssh.ClientConfig{
		User: "migrate", Auth: []ssh.AuthMethod{ssh.Password("secret")},
		HostKeyCallback: mustKnownHosts(t, f.knownHosts),
	})
	if err == nil {
		t.Fatal("password auth accepted")
	}
}

func TestUnknownHostKeyRefusedByClient(t *testing.T) {
	f := start(t, Options{})
	other := start(t, Options{}) // a different server's key in known_hosts
	kh := filepath.Join(t.TempDir(), "known_hosts")
	// Same address, wrong key: the line names f's address with other's key.
	line := knownhosts.Line([]string{knownhosts.Normalize(f.srv.Addr())}, other.srv.HostKey())
	if err := WriteKnownHosts(kh, line); err != nil {
		t.Fatal(err)
	}
	_, err := f.dial(t, "migrate", f.clientKey, kh)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) != 1 {
		t.Fatalf("changed host key: want knownhosts.KeyError, got %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty_known_hosts")
	if err := WriteKnownHosts(empty); err != nil {
		t.Fatal(err)
	}
	_, err = f.dial(t, "migrate", f.clientKey, empty)
	if !errors.As(err, &ke) || len(ke.Want) != 0 {
		t.Fatalf("unknown host: want knownhosts.KeyError without Want, got %v", err)
	}
}

func TestLoadOrCreateHostKeyIsStable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k", "host")
	a, err := LoadOrCreateHostKey(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateHostKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.PublicKey().Marshal(), b.PublicKey().Marshal()) {
		t.Fatal("host key changed between loads")
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", st.Mode(), err)
	}
	keys, err := LoadAuthorizedKeys(p + ".pub")
	if err != nil || len(keys) != 1 || !bytes.Equal(keys[0].Marshal(), a.PublicKey().Marshal()) {
		t.Fatalf("public key file does not match: %v", err)
	}
}

func TestCloseDropsConnections(t *testing.T) {
	f := start(t, Options{})
	c := f.mustDial(t)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 30"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a command running")
	}
	if err := s.Wait(); err == nil {
		t.Fatal("session survived server Close")
	}
}

func mustKnownHosts(t *testing.T, path string) ssh.HostKeyCallback {
	cb, err := knownhosts.New(path)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}
