package agentdeploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/agentclient"
	"github.com/umzug-dev/umzug/internal/agentproto"
)

// maxAgentBytes bounds the binary read back from a host for its digest.
const maxAgentBytes = 64 << 20

// Options configure Start.
type Options struct {
	// Host names the host in errors.
	Host string
	// Locator finds the worker's copy of the agent.
	Locator Locator
	// AgentPath is an administrator-installed agent on the host (a host's
	// agent_path attribute): nothing is uploaded, the file is only checked
	// against the worker's copy. "" uploads to the login user's home.
	AgentPath string
	// Sudo starts the agent as root with `sudo -n '<path>' serve` (a
	// host's become = "sudo"); sudoers must allow exactly that command.
	Sudo bool
	// Home replaces the login user's home (as the SFTP server reports it)
	// as the directory holding .umzug/agent; tests use it.
	Home string
}

// Agent is a running agent on a host.
type Agent struct {
	*agentclient.Client
	// Path is the binary that runs on the host; Digest its SHA-256 (hex).
	Path, Digest string
	// Uploaded tells that Start uploaded the binary (it was missing or
	// differed).
	Uploaded bool

	sess   *ssh.Session
	stderr *limited
	once   sync.Once
}

// Close ends the agent: its stdin closes, it exits, the session ends.
func (a *Agent) Close() error {
	var err error
	a.once.Do(func() {
		err = a.Client.Close()
		a.sess.Close()
	})
	return err
}

// Stderr is what the agent wrote to its standard error (bounded), for
// errors after the connection ended.
func (a *Agent) Stderr() string { return strings.TrimSpace(string(a.stderr.b)) }

// Start finds, places, verifies and starts the agent on conn's host.
func Start(ctx context.Context, conn *ssh.Client, o Options) (*Agent, error) {
	arch, err := HostArch(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("agent on %s: %w", o.Host, err)
	}
	local, err := o.Locator.Find(o.Host, arch)
	if err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(local)
	if err != nil {
		return nil, fmt.Errorf("agent on %s: read the worker's copy: %w", o.Host, err)
	}
	sum := sha256.Sum256(bin)
	digest := hex.EncodeToString(sum[:])
	cl, err := sftp.NewClient(conn)
	if err != nil {
		return nil, fmt.Errorf("agent on %s: open SFTP: %w", o.Host, err)
	}
	defer cl.Close()
	a := &Agent{Digest: digest, stderr: &limited{max: 8192}}
	if o.AgentPath != "" {
		a.Path = o.AgentPath
		if err := checkInstalled(ctx, conn, cl, o, local, digest); err != nil {
			return nil, err
		}
	} else {
		p, up, err := place(cl, o, bin, digest)
		if err != nil {
			return nil, err
		}
		a.Path, a.Uploaded = p, up
	}
	if err := a.start(ctx, conn, o.Host, arch, o.Sudo); err != nil {
		return nil, err
	}
	return a, nil
}

// place makes sure ~/.umzug/agent/<digest prefix>/umzug-agent holds bin
// and returns its path and whether it was uploaded.
func place(cl *sftp.Client, o Options, bin []byte, digest string) (string, bool, error) {
	home := o.Home
	if home == "" {
		h, err := cl.RealPath(".")
		if err != nil || !path.IsAbs(h) {
			return "", false, fmt.Errorf("agent on %s: find the login user's home: %q, %v", o.Host, h, err)
		}
		home = h
	}
	home = path.Clean(home)
	uid, err := checkAnchor(cl, home)
	if err != nil {
		return "", false, fmt.Errorf("agent on %s: the home directory cannot hold the agent: %w (set the host's agent_path to an installed agent)", o.Host, err)
	}
	dir := home
	for _, c := range []string{".umzug", "agent", digest[:16]} {
		dir = path.Join(dir, c)
		if err := privateDir(cl, dir, uid); err != nil {
			return "", false, fmt.Errorf("agent on %s: %w", o.Host, err)
		}
	}
	file := path.Join(dir, "umzug-agent")
	uploaded := false
	for attempt := 0; ; attempt++ {
		err := checkFile(cl, file, uid, digest, true)
		if err == nil {
			return file, uploaded, nil
		}
		if attempt == 1 {
			return "", false, fmt.Errorf("agent on %s: %s still differs from the worker's copy after uploading it again: %w; remove %s and retry", o.Host, file, err, dir)
		}
		if err := upload(cl, dir, file, bin); err != nil {
			return "", false, fmt.Errorf("agent on %s: upload to %s: %w", o.Host, file, err)
		}
		uploaded = true
	}
}

// errDigest: the file's bytes are not the worker's agent.
var errDigest = errors.New("SHA-256 differs from the worker's agent")

// checkFile checks file: a regular file, not a symlink, of root or uid
// (with mine, of uid only), writable by nobody else, whose bytes hash to
// digest.
func checkFile(cl *sftp.Client, file string, uid uint32, digest string, mine bool) error {
	fi, err := cl.Lstat(file)
	if err != nil {
		return err
	}
	if err := safe(fi, file, uid, mine); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (mode %v)", file, fi.Mode())
	}
	f, err := cl.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(f, maxAgentBytes+1))
	if err != nil {
		return fmt.Errorf("read %s back: %w", file, err)
	}
	if n > maxAgentBytes {
		return fmt.Errorf("%s is larger than %d bytes: %w", file, maxAgentBytes, errDigest)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("%s has SHA-256 %s, want %s: %w", file, got, digest, errDigest)
	}
	return nil
}

// upload writes bin to a new temporary name in dir, makes it 0700 and
// renames it over file.
func upload(cl *sftp.Client, dir, file string, bin []byte) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, ".umzug-agent.tmp-"+hex.EncodeToString(rnd[:]))
	f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	_, err = f.ReadFrom(bytes.NewReader(bin))
	if err == nil {
		err = f.Chmod(0o700)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = cl.PosixRename(tmp, file)
	}
	if err != nil {
		_ = cl.Remove(tmp)
	}
	return err
}

// checkAnchor checks home and the directories above it from /: each a
// directory (no symlink), owned by root or home's owner, not writable by
// group or others (a sticky directory above home excepted). It returns
// home's owner.
func checkAnchor(cl *sftp.Client, home string) (uint32, error) {
	hfi, err := cl.Lstat(home)
	if err != nil {
		return 0, err
	}
	uid := uidOf(hfi)
	p := "/"
	comps := strings.Split(strings.Trim(home, "/"), "/")
	for i := 0; i <= len(comps); i++ {
		fi, err := cl.Lstat(p)
		if err != nil {
			return 0, err
		}
		isHome := i == len(comps) || home == "/"
		switch {
		case !fi.IsDir():
			return 0, fmt.Errorf("%s is not a directory (mode %v)", p, fi.Mode())
		case uidOf(fi) != 0 && uidOf(fi) != uid:
			return 0, fmt.Errorf("%s is owned by uid %d, neither root nor %d", p, uidOf(fi), uid)
		case fi.Mode().Perm()&0o022 != 0 && (fi.Mode()&os.ModeSticky == 0 || isHome):
			return 0, fmt.Errorf("%s is writable by group or others (mode %v)", p, fi.Mode())
		}
		if i == len(comps) || home == "/" {
			break
		}
		p = path.Join(p, comps[i])
	}
	return uid, nil
}

// privateDir makes dir (0700) when missing and checks it by lstat: a
// directory of uid, writable by nobody else.
func privateDir(cl *sftp.Client, dir string, uid uint32) error {
	fi, err := cl.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err = cl.Mkdir(dir); err == nil || errors.Is(err, fs.ErrExist) {
			_ = cl.Chmod(dir, 0o700)
		}
		fi, err = cl.Lstat(dir)
	}
	if err != nil {
		return fmt.Errorf("make private directory %s for the agent: %w", dir, err)
	}
	if err := safe(fi, dir, uid, true); err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (mode %v)", dir, fi.Mode())
	}
	return nil
}

// safe refuses a symlink, a foreign owner and group/other write bits.
func safe(fi os.FileInfo, p string, uid uint32, mine bool) error {
	o := uidOf(fi)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink", p)
	case o != uid && (mine || o != 0):
		return fmt.Errorf("%s is owned by uid %d, not %d", p, o, uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by group or others (mode %v)", p, fi.Mode())
	}
	return nil
}

func uidOf(fi os.FileInfo) uint32 {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return st.UID
	}
	return ^uint32(0)
}

// checkInstalled checks an administrator-installed agent: root or the
// login user owns it, nobody else can write it, its bytes are the worker's
// copy, and its `version` names the worker's agent version.
func checkInstalled(ctx context.Context, conn *ssh.Client, cl *sftp.Client, o Options, local, digest string) error {
	p := path.Clean(o.AgentPath)
	if !path.IsAbs(p) {
		return fmt.Errorf("agent on %s: agent_path %q is not absolute", o.Host, o.AgentPath)
	}
	var uid uint32
	if h, err := cl.RealPath("."); err == nil {
		if fi, err := cl.Lstat(h); err == nil {
			uid = uidOf(fi)
		}
	}
	if _, err := checkAnchor(cl, path.Dir(p)); err != nil {
		return fmt.Errorf("agent on %s: the directory of agent_path %s: %w", o.Host, p, err)
	}
	if err := checkFile(cl, p, uid, digest, false); err != nil {
		return fmt.Errorf("agent on %s: agent_path %s is not the worker's agent (%s): %w; install that file there", o.Host, p, local, err)
	}
	out, err := run(ctx, conn, shellQuote(p)+" version", 512)
	if err != nil {
		return fmt.Errorf("agent on %s: agent_path %s does not run (%w): install it executable, on a file system mounted with exec", o.Host, p, err)
	}
	want := fmt.Sprintf("protocol %d", agentproto.Version)
	if !strings.Contains(string(out), want) {
		return fmt.Errorf("agent on %s: %s version says %q, want %q", o.Host, p, strings.TrimSpace(string(out)), want)
	}
	return nil
}

// start runs `'<path>' serve` (through `sudo -n` with sudo) and waits
// for its hello.
func (a *Agent) start(ctx context.Context, conn *ssh.Client, host, arch string, sudo bool) error {
	cmd := shellQuote(a.Path) + " serve"
	if sudo {
		cmd = "sudo -n " + cmd
	}
	s, err := conn.NewSession()
	if err != nil {
		return fmt.Errorf("agent on %s: open a session: %w", host, err)
	}
	stdin, err := s.StdinPipe()
	if err == nil {
		var stdout io.Reader
		if stdout, err = s.StdoutPipe(); err == nil {
			s.Stderr = a.stderr
			if err = s.Start(cmd); err == nil {
				a.sess = s
				a.Client, err = agentclient.New(ctx, stdout, stdin)
			}
		}
	}
	if err != nil {
		if a.sess != nil {
			// The agent started and ended before its hello: wait (bounded)
			// until its stderr is copied, so the error can quote it.
			done := make(chan struct{})
			go func() { _ = s.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
			}
			a.sess = nil
		}
		s.Close()
		msg := ""
		if e := a.Stderr(); e != "" {
			msg = " (stderr: " + e + ")"
			if strings.Contains(e, "ermission denied") {
				msg += "; if the home directory is mounted noexec, install the agent elsewhere and name it with the host's agent_path"
			}
			if sudo && strings.Contains(e, "sudo:") {
				msg += fmt.Sprintf("; the host's sudoers must allow the login user to run %q without a password (see docs/operations.md)", a.Path+" serve")
			}
		}
		return fmt.Errorf("agent on %s: start %s serve: %w%s", host, a.Path, err, msg)
	}
	if h := a.Client.Hello(); h.GOARCH != arch || h.GOOS != "linux" {
		a.Close()
		return fmt.Errorf("agent on %s: %s reports %s/%s, the host is linux/%s", host, a.Path, h.GOOS, h.GOARCH, arch)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
