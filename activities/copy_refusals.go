package activities

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// maxRefusalsInError bounds the paths an error message names.
const maxRefusalsInError = 20

// refusedError is a source entry the copy must not place; the worker
// records it as a refusal of its kind instead of failing the copy.
type refusedError struct {
	kind, reason string
}

func (r *refusedError) Error() string { return r.kind + ": " + r.reason }

// refusals is what a copy records of the entries it did not copy.
type refusals struct {
	legacy []string // "path": reason, the first maxRefusals (CopyResult.Refusals)
	notes  []string // not refusals: symlinked source root, vanished files
	list   []Refusal
	byKind map[string]int64
}

// accepts reports whether the copy set accepts refusals of kind. A seed
// runs while the application still writes: an entry that changed while
// it was read is left for the final sync, which copies it.
func (e *engine) accepts(kind string) bool { return acceptsKind(e.in, kind) }

func acceptsKind(in CopyInput, kind string) bool {
	if kind == RefusalChanged && in.Phase == PhaseSeed {
		return true
	}
	return slices.Contains(in.Set.AcceptRefusals, kind)
}

// refuse records an entry that is not copied, with its kind.
func (e *engine) refuse(rel, kind, reason string) {
	e.refused.Add(1)
	acc := e.accepts(kind)
	if kind == RefusalChanged && e.in.Phase == PhaseSeed {
		reason += "; left for the final sync"
	}
	e.refMu.Lock()
	defer e.refMu.Unlock()
	r := &e.refs
	if r.byKind == nil {
		r.byKind = map[string]int64{}
	}
	r.byKind[kind]++
	short := escapeInvalidUTF8(rel)
	if len(short) > 200 {
		short = short[:200] + "…"
	}
	if len(r.list) < MaxRefusalsListed {
		r.list = append(r.list, Refusal{Path: short, Kind: kind, Reason: reason, Accepted: acc})
	}
	if len(r.legacy) < maxRefusals {
		r.legacy = append(r.legacy, fmt.Sprintf("%q: %s", short, reason))
	}
}

// note keeps a remark for CopyResult.Refusals that is not a refusal.
func (e *engine) note(s string) {
	e.refMu.Lock()
	defer e.refMu.Unlock()
	if len(e.refs.notes) < maxRefusals {
		e.refs.notes = append(e.refs.notes, s)
	}
}

// refuseErr records why a source entry could not be read. A missing entry
// was deleted since its parent was listed (seed runs live): noted, not
// refused. Errors that are not the server's answer about this entry (a
// lost connection) are returned: they fail the attempt, which retries.
func (e *engine) refuseErr(rel string, err error, what string) error {
	var re *refusedError
	var se *sftp.StatusError
	switch {
	case errors.As(err, &re):
		e.refuse(rel, re.kind, re.reason)
	case errors.Is(err, os.ErrNotExist):
		e.note(fmt.Sprintf("note: %q vanished from the source during the copy", rel))
	case isPerm(err):
		e.refuse(rel, RefusalUnreadable, fmt.Sprintf("%s: permission denied for the SSH user", what))
	case errors.As(err, &se) && se.FxCode() != sftp.ErrSSHFxConnectionLost && se.FxCode() != sftp.ErrSSHFxNoConnection:
		e.refuse(rel, RefusalUnreadable, fmt.Sprintf("%s: %v", what, err))
	default:
		return fmt.Errorf("%s %s on %s: %w", what, e.srcPath(rel), e.src.name, err)
	}
	return nil
}

// fillRefusals copies the refusal record into a result.
func (e *engine) fillRefusals(r *CopyResult) {
	e.refMu.Lock()
	defer e.refMu.Unlock()
	r.Refused = e.refused.Load()
	r.Refusals = append(append([]string(nil), e.refs.notes...), e.refs.legacy...)
	if len(e.refs.byKind) > 0 {
		r.RefusedByKind = make(map[string]int64, len(e.refs.byKind))
		for k, n := range e.refs.byKind {
			r.RefusedByKind[k] = n
		}
	}
	r.RefusalList = append([]Refusal(nil), e.refs.list...)
}

// refusalPolicy decides whether a copy with refusals may succeed: every
// refused kind must be accepted by the copy set. Otherwise the copy fails
// non-retryably, naming the entries, so a move never commits while the
// target lacks something it was not told to leave out. A final sync whose
// only unaccepted refusals are entries that changed while read fails
// retryably instead: the next attempt lists the tree again.
func (e *engine) refusalPolicy(res CopyResult) error {
	return refusalError(e.in, e.from, e.src.name, res)
}

// refusalError is refusalPolicy for a copy of in from the directory from
// on the host srcName; both copy engines fail alike.
func refusalError(in CopyInput, from, srcName string, res CopyResult) error {
	var kinds []string
	var n int64
	for _, k := range RefusalKinds {
		if c := res.RefusedByKind[k]; c > 0 && !acceptsKind(in, k) {
			kinds = append(kinds, k)
			n += c
		}
	}
	if n == 0 {
		return nil
	}
	what := "source entries were"
	if n == 1 {
		what = "source entry was"
	}
	msg := fmt.Sprintf("copy set %s (%s) from %s on %s: %d %s not copied: %s",
		in.Set.Name, in.Phase, from, srcName, n, what, refusalLines(res.RefusalList, n))
	if !slices.ContainsFunc(kinds, func(k string) bool { return k != RefusalMetadata && k != RefusalUnknownOwner }) {
		// The entries are on the target, without what it could not take.
		msg = fmt.Sprintf("copy set %s (%s) from %s on %s: %d %s copied without the owner, ACL or extended attributes the source gives them: %s"+
			"; give the target what it lacks (the accounts or an owner_map entry, a file system with ACLs, root or become = \"sudo\") and retry, or accept it with accept_refusals = [%s] on the copy block",
			in.Set.Name, in.Phase, from, srcName, n, what, refusalLines(res.RefusalList, n), quoteKinds(kinds))
		return temporal.NewNonRetryableApplicationError(msg, contract.ErrCopyRefused, nil, res)
	}
	if len(kinds) == 1 && kinds[0] == RefusalChanged {
		return temporal.NewApplicationError(msg+"; they changed while being read, the next attempt lists the tree again",
			contract.ErrCopyChanged, res)
	}
	msg += "; the target would lack them. Fix them on the source (permissions, names, links) and retry"
	if k := slices.DeleteFunc(kinds, func(k string) bool { return k == RefusalChanged }); len(k) > 0 {
		msg += fmt.Sprintf(", or leave them out on purpose with accept_refusals = [%s] on the copy block", quoteKinds(k))
	}
	return temporal.NewNonRetryableApplicationError(msg, contract.ErrCopyRefused, nil, res)
}

// refusalLines lists the first unaccepted refusals, "and N more" after.
func refusalLines(list []Refusal, total int64) string {
	var parts []string
	for _, r := range list {
		if r.Accepted {
			continue
		}
		if len(parts) == maxRefusalsInError {
			break
		}
		parts = append(parts, fmt.Sprintf("%q (%s: %s)", r.Path, r.Kind, r.Reason))
	}
	s := strings.Join(parts, ", ")
	if more := total - int64(len(parts)); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

func quoteKinds(kinds []string) string {
	q := make([]string, len(kinds))
	for i, k := range kinds {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

func isRefused(err error) bool {
	var re *refusedError
	return errors.As(err, &re)
}

// notCopied records a file that copyFile did not place because it vanished
// or was refused; any other error is returned to fail the copy.
func (e *engine) notCopied(rel string, fi os.FileInfo, err error) error {
	var re *refusedError
	switch {
	case errors.Is(err, errVanished):
		// Deleted by the running application since the walk listed it
		// (seed runs live); the next sync sees the tree as it is.
		e.note(fmt.Sprintf("note: %q vanished from the source during the copy", rel))
	case errors.As(err, &re):
		e.refuse(rel, re.kind, re.reason)
	default:
		return err
	}
	e.files.Add(-1)
	e.bytes.Add(-fi.Size())
	e.prog.filesTotal.Add(-1)
	return nil
}

// escapeInvalidUTF8 writes bytes that are not UTF-8 as \xNN, so a path in
// a result (JSON, history) still tells which entry it was.
func escapeInvalidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			fmt.Fprintf(&b, "\\x%02x", s[0])
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}
