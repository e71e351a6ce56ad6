package mirror

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/umzug-dev/umzug/activities/contract"
)

// tally owns every counter of a run; workers and the deciding goroutine
// add to it, the observer and the result read it.
type tally struct {
	files, dirs, symlinks, bytes        atomic.Int64
	copiedFiles, copiedBytes, unchanged atomic.Int64
	kept, deleted, recopied, excluded   atomic.Int64
	resumed, resent                     atomic.Int64 // bigfile.go
	verified, hashed                    atomic.Int64
	// Progress of the work queued (copies and hashes).
	workFiles, workBytes, doneFiles, doneBytes atomic.Int64
	walking                                    atomic.Bool
}

func (t *tally) progress() Progress {
	return Progress{FilesDone: t.doneFiles.Load(), FilesTotal: t.workFiles.Load(),
		BytesDone: t.doneBytes.Load(), BytesTotal: t.workBytes.Load(), Walking: t.walking.Load()}
}

func (t *tally) fill(r *Result) {
	r.Files, r.Dirs, r.Symlinks, r.Bytes = t.files.Load(), t.dirs.Load(), t.symlinks.Load(), t.bytes.Load()
	r.CopiedFiles, r.CopiedBytes, r.Unchanged = t.copiedFiles.Load(), t.copiedBytes.Load(), t.unchanged.Load()
	r.Kept, r.Deleted, r.Recopied, r.Excluded = t.kept.Load(), t.deleted.Load(), t.recopied.Load(), t.excluded.Load()
	r.ResumedBytes, r.ResentBytes = t.resumed.Load(), t.resent.Load()
	r.Verified = t.verified.Load()
	switch {
	case r.CopiedFiles > 0 || t.hashed.Load() > 0:
		r.VerifiedBy = VerifiedByDigests
	case r.Kept > 0:
		r.VerifiedBy = VerifiedByIdentity
	}
}

// maxNotes bounds Result.Notes; maxReason one refusal's reason, so the
// bounded list stays small (paths in errors can be 4 KiB).
const (
	maxNotes  = 20
	maxReason = 400
)

// refusals owns the record of entries not copied.
type refusals struct {
	accept func(kind string) bool
	mu     sync.Mutex
	n      int64
	byKind map[string]int64
	list   []contract.Refusal
	notes  []string
}

func (r *refusals) refuse(rel, kind, reason string) {
	acc := r.accept(kind)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	if r.byKind == nil {
		r.byKind = map[string]int64{}
	}
	r.byKind[kind]++
	if len(reason) > maxReason {
		reason = reason[:maxReason] + "…"
	}
	if len(r.list) < contract.MaxRefusalsListed {
		r.list = append(r.list, contract.Refusal{Path: shortPath(rel), Kind: kind, Reason: reason, Accepted: acc})
	}
}

func (r *refusals) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.notes) < maxNotes {
		r.notes = append(r.notes, s)
	}
}

func (r *refusals) fill(res *Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Refused = r.n
	if len(r.byKind) > 0 {
		res.RefusedByKind = maps.Clone(r.byKind)
	}
	res.RefusalList = slices.Clone(r.list)
	res.Notes = slices.Clone(r.notes)
}

// shortPath makes a path fit a result: invalid UTF-8 as \xNN, at most 200 bytes.
func shortPath(s string) string {
	if !utf8.ValidString(s) {
		var b strings.Builder
		for len(s) > 0 {
			c, n := utf8.DecodeRuneInString(s)
			if c == utf8.RuneError && n == 1 {
				fmt.Fprintf(&b, "\\x%02x", s[0])
			} else {
				b.WriteString(s[:n])
			}
			s = s[n:]
		}
		s = b.String()
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
