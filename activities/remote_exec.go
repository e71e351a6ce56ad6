package activities

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
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
//	<base>/<key>/run/leader      present once the leader runs (it honours run/kill)
//	<base>/<key>/run/stepexit    the command's exit code, written as it ends
//	<base>/<key>/run/exit        EXIT_CODE unix [timeout]
//	<base>/<key>/run/timedout    present once the timeout ended the command
//	<base>/<key>/run/stdout, stderr
//
// <base> is /var/lib/umzug/attempts for root, ~/.umzug/attempts otherwise.
// mkdir of run/ is the atomic claim: exactly one attempt starts the
// command; a retry (after a worker crash or lost connection) finds the
// claim and takes over: it waits for the exit record instead of running
// the command again. The group's leader (leaderScript) is the command's
// watchdog: it ends its own group (`kill -TERM 0`, then KILL) at the
// timeout, or when the worker asks it to from a new session (run/kill),
// which works for root too, where OpenSSH refuses SSH signal requests.
// Nothing signals a group by a recorded id: once the command has ended,
// the id may be another process's. Secrets reach the runner on the launch session's stdin, never
// on a command line.

// Exit codes of the launch script for problems of the host itself.
const (
	exitNoSetsid   = 121
	exitNoStateDir = 122
)

// remoteGrace is how long a process group has between TERM and KILL
// (leaderScript counts it in naps).
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
// UMASK TICKS TICKS_1S LEADER`. Its records are private (umask 077); the
// command gets the SSH session's umask back. It starts the leader in a
// session and process group of its own, records the group, waits for the
// leader and records the step's exit code.
const runnerScript = `r=$1
eval "$UMZUG_EXPORTS"; unset UMZUG_EXPORTS
setsid sh -c "$6" umzug-step "$r" "$2" "$3" "$4" "$5" </dev/null >"$r/stdout" 2>"$r/stderr" &
j=$!
echo "$j $$ $(date +%s)" >"$r/started.tmp" && mv "$r/started.tmp" "$r/started"
wait "$j"; c=$?
[ -f "$r/stepexit" ] && read -r c <"$r/stepexit"
x=; [ -f "$r/timedout" ] && x=timeout
echo "$c $(date +%s) $x" >"$r/exit.tmp" && mv "$r/exit.tmp" "$r/exit"
`

// leaderScript is the step's process group leader (`umzug-step RUN CMD
// UMASK TICKS TICKS_1S`) and its watchdog in one process: it runs the
// command as its child and stays in the group until the command's main
// process has ended, so the group's id cannot pass to another process
// while it may signal it, and it signals only its own group (kill 0),
// never an id it read. At the timeout (TICKS naps of 0.2s, or TICKS_1S of
// 1s where sleep takes whole seconds; every 25 naps the clock is read, so
// the naps' own cost does not add up) or when the worker asks (run/kill),
// it sends TERM to the group, waits up to the grace period for the
// command, then sends KILL to what is left, itself included. When the
// command ends it leaves at its next nap: no watchdog outlives a step.
const leaderScript = `r=$1
( trap : TERM; sh -c "umask $3
$2"; echo $? >"$r/stepexit.tmp"; mv "$r/stepexit.tmp" "$r/stepexit" ) &
trap '' TERM
: >"$r/leader"
e=$(($(date +%s) + $5))
t=0.2; n=$4; g=10; i=1
sleep 0.2 2>/dev/null || { t=1; n=$5; g=2; i=0; }
while [ ! -f "$r/stepexit" ]; do
  [ -f "$r/kill" ] && break
  if [ "$i" -ge "$n" ] || { [ $((i % 25)) = 0 ] && [ "$(date +%s)" -ge "$e" ]; }; then : >"$r/timedout"; break; fi
  sleep $t; i=$((i+1))
done
[ -f "$r/stepexit" ] && exit 0
kill -TERM 0
i=0; while [ ! -f "$r/stepexit" ] && [ $i -lt $g ]; do sleep $t; i=$((i+1)); done
kill -KILL 0
`

// launchScript claims the run record and starts the runner, or reports
// that an earlier attempt holds the claim. It reads the secret exports
// from stdin first, so a lost worker never leaves it waiting on input.
// After "launched" it waits for the runner, so the session ends when the
// command does (the worker learns at once); losing the session does not
// end the runner, which has a session of its own.
func launchScript(base, key string, attempt int, command string, timeout time.Duration) string {
	return statePrelude(base, key) + fmt.Sprintf(`command -v setsid >/dev/null 2>&1 || { echo "umzug: setsid not found on this host (PATH=$PATH); install util-linux" >&2; exit %d; }
s=; while IFS= read -r l; do s="$s$l
"; done
mkdir -p "$d" || { echo "umzug: cannot create state directory $d" >&2; exit %d; }
find "$b" -mindepth 1 -maxdepth 1 -type d -name '%s' -mtime +30 -exec rm -rf {} + </dev/null >/dev/null 2>&1 &
t=$(date +%%s)
if mkdir "$r" 2>/dev/null; then
  echo "%d $t" >"$r/attempt"
  echo "%d $t ran" >>"$d/attempts"
  UMZUG_EXPORTS="$s" setsid sh -c %s umzug-runner "$r" %s "$m" %d %d %s </dev/null >/dev/null 2>&1 &
  echo launched
  wait $!
else
  echo "%d $t took_over" >>"$d/attempts"
  echo claimed
fi
exit 0
`, exitNoSetsid, exitNoStateDir, strings.Repeat("[0-9a-f]", 16), attempt, attempt, ShellQuote(runnerScript), ShellQuote(command),
		int64(math.Ceil(timeout.Seconds()*5)), int64(math.Ceil(timeout.Seconds())), ShellQuote(leaderScript), attempt)
}

// statusScript reports the run record. The start record is read once and
// liveness is checked before the exit record, so "started, not alive and
// no exit" really means the runner died.
func statusScript(base, key string) string {
	return statePrelude(base, key) + `echo "now $(date +%s)"
[ -d "$r" ] || exit 0
s=; [ -f "$r/started" ] && read -r s <"$r/started"
if [ -n "$s" ]; then set -- $s; kill -0 "$2" 2>/dev/null && echo alive; echo "started $s"; fi
if [ -f "$r/attempt" ]; then read -r o <"$r/attempt"; echo "owner $o"; else echo "owner 0 $(date -r "$r" +%s 2>/dev/null || date +%s)"; fi
if [ -f "$r/exit" ]; then read -r x <"$r/exit"; echo "exit $x"; echo "sizes $(wc -c <"$r/stdout") $(wc -c <"$r/stderr")"; fi
[ -f "$d/attempts" ] && while read -r l; do echo "attempt $l"; done <"$d/attempts"
exit 0
`
}

// killScript asks the step's leader to end its process group (run/kill)
// and waits for the runner's exit record; it prints the PGID. It never
// signals the recorded id itself: once the command has ended, that id may
// belong to another process. A run started by a runner without a leader
// (older versions: no run/leader) is signalled by id as before, and only
// while its runner is alive and has recorded no exit. For a timeout it
// first marks the run timed out, as the leader does.
func killScript(base, key string, timedOut bool) string {
	mark := ""
	if timedOut {
		mark = `[ -f "$r/exit" ] || : >"$r/timedout"` + "\n"
	}
	return statePrelude(base, key) + fmt.Sprintf(`j=; i=0
while [ -z "$j" ] && [ $i -lt 25 ]; do [ -f "$r/started" ] && read j p t <"$r/started"; [ -n "$j" ] || { nap; i=$((i+1)); }; done
[ -n "$j" ] || { echo "umzug: no process group recorded in $r" >&2; exit 3; }
[ -f "$r/exit" ] && { echo "$j"; exit 0; }
%sif [ -f "$r/leader" ]; then
  : >"$r/kill"
elif kill -0 "$p" 2>/dev/null && [ ! -f "$r/exit" ]; then
  kill -TERM -"$j" 2>/dev/null
  i=0; while [ $i -lt %d ] && kill -0 -"$j" 2>/dev/null; do nap; i=$((i+1)); done
  [ -f "$r/exit" ] || kill -KILL -"$j" 2>/dev/null
fi
i=0; while [ ! -f "$r/exit" ] && [ $i -lt %d ]; do nap; i=$((i+1)); done
[ -f "$r/exit" ] || { echo "umzug: process group $j did not end: no exit record in $r" >&2; exit 4; }
echo "$j"
`, mark, remoteGrace*5, remoteGrace*5+25)
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
	TimedOut               bool // the watchdog or the worker ended it at its timeout
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
		case f[0] == "exit" && len(f) >= 3:
			st.Exited, st.ExitCode, st.ExitedAt = true, int(n[1]), n[2]
			st.TimedOut = len(f) > 3 && f[3] == "timeout"
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
	// sudo runs every script of the run (launch, status, kill, tail)
	// through `sudo -n`: the runner and the watchdog are root's, so the
	// watchdog can end a root-owned group, and the record lives in root's
	// state directory, out of the login user's reach.
	sudo bool
}

// script is s as the exec request that runs it: `sudo -n sh -c 's'` for
// a run as root. Secrets stay on stdin, which sudo hands on unchanged.
func (rr *remoteRun) script(s string) string {
	if rr.sudo {
		return SudoScript(s)
	}
	return s
}

// SudoScript runs the shell script s as root through `sudo -n`, which
// fails at once instead of prompting when sudoers asks for a password.
func SudoScript(s string) string {
	return "sudo -n /bin/sh -c " + ShellQuote(s)
}

func (rr *remoteRun) where() string {
	return fmt.Sprintf("%s (%s)", rr.conn.Host.Name, withDefaultPort(rr.conn.Host.Address))
}

// launch starts the command unless an earlier attempt did; it reports
// whether this attempt started it and, if so, a channel closed when the
// launch session ends (normally: when the command has ended). The session
// lives until ctx ends.
func (rr *remoteRun) launch(ctx context.Context, attempt int, command string, timeout time.Duration, exports string) (bool, <-chan struct{}, error) {
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		code, err = rr.conn.Run(ctx, rr.script(launchScript(rr.base, rr.key, attempt, command, timeout)), strings.NewReader(exports), pw, &errb)
		pw.Close()
		close(done)
	}()
	line, _ := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	switch strings.TrimSpace(line) {
	case "launched":
		return true, done, nil
	case "claimed":
		<-done
		return false, nil, nil
	}
	<-done
	if err != nil {
		return false, nil, fmt.Errorf("start command on %s: %w", rr.where(), err)
	}
	msg := fmt.Sprintf("start command on %s: exit %d: %s", rr.where(), code, strings.TrimSpace(errb.String()))
	if rr.sudo && strings.Contains(errb.String(), "sudo:") {
		msg += "; the host has become = \"sudo\" and " + sudoersHint(rr.conn.Host.User, "")
	}
	return false, nil, &launchError{code: code, msg: msg}
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
	code, err := rr.conn.Run(ctx, rr.script(statusScript(rr.base, rr.key)), nil, &out, &errb)
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
func (rr *remoteRun) kill(timedOut bool) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code, err := rr.conn.Run(ctx, rr.script(killScript(rr.base, rr.key, timedOut)), nil, &out, &errb)
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
	if _, err := rr.conn.Run(ctx, rr.script(tailScript(rr.base, rr.key, n)), nil, &out, &errb); err != nil {
		return "", "", fmt.Errorf("read output on %s: %w", rr.where(), err)
	}
	return out.String(), errb.String(), nil
}
