package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// A target that runs no commands over SSH (ForceCommand internal-sftp)
// runs no agent: the classic engine writes there over SFTP, by path. The
// SFTP server resolves every path afresh and follows symlinks, so whoever
// else can write a directory of the target tree could swap a directory
// below it for a symlink and redirect a write. Before it writes, the copy
// therefore lstats every directory of the target tree (and the parent of
// To, which holds To) and refuses, as unsafe_target, one writable by
// anyone but the SSH user or root; with unsafe_target accepted it copies
// anyway and lists them. It never trusts an identity state there: the
// file could be rewritten through the same paths, and the identities
// cannot be listed without find. Every unchanged file is hashed.

// execProbe is what a host that runs commands prints.
const execProbe = "umzug-exec-probe"

// probeTimeout bounds the question whether the target runs commands.
const probeTimeout = 30 * time.Second

// runsCommands reports whether the host behind c runs a shell command.
// A host that refuses the command, or answers without the probe's output
// (internal-sftp exits 1), runs none; a connection that cannot open a
// session, or no answer in time, is an error.
func runsCommands(ctx context.Context, c *Conn) (bool, error) {
	sess, err := c.Client.NewSession()
	if err != nil {
		return false, fmt.Errorf("open session on %s (%s): %w", c.Host.Name, c.Host.Address, err)
	}
	defer sess.Close()
	var out bytes.Buffer
	sess.Stdout, sess.Stderr = &limitedWriter{w: &out, n: 256}, io.Discard
	done := make(chan error, 1)
	go func() { done <- sess.Run("echo " + execProbe) }()
	t := time.NewTimer(probeTimeout)
	defer t.Stop()
	select {
	case err = <-done:
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, fmt.Errorf("%s (%s) did not answer a command within %v", c.Host.Name, c.Host.Address, probeTimeout)
	}
	return err == nil && strings.TrimSpace(out.String()) == execProbe, nil
}

// limitedWriter keeps at most n bytes.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(b []byte) (int, error) {
	if k := min(len(b), l.n); k > 0 {
		l.w.Write(b[:k])
		l.n -= k
	}
	return len(b), nil
}

// unsafeDir is a directory of the target others can write.
type unsafeDir struct {
	rel, why string
}

// maxUnsafeDirs bounds what the check collects; the count goes on.
const maxUnsafeDirs = 100

// unsafeTargetDirs walks the target tree below to (when it exists) and
// checks to's parent, without following a symlink: a directory is unsafe
// when it is owned by neither root nor the SSH user (the owner of its
// home) or is writable by group or others (the parent of to: unless
// sticky). It returns up to maxUnsafeDirs of them and their count.
func unsafeTargetDirs(ctx context.Context, cl *sftp.Client, to string) ([]unsafeDir, int, error) {
	home, err := cl.RealPath(".")
	if err != nil || !path.IsAbs(home) {
		return nil, 0, fmt.Errorf("find the SSH user's home to learn its uid: %q, %v", home, err)
	}
	hfi, err := cl.Lstat(home)
	if err != nil {
		return nil, 0, fmt.Errorf("stat the SSH user's home %s: %w", home, err)
	}
	uid := uidOf(hfi)
	var found []unsafeDir
	n := 0
	check := func(rel string, fi os.FileInfo, parent bool) {
		var why string
		switch o := uidOf(fi); {
		case o != 0 && o != uid:
			why = fmt.Sprintf("owned by uid %d, neither root nor the SSH user (uid %d)", o, uid)
		case fi.Mode().Perm()&0o022 != 0 && !(parent && fi.Mode()&os.ModeSticky != 0):
			why = fmt.Sprintf("writable by group or others (mode %v)", fi.Mode())
		default:
			return
		}
		n++
		if len(found) < maxUnsafeDirs {
			found = append(found, unsafeDir{rel: rel, why: why})
		}
	}
	pfi, err := cl.Lstat(path.Dir(to))
	if err != nil {
		return nil, 0, fmt.Errorf("stat %s (the parent of the copy target): %w", path.Dir(to), err)
	}
	check("..", pfi, true)
	tfi, err := cl.Lstat(to)
	if errors.Is(err, os.ErrNotExist) {
		return found, n, nil // made by the copy, 0700 until its mode is set last
	}
	if err != nil {
		return nil, 0, fmt.Errorf("stat copy target %s: %w", to, err)
	}
	if !tfi.IsDir() {
		return found, n, nil // prepareTarget refuses it
	}
	check("", tfi, false)
	queue := []string{""}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		rel := queue[0]
		queue = queue[1:]
		ents, err := cl.ReadDir(joinRel(to, rel))
		if err != nil {
			return nil, 0, fmt.Errorf("list target directory %s to check who can write it: %w", joinRel(to, rel), err)
		}
		for _, fi := range ents {
			if !fi.IsDir() { // READDIR attributes are lstat's: a symlink is not a directory
				continue
			}
			sub := path.Join(rel, fi.Name())
			check(sub, fi, false)
			queue = append(queue, sub)
		}
	}
	return found, n, nil
}

// checkSFTPOnlyTarget runs the unsafe_target check of a target that runs
// no commands: refused unless accepted, listed as accepted otherwise.
func (e *engine) checkSFTPOnlyTarget(ctx context.Context) error {
	found, n, err := unsafeTargetDirs(ctx, e.dst.primary, e.to)
	if err != nil {
		return fmt.Errorf("check the copy target on %s, which runs no commands (SFTP only): %w", e.dst.name, err)
	}
	if n == 0 {
		return nil
	}
	acc := e.accepts(RefusalUnsafeTarget)
	for _, d := range found {
		why := "target directory " + d.why + "; the target runs no commands (SFTP only), so umzug writes there by path and whoever can write this directory could redirect writes below it through a symlink"
		if acc {
			why += "; written anyway: the copy set accepts unsafe_target"
		}
		e.refuse(d.rel, RefusalUnsafeTarget, why)
	}
	if acc {
		e.note(fmt.Sprintf("note: target %s on %s runs no commands (SFTP only): copied into %d directories others can write, as accept_refusals allows unsafe_target", e.to, e.dst.name, n))
		return nil
	}
	var parts []string
	for i, d := range found {
		if i == maxRefusalsInError {
			break
		}
		name := joinRel(e.to, d.rel)
		if d.rel == ".." {
			name = path.Dir(e.to)
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", name, d.why))
	}
	more := ""
	if n > len(parts) {
		more = fmt.Sprintf(" and %d more", n-len(parts))
	}
	var res CopyResult
	e.fillRefusals(&res)
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
		"copy set %s: target %s on %s runs no commands (SFTP only: no agent), so umzug would write there by path, and %d of its directories can be written by someone other than the SSH user or root: %s%s. "+
			"Nothing was written. Make them writable by the SSH user only (chmod go-w, chown), or let the copy go on with accept_refusals = [\"%s\"] on the copy block",
		e.in.Set.Name, e.to, e.dst.name, n, strings.Join(parts, ", "), more, RefusalUnsafeTarget), contract.ErrCopyRefused, nil, res)
}

// guardSFTPOnly asks whether the target runs commands and, when it runs
// none, checks the target tree (checkSFTPOnlyTarget) and drops the
// identity state (loadIdentities).
func (e *engine) guardSFTPOnly(ctx context.Context) error {
	e.dst.mu.RLock()
	c := e.dst.conns[0]
	e.dst.mu.RUnlock()
	ok, err := runsCommands(ctx, c)
	if err != nil {
		return fmt.Errorf("ask %s whether it runs commands: %w", e.dst.name, err)
	}
	if ok {
		return nil
	}
	e.dstNoExec = true
	e.tracef("%s runs no commands (SFTP only): target tree checked, identity state not trusted", e.dst.name)
	return e.checkSFTPOnlyTarget(ctx)
}
