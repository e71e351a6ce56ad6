package activities

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"
)

// PreflightFailedError is the ApplicationError type of a failed preflight;
// its message lists every problem found.
const PreflightFailedError = "PreflightFailed"

// Preflight checks, without writing anything, that a move can start: both
// hosts answer with verified host keys, every source directory exists, the
// target has room, and the commands of the cutover exist on their hosts.
// It reports all problems at once.
func (a *Activities) Preflight(ctx context.Context, in PreflightInput) (PreflightResult, error) {
	res := PreflightResult{TargetFreeBytes: -1}
	var problems []string
	var progress atomic.Int64 // entries walked, for the heartbeat
	stopHB := heartbeatEvery(ctx, 5*time.Second, func() any {
		return fmt.Sprintf("preflight %s: %d entries walked", in.MoveID, progress.Load())
	})
	defer stopHB()

	// Dial both hosts before giving up, so one run names both problems.
	var retryable []string
	dialHost := func(h Host) *Conn {
		c, err := a.dial(ctx, h)
		if err == nil {
			return c
		}
		var de *DialError
		if errors.As(err, &de) && !de.Retryable() {
			problems = append(problems, err.Error())
		} else {
			retryable = append(retryable, err.Error())
		}
		return nil
	}
	src := dialHost(in.Source)
	if src != nil {
		defer src.Close()
		res.SourceFingerprint = src.Fingerprint
	}
	dst := dialHost(in.Target)
	if dst != nil {
		defer dst.Close()
		res.TargetFingerprint = dst.Fingerprint
	}
	if len(retryable) > 0 && len(problems) == 0 {
		return res, fmt.Errorf("preflight: %s", strings.Join(retryable, "; "))
	}
	problems = append(problems, retryable...)

	var srcCl, dstCl *sftp.Client
	if src != nil {
		var err error
		if srcCl, err = src.SFTP(); err != nil {
			problems = append(problems, fmt.Sprintf("source %s: open SFTP session: %v", in.Source.Name, err))
		}
	}
	if dst != nil {
		var err error
		if dstCl, err = dst.SFTP(); err != nil {
			problems = append(problems, fmt.Sprintf("target %s: open SFTP session: %v", in.Target.Name, err))
		}
	}

	// Per copy set: source tree, target ancestor, space.
	type need struct {
		set   string
		at    string
		free  int64
		bytes int64
	}
	var needs []need
	for _, cs := range in.Copies {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		filter, err := NewFilter(cs.Exclude, cs.Include)
		if err != nil {
			problems = append(problems, fmt.Sprintf("copy set %s: %v", cs.Name, err))
			continue
		}
		var srcBytes int64 = -1
		if srcCl != nil {
			files, bytes, warns, probs := checkSource(ctx, srcCl, in.Source.Name, cs, filter, &progress)
			res.Warnings = append(res.Warnings, warns...)
			problems = append(problems, probs...)
			if len(probs) == 0 {
				res.SourceFiles += files
				res.SourceBytes += bytes
				srcBytes = bytes
			}
		}
		if dstCl == nil {
			continue
		}
		anc, warns, probs := checkTargetDir(dstCl, in.Target.Name, cs)
		res.Warnings = append(res.Warnings, warns...)
		problems = append(problems, probs...)
		if anc == "" {
			continue
		}
		free := int64(-1)
		if vfs, err := dstCl.StatVFS(anc); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("target %s: free space at %s unknown (statvfs@openssh.com: %v); make sure %s fit", in.Target.Name, anc, err, fmtIEC(max(srcBytes, 0))))
		} else {
			free = int64(vfs.FreeSpace())
			if res.TargetFreeBytes < 0 || free < res.TargetFreeBytes {
				res.TargetFreeBytes = free
			}
		}
		if srcBytes < 0 || free < 0 {
			continue
		}
		// A resumed or repeated preflight: what is already there need not
		// fit a second time.
		have, _, _ := preflightWalk(ctx, dstCl, cs.To, filter, &progress)
		needs = append(needs, need{cs.Name, anc, free, max(srcBytes-have, 0)})
	}
	// Sets that land on the same filesystem share its free space; the
	// statvfs free figure is the same for them, so compare the sum.
	byAt := map[string][]need{}
	var order []string
	for _, n := range needs {
		if _, ok := byAt[n.at]; !ok {
			order = append(order, n.at)
		}
		byAt[n.at] = append(byAt[n.at], n)
	}
	for _, at := range order {
		ns := byAt[at]
		var total int64
		var names []string
		for _, n := range ns {
			total += n.bytes
			names = append(names, n.set)
		}
		if total > ns[0].free {
			problems = append(problems, spaceProblem(in.Target.Name, ns[0].free, at, total, names))
		}
	}

	// Commands: one exec per host.
	if src != nil {
		missing, err := missingCommands(ctx, src, commandWords(in.SourceCommands))
		if err != nil {
			problems = append(problems, fmt.Sprintf("source %s: check commands: %v", in.Source.Name, err))
		}
		for _, m := range missing {
			problems = append(problems, fmt.Sprintf("source %s: command %q not found (command -v %s failed); install it or fix the step", in.Source.Name, m, m))
		}
	}
	if dst != nil {
		words := commandWords(in.TargetCommands)
		missing, err := missingCommands(ctx, dst, append(words, "sha256sum"))
		if err != nil {
			problems = append(problems, fmt.Sprintf("target %s: check commands: %v", in.Target.Name, err))
		}
		res.TargetHasSHA256 = err == nil
		for _, m := range missing {
			if m == "sha256sum" && !hasWord(words, "sha256sum") {
				res.TargetHasSHA256 = false
				res.Warnings = append(res.Warnings, fmt.Sprintf("target %s: no sha256sum; copies are verified by reading files back over SFTP (slower)", in.Target.Name))
				continue
			}
			problems = append(problems, fmt.Sprintf("target %s: command %q not found (command -v %s failed); install it or fix the step", in.Target.Name, m, m))
		}
	}

	if len(problems) > 0 {
		return res, temporal.NewNonRetryableApplicationError(preflightMessage(problems), PreflightFailedError, nil, res)
	}
	return res, nil
}

// preflightMessage is the error text: every problem on its own line.
func preflightMessage(problems []string) string {
	if len(problems) == 1 {
		return "preflight failed: " + problems[0]
	}
	return fmt.Sprintf("preflight found %d problems:\n- %s", len(problems), strings.Join(problems, "\n- "))
}

// spaceProblem phrases a lack of space on the target.
func spaceProblem(target string, free int64, at string, need int64, sets []string) string {
	word := "copy set"
	if len(sets) > 1 {
		word = "copy sets"
	}
	return fmt.Sprintf("target %s has %s free at %s, needs %s for %s %s", target, fmtIEC(free), at, fmtIEC(need), word, strings.Join(sets, ", "))
}

// fmtIEC formats n with binary units, as everywhere else.
func fmtIEC(n int64) string { return humanBytes(n) }

// checkSource verifies a copy set's source directory and counts what the
// copy will take (regular files and their bytes, after excludes).
func checkSource(ctx context.Context, cl *sftp.Client, hostName string, cs CopySet, filter *Filter, progress *atomic.Int64) (files, bytes int64, warnings, problems []string) {
	where := fmt.Sprintf("copy set %s: source %s:%s", cs.Name, hostName, cs.From)
	if !path.IsAbs(cs.From) {
		return 0, 0, nil, []string{where + " is not an absolute path; write the full path in from"}
	}
	st, err := cl.Lstat(cs.From)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
			return 0, 0, nil, []string{where + " does not exist; fix from in the plan"}
		}
		return 0, 0, nil, []string{fmt.Sprintf("%s: lstat: %v", where, err)}
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		tgt, _ := cl.ReadLink(cs.From)
		st, err = cl.Stat(cs.From)
		if err != nil {
			return 0, 0, nil, []string{fmt.Sprintf("%s is a symlink to %s, which cannot be followed: %v", where, tgt, err)}
		}
		if st.IsDir() {
			warnings = append(warnings, fmt.Sprintf("%s is a symlink to %s; the directory it points to is copied", where, tgt))
		}
	}
	if !st.IsDir() {
		return 0, 0, warnings, []string{fmt.Sprintf("%s is a %s, not a directory; from must name a directory", where, fileKind(st.Mode()))}
	}
	bytes, files, err = preflightWalk(ctx, cl, cs.From, filter, progress)
	if err != nil {
		return files, bytes, warnings, []string{fmt.Sprintf("%s: %v", where, err)}
	}
	return files, bytes, warnings, nil
}

// preflightWalk sums the sizes and counts the regular files under root that the
// filter keeps. A missing root counts as empty.
func preflightWalk(ctx context.Context, cl *sftp.Client, root string, filter *Filter, progress *atomic.Int64) (bytes, files int64, err error) {
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := cl.ReadDir(dir)
		if err != nil {
			if rel == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist)) {
				return nil
			}
			return fmt.Errorf("read directory %s: %w", dir, err)
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			progress.Add(1)
			r := e.Name()
			if rel != "" {
				r = rel + "/" + e.Name()
			}
			isDir := e.IsDir()
			if filter.Excluded(r, isDir) {
				continue
			}
			switch {
			case isDir:
				if err := walk(path.Join(dir, e.Name()), r); err != nil {
					return err
				}
			case e.Mode().IsRegular():
				files++
				bytes += e.Size()
			}
		}
		return nil
	}
	err = walk(root, "")
	return bytes, files, err
}

// checkTargetDir finds the nearest existing ancestor of the copy set's
// target directory (the directory itself if it exists) and checks it is a
// directory the copy can write into.
func checkTargetDir(cl *sftp.Client, hostName string, cs CopySet) (ancestor string, warnings, problems []string) {
	where := fmt.Sprintf("copy set %s: target %s:%s", cs.Name, hostName, cs.To)
	if !path.IsAbs(cs.To) {
		return "", nil, []string{where + " is not an absolute path; write the full path in to"}
	}
	p := path.Clean(cs.To)
	for {
		st, err := cl.Stat(p)
		if err == nil {
			if !st.IsDir() {
				return "", nil, []string{fmt.Sprintf("%s: %s exists and is a %s, not a directory", where, p, fileKind(st.Mode()))}
			}
			if st.Mode().Perm()&0o222 == 0 {
				return "", nil, []string{fmt.Sprintf("%s: %s is not writable (mode %s); fix its permissions or the target user", where, p, st.Mode().Perm())}
			}
			if p != path.Clean(cs.To) {
				warnings = append(warnings, fmt.Sprintf("%s does not exist yet; it will be created under %s", where, p))
			}
			return p, warnings, nil
		}
		// ENOTDIR (a file where a parent should be) arrives as a generic
		// SFTP failure; walking up then names the file.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "not a directory") {
			return "", nil, []string{fmt.Sprintf("%s: stat %s: %v", where, p, err)}
		}
		if p == "/" {
			return "", nil, []string{where + ": no existing parent directory"}
		}
		p = path.Dir(p)
	}
}

// commandWords returns the distinct first words of commands, skipping
// leading VAR=value assignments, in first-seen order.
func commandWords(cmds []string) []string {
	var out []string
	for _, c := range cmds {
		for _, w := range strings.Fields(c) {
			if strings.Contains(w, "=") && !strings.HasPrefix(w, "=") && !strings.ContainsAny(w, "/") {
				continue // env assignment
			}
			if !hasWord(out, w) {
				out = append(out, w)
			}
			break
		}
	}
	return out
}

// missingCommands runs one `command -v` loop on the host and returns the
// words it could not find.
func missingCommands(ctx context.Context, c *Conn, words []string) ([]string, error) {
	if len(words) == 0 {
		return nil, nil
	}
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, ShellQuote(w))
	}
	script := "for c in " + strings.Join(quoted, " ") + `; do command -v "$c" >/dev/null 2>&1 || printf '%s\n' "$c"; done`
	out, errb := newOutputTail(64<<10), newOutputTail(4096)
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	code, err := c.Run(rctx, script, nil, out, errb)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("command -v check exited %d: %s", code, strings.TrimSpace(errb.String()))
	}
	var missing []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			missing = append(missing, l)
		}
	}
	return missing, nil
}

func hasWord(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fileKind names a file type for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	default:
		return "special file"
	}
}
