package activities

import (
	"bufio"
	"bytes"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// A batch's staged files are renamed into place one rename(2) each, as
// over SFTP, but in one process on the target where the host has python3:
// an SFTP rename costs about 160 µs of CPU across sshd and sftp-server on
// the test machines, so a batch of 4,000 tiny files spent more on its
// renames than on its bytes. The script reads NUL-separated pairs (staged
// path, final path) and prints the number of each pair it renamed; a
// rename that fails (a directory in the way, a missing parent) is left to
// SFTP and then to the per-file path, which refuses or notes it as always.
// Exit 97: no python3.
const placeScript = `command -v python3 >/dev/null 2>&1 || exit 97
exec python3 -c '` + placePy + `'`

// placePy is placeScript's loop (no single quotes: it travels inside them).
const placePy = `import os, sys
d = sys.stdin.buffer.read().split(b"\0")
w = sys.stdout.buffer
for i in range(0, len(d) - 1, 2):
    try:
        os.rename(d[i], d[i + 1])
    except OSError:
        continue
    w.write(b"%d\n" % (i // 2))`

// placeRemote renames the staged members in got into place with
// placeScript and marks what it placed in placed; what it did not (no
// exec, no python3, a failed session) is left to SFTP.
func (e *engine) placeRemote(ctx context.Context, ts []fileTask, got map[int]string, staging string, placed []bool) {
	ep := e.dst
	if ep.run == nil || ep.noPlacer.Load() || len(got) == 0 {
		return
	}
	idx := slices.Sorted(maps.Keys(got))
	var in bytes.Buffer
	for _, i := range idx {
		in.WriteString(joinRel(staging, strconv.Itoa(i)))
		in.WriteByte(0)
		in.WriteString(e.dstPath(ts[i].rel))
		in.WriteByte(0)
	}
	var out bytes.Buffer
	errb := newOutputTail(1 << 10)
	code, err := ep.run.Run(ctx, placeScript, &in, &out, errb)
	if err != nil || code != 0 {
		e.tracef("batch: rename on %s: exit %d, %v: %s", ep.name, code, err, errb)
	}
	if code == 97 {
		ep.noPlacer.Store(true)
		return
	}
	// Whatever was printed was renamed, even from a session that then
	// failed: the final name holds the verified bytes either way.
	n := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		k, convErr := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if convErr != nil || k < 0 || k >= len(idx) {
			continue
		}
		i := idx[k]
		placed[i] = true
		e.markParentDirty(ts[i].rel)
		n++
	}
	if code != 0 && n == 0 {
		// python3 failed before its first rename (too old, broken): the
		// later batches of this copy go over SFTP.
		ep.noPlacer.Store(true)
	}
}
