package activities

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Remote execution of cutover commands.
//
// A command does not run in the SSH session itself. The session starts a
// detached runner (setsid), which starts the command in a process group of
// its own and records on the host, under a state directory:
//
//	<base>/<key>/attempts        one line per activity attempt: N unix ran|took_over
//	<base>/<key>/run/attempt     the attempt that started the command, and when
//	<base>/<key>/run/started     PGID RUNNER_PID unix
//	<base>/<key>/run/exit        EXIT_CODE unix
//	<base>/<key>/run/stdout, stderr
//
// <base> is /var/lib/umzug/attempts for root, ~/.umzug/attempts otherwise.
// mkdir of run/ is the atomic claim: exactly one attempt starts the
// command; a retry (after a worker crash or lost connection) finds the
// claim and takes over: it waits for the exit record instead of running
// the command again. Ending the command is `kill -TERM -PGID` (then KILL)
// from a new session, which works for root too, where OpenSSH refuses
// SSH signal requests. Secrets reach the runner on the launch session's
// stdin, never on a command line.

// Exit codes of the launch script for problems of the host itself.
const (
	exitNoSetsid   = 121
	exitNoStateDir = 122
)

// remoteGrace is how long a process group has between TERM and KILL.
const remoteGrace = 2

// statePrelude sets d (this command's state directory) and r (its run
// record) on the host.
func statePrelude(base, key string) string {
	return fmt.Sprintf(`m=$(umask); umask 077
b=%s
if [ -z "$b" ]; then if [ "$(id -u)" = 0 ]; then b=/var/lib/umzug/attempts; else b="${HOME:-/tmp}/.umzug/attempts"; fi; fi
d="$b/%s"; r="$d/run"
nap() { sleep 0.2 2>/dev/null || sleep 1; }
`, ShellQuote(base), key)
}

// runnerScript runs detached as `sh -c runnerScript umzug-runner RUN CMD
// UMASK`. Its records are private (umask 077); the command gets the SSH
// session's umask back.
const runnerScript = `r=$1
eval "$UMZUG_EXPORTS"; unset UMZUG_EXPORTS
setsid sh -c "umask $3
$2" </dev/null >"$r/stdout" 2>"$r/stderr" &
j=$!
echo "$j $$ $(date +%s)" >"$r/started.tmp" && mv "$r/started.tmp" "$r/started"
wait "$j"; c=$?
echo "$c $(date +%s)" >"$r/exit.tmp" && mv "$r/exit.tmp" "$r/exit"
`

// launchScript claims the run record and starts the runner, or reports
// that an earlier attempt holds the claim. It reads the secret exports
// from stdin first, so a lost worker never leaves it waiting on input.
func launchScript(base, key string, attempt int, command string) string {
	return statePrelude(base, key) + fmt.Sprintf(`command -v setsid >/dev/null 2>&1 || { echo "umzug: setsid not found on this host (PATH=$PATH); install util-linux" >&2; exit %d; }
s=$(cat)
mkdir -p "$d" || { echo "umzug: cannot create state directory $d" >&2; exit %d; }
find "$b" -mindepth 1 -maxdepth 1 -type d -name '%s' -mtime +30 -exec rm -rf {} + 2>/dev/null
if mkdir "$r" 2>/dev/null; then
  echo "%d $(date +%%s)" >"$r/attempt"
  echo "%d $(date +%%s) ran" >>"$d/attempts"
  UMZUG_EXPORTS="$s" setsid sh -c %s umzug-runner "$r" %s "$m" </dev/null >/dev/null 2>&1 &
  echo launched
else
  echo "%d $(date +%%s) took_over" >>"$d/attempts"
  echo claimed
fi
`, exitNoSetsid, exitNoStateDir, strings.Repeat("[0-9a-f]", 16), attempt, attempt, ShellQuote(runnerScript), ShellQuote(command), attempt)
}

// statusScript reports the run record. The start record is read once and
// liveness is checked before the exit record, so "started, not alive and
// no exit" really means the runner died.
func statusScript(base, key string) string {
	return statePrelude(base, key) + `echo "now $(date +%s)"
[ -d "$r" ] || exit 0
s=; [ -f "$r/started" ] && s=$(cat "$r/started")
if [ -n "$s" ]; then set -- $s; kill -0 "$2" 2>/dev/null && echo alive; echo "started $s"; fi
if [ -f "$r/attempt" ]; then echo "owner $(cat "$r/attempt")"; else echo "owner 0 $(date -r "$r" +%s 2>/dev/null || date +%s)"; fi
[ -f "$r/exit" ] && echo "exit $(cat "$r/exit")" && echo "sizes $(wc -c <"$r/stdout") $(wc -c <"$r/stderr")"
[ -f "$d/attempts" ] && tail -n 20 "$d/attempts" | sed 's/^/attempt /'
exit 0
`
}

// killScript ends the recorded process group: TERM, a grace period, KILL,
// then waits briefly for the runner's exit record. It prints the PGID.
func killScript(base, key string) string {
	return statePrelude(base, key) + fmt.Sprintf(`j=; i=0
while [ -z "$j" ] && [ $i -lt 25 ]; do [ -f "$r/started" ] && read j p t <"$r/started"; [ -n "$j" ] || { nap; i=$((i+1)); }; done
[ -n "$j" ] || { echo "umzug: no process group recorded in $r" >&2; exit 3; }
kill -TERM -"$j" 2>/dev/null
i=0; while [ $i -lt %d ] && kill -0 -"$j" 2>/dev/null; do nap; i=$((i+1)); done
kill -KILL -"$j" 2>/dev/null
i=0; while [ ! -f "$r/exit" ] && [ $i -lt 25 ]; do nap; i=$((i+1)); done
echo "$j"
`, remoteGrace*5)
}

// tailScript prints the end of the command's stdout and stderr.
func tailScript(base, key string, n int) string {
	return statePrelude(base, key) + fmt.Sprintf(`tail -c %d "$r/stdout" 2>/dev/null
tail -c %d "$r/stderr" >&2 2>/dev/null
exit 0
`, n, n)
}

// remoteStatus is what statusScript reported.
type remoteStatus struct {
	Now                    int64
	Claimed                bool
	Owner                  int
	ClaimedAt              int64
	Started                bool
	PGID, RunnerPID        int
	StartedAt              int64
	Exited                 bool
	ExitCode               int
	ExitedAt               int64
	Alive                  bool
	StdoutSize, StderrSize int64
	Log                    []attemptLogLine
}

type attemptLogLine struct {
	Attempt int
	At      int64
	Role    string // "ran" or "took_over"
}

func parseStatus(out string) (remoteStatus, error) {
	var st remoteStatus
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		n := make([]int64, len(f))
		for i := 1; i < len(f); i++ {
			n[i], _ = strconv.ParseInt(f[i], 10, 64)
		}
		switch {
		case f[0] == "now" && len(f) == 2:
			st.Now = n[1]
		case f[0] == "alive":
			st.Alive = true
		case f[0] == "owner" && len(f) == 3:
			st.Claimed, st.Owner, st.ClaimedAt = true, int(n[1]), n[2]
		case f[0] == "started" && len(f) == 4:
			st.Started, st.PGID, st.RunnerPID, st.StartedAt = true, int(n[1]), int(n[2]), n[3]
		case f[0] == "exit" && len(f) == 3:
			st.Exited, st.ExitCode, st.ExitedAt = true, int(n[1]), n[2]
		case f[0] == "sizes" && len(f) == 3:
			st.StdoutSize, st.StderrSize = n[1], n[2]
		case f[0] == "attempt" && len(f) == 4:
			st.Log = append(st.Log, attemptLogLine{Attempt: int(n[1]), At: n[2], Role: f[3]})
		}
	}
	if st.Now == 0 {
		return st, fmt.Errorf("unexpected answer %q", out)
	}
	return st, nil
}

// remoteRun is one command's state on one host.
type remoteRun struct {
	conn *Conn
	base string // empty: the default for the SSH user
	key  string
}

func (rr *remoteRun) where() string {
	return fmt.Sprintf("%s (%s)", rr.conn.Host.Name, withDefaultPort(rr.conn.Host.Address))
}

// launch starts the command unless an earlier attempt did; it reports
// whether this attempt started it.
func (rr *remoteRun) launch(ctx context.Context, attempt int, command, exports string) (bool, error) {
	var out, errb bytes.Buffer
	code, err := rr.conn.Run(ctx, launchScript(rr.base, rr.key, attempt, command), strings.NewReader(exports), &out, &errb)
	if err != nil {
		return false, fmt.Errorf("start command on %s: %w", rr.where(), err)
	}
	switch strings.TrimSpace(out.String()) {
	case "launched":
		return true, nil
	case "claimed":
		return false, nil
	}
	return false, &launchError{code: code, msg: fmt.Sprintf("start command on %s: exit %d: %s", rr.where(), code, strings.TrimSpace(errb.String()))}
}

// launchError is a host that cannot run the wrapper at all (no setsid, no
// writable state directory): retrying does not help.
type launchError struct {
	code int
	msg  string
}

func (e *launchError) Error() string { return e.msg }

func (rr *remoteRun) status(ctx context.Context) (remoteStatus, error) {
	var out, errb bytes.Buffer
	code, err := rr.conn.Run(ctx, statusScript(rr.base, rr.key), nil, &out, &errb)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errb.String()))
	}
	if err != nil {
		return remoteStatus{}, fmt.Errorf("read attempt record on %s: %w", rr.where(), err)
	}
	st, err := parseStatus(out.String())
	if err != nil {
		return st, fmt.Errorf("read attempt record on %s: %w", rr.where(), err)
	}
	return st, nil
}

// kill ends the command's process group and returns its PGID. It uses its
// own short context: it must run even when the activity was cancelled.
func (rr *remoteRun) kill() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code, err := rr.conn.Run(ctx, killScript(rr.base, rr.key), nil, &out, &errb)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit %d: %s", code, strings.TrimSpace(errb.String()))
	}
	if err != nil {
		return 0, fmt.Errorf("end the command's process group on %s: %w", rr.where(), err)
	}
	pg, _ := strconv.Atoi(strings.TrimSpace(out.String()))
	return pg, nil
}

// tails fetches the last n bytes of the command's stdout and stderr.
func (rr *remoteRun) tails(ctx context.Context, n int) (string, string, error) {
	var out, errb bytes.Buffer
	if _, err := rr.conn.Run(ctx, tailScript(rr.base, rr.key, n), nil, &out, &errb); err != nil {
		return "", "", fmt.Errorf("read output on %s: %w", rr.where(), err)
	}
	return out.String(), errb.String(), nil
}
