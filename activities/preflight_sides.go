package activities

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pkg/sftp"
)

// setSource is what preflight learned about one copy set on the source.
type setSource struct {
	filterErr        error
	files, bytes     int64
	entries          int64 // files, directories, symlinks: inodes on the target
	warnings, probls []string
}

// sourceFindings is the source side of a preflight, per copy set in plan
// order, plus the host's own problems.
type sourceFindings struct {
	hostProblems []string // SFTP session
	sets         []setSource
	cmdProblems  []string
	checked      bool // the source could be read at all
}

// setTarget is what preflight learned about one copy set on the target.
type setTarget struct {
	skip             bool // the set's filter is invalid (reported by the source side)
	warnings, probls []string
	ancestor         string
	free             int64 // -1: unknown
	freeInodes       int64 // -1: unknown (the file system reports none)
	statErr          error
	have             int64 // bytes already under the target directory
	haveEntries      int64 // entries already there
}

// targetFindings is the target side of a preflight.
type targetFindings struct {
	hostProblems []string
	sets         []setTarget
	cmdProblems  []string
	cmdWarnings  []string
	hasSHA256    bool
}

// checkSourceSide walks every copy set's source and checks the source
// commands, at the same time (SFTP and one exec session).
func checkSourceSide(ctx context.Context, c *Conn, in PreflightInput, progress *atomic.Int64) (f sourceFindings) {
	f.sets = make([]setSource, len(in.Copies))
	for i, cs := range in.Copies {
		f.sets[i].filterErr = filterErr(cs)
	}
	if c == nil {
		return f
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		missing, err := missingCommands(ctx, c, commandWords(in.SourceCommands))
		if err != nil {
			f.cmdProblems = append(f.cmdProblems, fmt.Sprintf("source %s: check commands: %v", in.Source.Name, err))
		}
		for _, m := range missing {
			f.cmdProblems = append(f.cmdProblems, fmt.Sprintf("source %s: command %q not found (command -v %s failed); install it or fix the step", in.Source.Name, m, m))
		}
	})
	defer wg.Wait() // f is the named result: the command check lands in it
	cl, err := c.SFTP()
	if err != nil {
		f.hostProblems = []string{fmt.Sprintf("source %s: open SFTP session: %v", in.Source.Name, err)}
		return f
	}
	f.checked = true
	for i, cs := range in.Copies {
		if f.sets[i].filterErr != nil || ctx.Err() != nil {
			continue
		}
		filter, _ := NewFilter(cs.Exclude, cs.Include)
		s := &f.sets[i]
		s.files, s.bytes, s.entries, s.warnings, s.probls = checkSource(ctx, cl, in.Source.Name, cs, filter, progress)
	}
	return f
}

// checkTargetSide checks every copy set's target directory, its free
// space and what is already there, and the target commands (with
// sha256sum, which verification uses), at the same time.
func checkTargetSide(ctx context.Context, c *Conn, in PreflightInput, progress *atomic.Int64) (f targetFindings) {
	f.sets = make([]setTarget, len(in.Copies))
	if c == nil {
		return f
	}
	var wg sync.WaitGroup
	wg.Go(func() { f.targetCommands(ctx, c, in) })
	defer wg.Wait() // f is the named result: the command check lands in it
	cl, err := c.SFTP()
	if err != nil {
		f.hostProblems = []string{fmt.Sprintf("target %s: open SFTP session: %v", in.Target.Name, err)}
		return f
	}
	for i, cs := range in.Copies {
		t := &f.sets[i]
		t.free = -1
		if filterErr(cs) != nil || ctx.Err() != nil {
			t.skip = true
			continue
		}
		checkTargetSet(ctx, cl, in.Target.Name, cs, t, progress)
	}
	return f
}

// checkTargetSet fills t for one copy set.
func checkTargetSet(ctx context.Context, cl *sftp.Client, host string, cs CopySet, t *setTarget, progress *atomic.Int64) {
	t.ancestor, t.warnings, t.probls = checkTargetDir(cl, host, cs)
	if t.ancestor == "" {
		return
	}
	vfs, err := cl.StatVFS(t.ancestor)
	if err != nil {
		t.statErr = err
		return
	}
	t.free = int64(vfs.FreeSpace())
	t.freeInodes = -1
	if vfs.Files > 0 { // btrfs and some others report no inode figures
		t.freeInodes = int64(min(vfs.Favail, uint64(1<<62)))
	}
	// A resumed or repeated preflight: what is already there need not
	// fit a second time.
	filter, _ := NewFilter(cs.Exclude, cs.Include)
	t.have, _, t.haveEntries, _ = preflightWalk(ctx, cl, cs.To, filter, progress)
}

// targetCommands checks the target's commands and sha256sum in one exec.
func (f *targetFindings) targetCommands(ctx context.Context, c *Conn, in PreflightInput) {
	words := commandWords(in.TargetCommands)
	missing, err := missingCommands(ctx, c, append(words, "sha256sum"))
	if err != nil {
		f.cmdProblems = append(f.cmdProblems, fmt.Sprintf("target %s: check commands: %v", in.Target.Name, err))
	}
	f.hasSHA256 = err == nil
	for _, m := range missing {
		if m == "sha256sum" && !hasWord(words, "sha256sum") {
			f.hasSHA256 = false
			f.cmdWarnings = append(f.cmdWarnings, fmt.Sprintf("target %s: no sha256sum; copies are verified by reading files back over SFTP (slower)", in.Target.Name))
			continue
		}
		f.cmdProblems = append(f.cmdProblems, fmt.Sprintf("target %s: command %q not found (command -v %s failed); install it or fix the step", in.Target.Name, m, m))
	}
}

func filterErr(cs CopySet) error {
	_, err := NewFilter(cs.Exclude, cs.Include)
	return err
}
