package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/pkg/sftp"
)

// The state file decides which files a sync does not hash, so it is bound
// twice. Its content: the copy that writes it returns the SHA-256 of the
// bytes it wrote and the record count (CopyResult.IdentState), the
// workflow hands them to the next copy of the set (CopyInput.IdentState),
// and that copy uses the file only when the bytes it read, in one read,
// hash to exactly them. Its place: a directory only the SSH user (or root)
// can write, ~/.umzug/state/<move>/ by default, checked component by
// component through lstat from / down (no symlink; owned by root or the
// user; none writable by group or others, except a sticky directory
// above the anchor; the state root and below are made 0700); a file or
// directory that fails is not used. The manifests' directory next to To is not
// such a place: whoever can write the parent of To could replace it.

// stateLoc is where a copy set's state file lives on the target.
type stateLoc struct {
	anchor  string   // the directory the SSH user owns: home, or IdentStateDir's parent
	private []string // the components below anchor, made 0700
	file    string
}

func (l stateLoc) dir() string { return path.Join(append([]string{l.anchor}, l.private...)...) }

// identStateRel is the state file relative to the SSH user's home (the
// directory a session starts in), for the default location.
func identStateRel(moveID, set string) string {
	return path.Join(stateDirName, "state", sanitizeName(moveID), sanitizeName(set)+"-verified.bin")
}

// stateLoc resolves the state file's place on the target.
func (e *engine) stateLoc() (stateLoc, error) {
	l, err := identStateLoc(e.dst.primary, e.stateBase, e.in.MoveID, e.in.Set.Name)
	if err != nil {
		return l, fmt.Errorf("%v on %s", err, e.dst.name)
	}
	return l, nil
}

// identStateLoc is where the state of a move's copy set lives: under base
// or, without one, under the SSH user's home, which is where the host's
// SFTP server starts.
func identStateLoc(cl *sftp.Client, base, moveID, set string) (stateLoc, error) {
	var l stateLoc
	if base != "" {
		b := path.Clean(base)
		if !path.IsAbs(b) || b == "/" {
			return l, fmt.Errorf("identity state directory %q is not an absolute path below /", base)
		}
		l.anchor, l.private = path.Dir(b), []string{path.Base(b)}
	} else {
		home, err := cl.RealPath(".")
		if err != nil || !path.IsAbs(home) {
			return l, fmt.Errorf("find the SSH user's home: %q, %v", home, err)
		}
		l.anchor, l.private = path.Clean(home), []string{stateDirName, "state"}
	}
	l.private = append(l.private, sanitizeName(moveID))
	l.file = path.Join(l.dir(), sanitizeName(set)+"-verified.bin")
	return l, nil
}

// checkStateDir checks the state directory's chain (see above) and, with
// create, makes the missing private components (0700). It returns the
// user's uid (the anchor's owner).
func checkStateDir(cl *sftp.Client, l stateLoc, create bool) (uint32, error) {
	afi, err := cl.Lstat(l.anchor)
	if err != nil {
		return 0, err
	}
	uid := uidOf(afi)
	okOwner := func(fi os.FileInfo) bool { o := uidOf(fi); return o == 0 || o == uid }
	p := "/"
	for _, c := range append(strings.Split(strings.Trim(l.anchor, "/"), "/"), "") {
		fi, err := cl.Lstat(p)
		if err != nil {
			return 0, err
		}
		switch {
		case !fi.IsDir():
			return 0, fmt.Errorf("%s is a %s, not a directory", p, kindName(fi.Mode()))
		case !okOwner(fi):
			return 0, fmt.Errorf("%s is owned by uid %d, neither root nor %d", p, uidOf(fi), uid)
		case fi.Mode().Perm()&0o022 != 0 && (fi.Mode()&os.ModeSticky == 0 || c == ""): // the anchor: never
			return 0, fmt.Errorf("%s is writable by group or others (mode %v)", p, fi.Mode())
		}
		if c == "" {
			break
		}
		p = path.Join(p, c)
	}
	for _, c := range l.private {
		p = path.Join(p, c)
		fi, err := cl.Lstat(p)
		if create && errors.Is(err, os.ErrNotExist) {
			if err = cl.Mkdir(p); err == nil || errors.Is(err, os.ErrExist) {
				_ = cl.Chmod(p, 0o700)
			}
			fi, err = cl.Lstat(p)
		}
		if err != nil {
			return 0, err
		}
		switch {
		case !fi.IsDir():
			return 0, fmt.Errorf("%s is a %s, not a directory", p, kindName(fi.Mode()))
		case !okOwner(fi):
			return 0, fmt.Errorf("%s is owned by uid %d, neither root nor %d", p, uidOf(fi), uid)
		case fi.Mode().Perm()&0o022 != 0:
			return 0, fmt.Errorf("%s is writable by group or others (mode %v; want 0700)", p, fi.Mode())
		}
	}
	return uid, nil
}

// checkStateFile checks the state file itself: a regular file (not a
// symlink) of root or the user, writable by nobody else.
func checkStateFile(cl *sftp.Client, l stateLoc, uid uint32) error {
	fi, err := cl.Lstat(l.file)
	switch {
	case err != nil:
		return err
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is a %s, not a regular file", l.file, kindName(fi.Mode()))
	case uidOf(fi) != 0 && uidOf(fi) != uid:
		return fmt.Errorf("%s is owned by uid %d, neither root nor %d", l.file, uidOf(fi), uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by group or others (mode %v)", l.file, fi.Mode())
	}
	return nil
}

// readState parses a state file from r and hashes exactly the bytes it
// read, in the same pass.
func readState(r io.Reader) prevState {
	h := sha256.New()
	tr := io.TeeReader(r, h)
	recs, n := parseIdentState(tr)
	_, _ = io.Copy(io.Discard, tr)
	return prevState{recs: recs, n: n, sum: hex.EncodeToString(h.Sum(nil)), found: true}
}

// trustState returns the records of the state file read when they are
// bound to this move (digest and count as the input expects, a checked
// place), else nil with the reason in the result.
func (e *engine) trustState(p prevState) map[string]*verifiedRec {
	exp := e.in.IdentState
	if exp == nil {
		return nil // nothing to compare with: every file is hashed
	}
	why := ""
	switch {
	case !p.found:
		why = "identity state missing on the target"
	case p.recs == nil:
		why = "identity state could not be read whole"
	case !exp.Valid() || p.sum != exp.SHA256 || p.n != exp.Records:
		why = "identity state did not match the seed's digest"
	default:
		l, err := e.stateLoc()
		var uid uint32
		if err == nil {
			uid, err = checkStateDir(e.dst.primary, l, false)
		}
		if err == nil {
			err = checkStateFile(e.dst.primary, l, uid)
		}
		if err != nil {
			why = "identity state not in a place only the SSH user can write (" + err.Error() + ")"
		}
	}
	if why != "" {
		e.refMu.Lock()
		e.stateNote = why + ": every file hashed"
		e.refMu.Unlock()
		e.tracef("%s on %s", why, e.dst.name)
		return nil
	}
	return p.recs
}
