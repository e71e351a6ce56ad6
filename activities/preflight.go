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
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Preflight checks, without writing anything, that a move can start: both
// hosts answer with verified host keys, every source directory exists, the
// target has room, and the commands of the cutover exist on their hosts.
// It reports all problems at once. Source and target are checked at the
// same time, each with one exec session for its commands.
func (a *Activities) Preflight(ctx context.Context, in PreflightInput) (PreflightResult, error) {
	res := PreflightResult{TargetFreeBytes: -1}
	var progress atomic.Int64 // entries walked, for the heartbeat
	stopHB := heartbeatEvery(ctx, 5*time.Second, func() any {
		return fmt.Sprintf("preflight %s: %d entries walked", in.MoveID, progress.Load())
	})
	defer stopHB()

	src, dst, problems, err := a.preflightDial(ctx, in)
	defer a.release(ctx, src)
	defer a.release(ctx, dst)
	if err != nil {
		return res, err
	}
	if src != nil {
		res.SourceFingerprint = src.Fingerprint
	}
	if dst != nil {
		res.TargetFingerprint = dst.Fingerprint
	}
	becomeProbls, becomeWarnings := a.becomeProblems(ctx, in, src, dst)
	problems = append(problems, becomeProbls...)
	var sf sourceFindings
	var tf targetFindings
	var wg sync.WaitGroup
	wg.Go(func() { sf = checkSourceSide(ctx, src, in, &progress) })
	wg.Go(func() { tf = checkTargetSide(ctx, dst, in, &progress) })
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	problems = append(problems, mergeFindings(&res, in, sf, tf)...)
	res.Warnings = append(res.Warnings, becomeWarnings...)
	if len(problems) > 0 {
		return res, temporal.NewNonRetryableApplicationError(preflightMessage(problems), contract.ErrPreflightFailed, nil, res)
	}
	return res, nil
}

// preflightDial connects to both hosts at once and keeps going when one
// fails, so one run names both problems. Problems that do not heal by
// retrying come back as problems; when all failures may heal, err is a
// retryable error.
func (a *Activities) preflightDial(ctx context.Context, in PreflightInput) (src, dst *Conn, problems []string, err error) {
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { src, serr = a.dial(ctx, in.Source) })
	wg.Go(func() { dst, derr = a.dial(ctx, in.Target) })
	wg.Wait()
	var retryable []string
	for _, err := range []error{serr, derr} {
		var de *DialError
		switch {
		case err == nil:
		case errors.As(err, &de) && !de.Retryable():
			problems = append(problems, err.Error())
		default:
			retryable = append(retryable, err.Error())
		}
	}
	if len(retryable) > 0 && len(problems) == 0 {
		return src, dst, nil, fmt.Errorf("preflight: %s", strings.Join(retryable, "; "))
	}
	return src, dst, append(problems, retryable...), nil
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
func checkSource(ctx context.Context, cl *sftp.Client, hostName string, cs CopySet, filter *Filter, progress *atomic.Int64) (files, bytes, entries int64, warnings, problems []string) {
	where := fmt.Sprintf("copy set %s: source %s:%s", cs.Name, hostName, cs.From)
	if !path.IsAbs(cs.From) {
		return 0, 0, 0, nil, []string{where + " is not an absolute path; write the full path in from"}
	}
	st, err := cl.Lstat(cs.From)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
			return 0, 0, 0, nil, []string{where + " does not exist; fix from in the plan"}
		}
		return 0, 0, 0, nil, []string{fmt.Sprintf("%s: lstat: %v", where, err)}
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		tgt, _ := cl.ReadLink(cs.From)
		st, err = cl.Stat(cs.From)
		if err != nil {
			return 0, 0, 0, nil, []string{fmt.Sprintf("%s is a symlink to %s, which cannot be followed: %v", where, tgt, err)}
		}
		if st.IsDir() {
			warnings = append(warnings, fmt.Sprintf("%s is a symlink to %s; the directory it points to is copied", where, tgt))
		}
	}
	if !st.IsDir() {
		return 0, 0, 0, warnings, []string{fmt.Sprintf("%s is a %s, not a directory; from must name a directory", where, kindName(st.Mode()))}
	}
	bytes, files, entries, err = preflightWalk(ctx, cl, cs.From, filter, progress)
	if err != nil {
		return files, bytes, entries, warnings, []string{fmt.Sprintf("%s: %v", where, err)}
	}
	return files, bytes, entries, warnings, nil
}

// preflightWalk sums the sizes and counts the regular files under root that the
// filter keeps, and all entries it keeps (each takes an inode on the
// target). A missing root counts as empty.
func preflightWalk(ctx context.Context, cl *sftp.Client, root string, filter *Filter, progress *atomic.Int64) (bytes, files, entries int64, err error) {
	var walk func(dir, rel string) error
	walk = func(dir, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		list, err := cl.ReadDir(dir)
		if err != nil {
			if rel == "" && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist)) {
				return nil
			}
			return fmt.Errorf("read directory %s: %w", dir, err)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name() < list[j].Name() })
		for _, e := range list {
			progress.Add(1)
			r := e.Name()
			if rel != "" {
				r = rel + "/" + e.Name()
			}
			isDir := e.IsDir()
			if filter.Excluded(r, isDir) {
				continue
			}
			entries++
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
	return bytes, files, entries, err
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
				return "", nil, []string{fmt.Sprintf("%s: %s exists and is a %s, not a directory", where, p, kindName(st.Mode()))}
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
	if c.Host.Sudo() {
		script = SudoScript(script) // root's PATH (sudo's secure_path)
	}
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
