package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/umzug-dev/umzug/internal/sshserver"

	"github.com/umzug-dev/umzug/activities/contract"
)

// wantPermanent asserts err is a top-level non-retryable ApplicationError
// of type typ whose message holds every part.
func wantPermanent(t *testing.T, err error, typ string, parts ...string) {
	t.Helper()
	ae, ok := err.(*temporal.ApplicationError)
	if !ok {
		t.Fatalf("want a top-level *temporal.ApplicationError %s, got %T: %v", typ, err, err)
	}
	if ae.Type() != typ || !ae.NonRetryable() {
		t.Fatalf("type %s non-retryable %v, want non-retryable %s: %v", ae.Type(), ae.NonRetryable(), typ, err)
	}
	wantAll(t, err.Error(), parts...)
	t.Log(err)
}

// A host key that changed between two copies (a reinstalled host, or a
// man in the middle) fails the copy at once, as it does a command and a
// preflight.
func TestCopyTreeHostKeyChangedIsPermanent(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	f.copy(t, f.input(CopySet{}))

	other, _, err := sshserver.GenerateEd25519()
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(f.dst.Address)}, other.PublicKey())
	if err := sshserver.WriteKnownHosts(kh, line); err != nil {
		t.Fatal(err)
	}
	f.dst.KnownHosts = kh
	_, err = f.a.CopyTree(context.Background(), f.input(CopySet{}))
	wantPermanent(t, err, contract.ErrHostKeyChanged, "fin_lg", "host key CHANGED", kh)

	_, err = f.a.RunCommand(context.Background(), CommandInput{Host: f.dst, Command: "true", Purpose: "check"})
	wantPermanent(t, err, contract.ErrHostKeyChanged, "fin_lg")
	_, err = f.a.EstimateDelta(context.Background(), f.input(CopySet{}))
	wantPermanent(t, err, contract.ErrHostKeyChanged, "fin_lg")
}

// A refused key is not retried: the same key is refused again.
func TestCopyTreeAuthRefusedIsPermanent(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	wrong := filepath.Join(t.TempDir(), "other_key")
	if _, err := sshserver.WriteKeyPair(wrong); err != nil {
		t.Fatal(err)
	}
	f.src.IdentityFile = wrong
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	wantPermanent(t, err, contract.ErrSSHAuthFailed, "fin_pb", "refused", "authorized_keys")

	_, err = f.a.RunCommand(context.Background(), CommandInput{Host: f.src, Command: "true", Purpose: "check"})
	wantPermanent(t, err, contract.ErrSSHAuthFailed, "fin_pb")
	_, err = f.a.Preflight(context.Background(), PreflightInput{MoveID: "m", Source: f.src, Target: f.dst})
	wantPermanent(t, err, contract.ErrPreflightFailed, "fin_pb", "refused")
}

// A target path the SSH user may not write is not retried.
func TestCopyTreePathDeniedIsPermanent(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes through any permission; the interop lane's non-root user covers this")
	}
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	if err := os.Chmod(filepath.Dir(f.dstRoot), 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Dir(f.dstRoot), 0o755)
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	wantPermanent(t, err, contract.ErrPathDenied, f.dstRoot, "grant access")
}

// OpenSSH's sftp-server reports ENOSPC as a generic failure: the target's
// statvfs, asked right after it, tells out of space and out of inodes
// apart from other failures.
func TestFullTargetClassifiedByStatVFS(t *testing.T) {
	fail := fmt.Errorf("write at offset 0: %w", &sftp.StatusError{Code: uint32(sftp.ErrSSHFxFailure)})
	cases := []struct {
		st   sftp.StatVFS
		want string
	}{
		{sftp.StatVFS{Frsize: 4096, Blocks: 512, Bavail: 0, Files: 100, Ffree: 50, Favail: 50}, contract.ErrTargetNoSpace},
		{sftp.StatVFS{Frsize: 4096, Blocks: 512, Bavail: 100, Files: 64, Ffree: 0, Favail: 0}, contract.ErrTargetNoInodes},
		{sftp.StatVFS{Frsize: 4096, Blocks: 512, Bavail: 100, Files: 64, Ffree: 9, Favail: 9, Flag: stRdonly}, contract.ErrTargetReadOnly},
		{sftp.StatVFS{Frsize: 4096, Blocks: 512, Bavail: 100, Files: 64, Ffree: 9, Favail: 9}, ""},
	}
	for _, c := range cases {
		err := fullFromStat(fail, "fin_lg", "/srv/data/x", &c.st)
		if c.want == "" {
			if err != fail {
				t.Errorf("%+v: got %v, want the failure unchanged", c.st, err)
			}
			continue
		}
		wantPermanent(t, err, c.want, "target fin_lg", "/srv/data", "retry the move")
	}
	// Not a generic failure: statvfs is not asked.
	faultHooks.statVFS = func(string) (*sftp.StatVFS, error) { t.Fatal("statvfs asked"); return nil, nil }
	defer func() { faultHooks.statVFS = nil }()
	ep := &endpoint{name: "fin_lg"}
	eof := fmt.Errorf("write: %w", errors.New("connection lost"))
	if got := ep.fullError(eof, "/srv/data/x"); got != eof {
		t.Errorf("got %v", got)
	}
}

// A permission the server denies is not retried; nor is an error the
// engine already marked permanent, however deeply it is wrapped.
func TestPermanentClassification(t *testing.T) {
	denied := fmt.Errorf("create /srv/data/x on fin_lg: %w", &sftp.StatusError{Code: uint32(sftp.ErrSSHFxPermissionDenied)})
	wantPermanent(t, permanent(denied), contract.ErrPathDenied, "/srv/data/x on fin_lg", "grant access")
	inner := temporal.NewNonRetryableApplicationError("target root is a symlink", contract.ErrCopyRefused, nil)
	wrapped := fmt.Errorf("copy set ledger: %w", inner)
	wantPermanent(t, permanent(wrapped), contract.ErrCopyRefused, "copy set ledger: target root is a symlink")
	lost := fmt.Errorf("read: %w", errors.New("connection lost"))
	if permanent(lost) != lost {
		t.Error("a lost connection became permanent")
	}
}

// A target mounted read-only is not retried.
func TestCopyTreeReadOnlyTarget(t *testing.T) {
	f := newCopyFixture(t)
	mountTmpfs(t, filepath.Dir(f.dstRoot), "size=2m,ro")
	writeFile(t, filepath.Join(f.srcRoot, "a"), []byte("a"), 0o644, time.Unix(1700000000, 0))
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{}))
	wantPermanent(t, err, contract.ErrTargetReadOnly, "read-only file system", "remount")
}

// Real full file systems on the in-process server (which, like OpenSSH,
// reports ENOSPC as a generic failure): out of bytes, out of inodes.
func TestCopyTreeFullTmpfs(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		err := copyOntoFilledTmpfs(t, newCopyFixture(t))
		wantPermanent(t, err, contract.ErrTargetNoSpace, "target fin_lg is out of space")
	})
	t.Run("inodes", func(t *testing.T) {
		err := copyOntoFewInodes(t, newCopyFixture(t))
		wantPermanent(t, err, contract.ErrTargetNoInodes, "target fin_lg is out of inodes")
	})
}

// copyOntoFilledTmpfs copies a 1.5 MiB file to a 2 MiB tmpfs on the
// target that another writer fills after the copy checked its free space.
func copyOntoFilledTmpfs(t *testing.T, f *copyFixture) error {
	t.Helper()
	mnt := mountTmpfs(t, filepath.Dir(f.dstRoot), "size=2m,nr_inodes=64")
	writeFile(t, filepath.Join(f.srcRoot, "a.bin"), randBytes(1, 1500<<10), 0o644, time.Unix(1700000000, 0))
	f.a.hooks.beforeCopy = func(string) {
		os.WriteFile(filepath.Join(mnt, "filler"), make([]byte, 1500<<10), 0o644)
	}
	defer func() { f.a.hooks.beforeCopy = nil }()
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{Concurrency: 1}))
	return err
}

// copyOntoFewInodes copies 100 files to a tmpfs on the target that has
// 64 inodes.
func copyOntoFewInodes(t *testing.T, f *copyFixture) error {
	t.Helper()
	mountTmpfs(t, filepath.Dir(f.dstRoot), "size=2m,nr_inodes=64")
	for i := range 100 {
		writeFile(t, filepath.Join(f.srcRoot, fmt.Sprintf("f%03d", i)), []byte("x"), 0o644, time.Unix(1700000000, 0))
	}
	_, err := f.a.CopyTree(context.Background(), f.input(CopySet{Concurrency: 1}))
	return err
}

// mountTmpfs mounts a small tmpfs at dir for the test, or skips with the
// reason when that is not possible here.
func mountTmpfs(t *testing.T, dir, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "umzug-test", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs at %s: %v %s", dir, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}
