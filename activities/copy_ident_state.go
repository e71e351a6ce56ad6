package activities

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
)

// Verified identities let a re-sync keep the digest of a file verified by
// an earlier copy instead of hashing it again on both hosts, so that the
// final sync inside the window costs in proportion to what changed.
//
// A file's identity is what its host's own `find -printf` shows without
// reading it: size, mtime and ctime in nanoseconds, inode and device.
// ctime cannot be set by a user: any write, truncate, chmod, chown or
// rename of the file moves it, and a file replaced by another one has a
// different inode. A file keeps its verified digest only when its identity
// on both hosts equals the one recorded when it was verified:
//
//   - source: listed before the copy read it and again after the copy
//     ended; recorded only when both listings agree, so a write during the
//     copy leaves the file without an identity (it is hashed next time);
//   - target: listed just before the target's sha256sum confirmed it.
//
// Hosts that allow SFTP only (no exec, no GNU find) show second mtimes and
// no inode or ctime: there no identity is recorded and every unchanged
// file is hashed on both hosts as before, never compared by a weaker test.
//
// The identities live in a state file next to the manifests on the target
// (<parent of To>/.umzug/<move>/<set>-verified.bin), written by seed
// copies and read by later ones; workflow history never holds them.

// fileIdent is a regular file's identity as its host shows it.
type fileIdent struct {
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	CtimeNs int64  `json:"ctime_ns"`
	Inode   uint64 `json:"inode"`
	Dev     uint64 `json:"dev"`
}

// identFindFmt prints type, size, mtime, ctime, inode, device and path,
// NUL-terminated so that any name survives.
const identFindFmt = `%y %s %T@ %C@ %i %D %p\0`

// identTreeCmd lists every regular file under root (never following
// symlinks, the root included).
func identTreeCmd(root string) string {
	return "LC_ALL=C exec find " + ShellQuote(root) + " -type f -printf '" + identFindFmt + "'"
}

// identPathsCmd lists the NUL-separated absolute paths given on stdin.
const identPathsCmd = "LC_ALL=C exec xargs -0 sh -c 'exec find \"$@\" -maxdepth 0 -type f -printf \"" + identFindFmt + "\"' sh"

// listIdents runs a find command on a host and returns the identity of
// each path it printed, keyed by the path without the prefix strip. It
// returns nil when the host cannot run it (no exec channel, no GNU find):
// callers then hash instead.
func listIdents(ctx context.Context, ep *endpoint, cmd string, stdin []byte, strip string) map[string]fileIdent {
	res := map[string]fileIdent{}
	if !eachIdent(ctx, ep, cmd, stdin, func(p string, id fileIdent) {
		if k, ok := strings.CutPrefix(p, strip); ok {
			res[k] = id
		}
	}) {
		return nil
	}
	return res
}

// eachIdent runs a find command and calls fn for each record as it
// arrives, so that a listing of many files is never held whole. A
// non-zero exit may only mean an unreadable directory: what was printed
// is still right, and what was not printed is hashed.
func eachIdent(ctx context.Context, ep *endpoint, cmd string, stdin []byte, fn func(string, fileIdent)) bool {
	if ep == nil || ep.run == nil {
		return false
	}
	_, err := eachRecord(ctx, ep.run, cmd, stdin, func(rec []byte) {
		if p, id, ok := parseIdent(rec); ok {
			fn(p, id)
		}
	})
	if err != nil {
		ep.a.Options.tracef("identity listing on %s: %v", ep.name, err)
		return false
	}
	return true
}

// eachRecord runs a command and calls fn for each NUL-terminated record
// of its output as it arrives, and returns the command's exit status;
// records longer than 64 KiB (longer than
// any path) are skipped.
func eachRecord(ctx context.Context, r Runner, cmd string, stdin []byte, fn func([]byte)) (int, error) {
	return eachRecordStderr(ctx, r, cmd, stdin, io.Discard, fn)
}

// eachRecordStderr is eachRecord with the command's stderr sent to stderr.
func eachRecordStderr(ctx context.Context, r Runner, cmd string, stdin []byte, stderr io.Writer, fn func([]byte)) (int, error) {
	var in io.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReaderSize(pr, 64<<10)
		for {
			rec, err := br.ReadSlice(0)
			if err == bufio.ErrBufferFull {
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice(0)
				}
				continue
			}
			if len(rec) > 0 && err == nil {
				fn(rec[:len(rec)-1])
			}
			if err != nil {
				_, _ = io.Copy(io.Discard, pr)
				return
			}
		}
	}()
	code, err := r.Run(ctx, cmd, in, pw, stderr)
	pw.Close()
	<-done
	return code, err
}

// parseIdents parses find output in identFindFmt.
func parseIdents(out []byte) map[string]fileIdent {
	res := map[string]fileIdent{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		if p, id, ok := parseIdent(rec); ok {
			res[p] = id
		}
	}
	return res
}

// parseIdent parses one record; records that do not parse (a find
// without -printf prints none) are skipped.
func parseIdent(rec []byte) (string, fileIdent, bool) {
	f := strings.SplitN(string(rec), " ", 7)
	if len(f) != 7 || f[0] != "f" {
		return "", fileIdent{}, false
	}
	var id fileIdent
	var err [3]error
	id.Size, err[0] = strconv.ParseInt(f[1], 10, 64)
	mt, mok := parseFindTime([]byte(f[2]))
	ct, cok := parseFindTime([]byte(f[3]))
	id.MtimeNs, id.CtimeNs = mt, ct
	id.Inode, err[1] = strconv.ParseUint(f[4], 10, 64)
	id.Dev, err[2] = strconv.ParseUint(f[5], 10, 64)
	if firstErr(err[:]...) != nil || !mok || !cok || id.Inode == 0 || f[6] == "" {
		return "", fileIdent{}, false
	}
	return f[6], id, true
}

// maxFindSec keeps a time in ns within int64.
const maxFindSec = (1 << 62) / 1_000_000_000

// parseFindTime turns find's "%T@" (seconds, a dot, 10 fraction digits
// in GNU find) into nanoseconds; digits past the ninth are dropped.
func parseFindTime(b []byte) (int64, bool) {
	sec, frac, _ := bytes.Cut(b, []byte{'.'})
	n, ok := parseUintBytes(sec, 10)
	if !ok || n > maxFindSec || len(frac) > 9 && !allDigits(frac[9:]) {
		return 0, false
	}
	frac = frac[:min(len(frac), 9)]
	ns := uint64(0)
	if len(frac) > 0 {
		if ns, ok = parseUintBytes(frac, 10); !ok {
			return 0, false
		}
	}
	for range 9 - len(frac) {
		ns *= 10
	}
	return int64(n)*1e9 + int64(ns), true
}

// identsOfPaths lists the given absolute paths on a host.
func identsOfPaths(ctx context.Context, ep *endpoint, paths []string) map[string]fileIdent {
	var in bytes.Buffer
	for _, p := range paths {
		in.WriteString(p)
		in.WriteByte(0)
	}
	return listIdents(ctx, ep, identPathsCmd, in.Bytes(), "")
}
