package activities

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// offloadJobsPy claims, releases, archives and discards jobs on a host;
// python3 is already needed there by the classic copy engine.
//
//go:embed offload_jobs.py
var offloadJobsPy string

const (
	resultMarker = "UMZUG-RESULT "
	// offloadOutputBytes bounds what the host may answer: a thousand jobs
	// with their digests, and their refusals.
	offloadOutputBytes = 1 << 20
	offloadTimeout     = time.Hour
)

// OffloadJobs runs one offload operation on one host. Every operation
// is idempotent: a retry after a lost worker or connection finds the
// moves an earlier attempt made and reports them again, so the activity
// may simply run again.
func (a *Activities) OffloadJobs(ctx context.Context, in contract.OffloadJobsInput) (contract.OffloadJobsResult, error) {
	var res contract.OffloadJobsResult
	if in.Key == "" || strings.ContainsAny(in.Key, "/\x00") || in.Root == "" || !strings.HasPrefix(in.Root, "/") {
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("offload %s on %s: bad key %q or root %q", in.Op, in.Host.Name, in.Key, in.Root), contract.ErrBadCommand, nil)
	}
	req, err := json.Marshal(struct {
		contract.OffloadJobsInput
		Pause *hostPause `json:"pause,omitempty"`
	}{in, hostPauseFor(in.Op)})
	if err != nil {
		return res, err
	}
	stop := heartbeatEvery(ctx, commandHeartbeatEvery, func() any { return fmt.Sprintf("offload %s on %s", in.Op, in.Host.Name) })
	defer stop()
	conn, err := a.dial(ctx, in.Host)
	if err != nil {
		return res, dialFailure(err)
	}
	defer a.release(ctx, conn)
	prog := "import base64, json\nREQ = json.loads(base64.b64decode('" + base64.StdEncoding.EncodeToString(req) + "'))\n" + offloadJobsPy
	script := "python3 -"
	if in.Host.Sudo() {
		script = SudoScript(script)
	}
	out, errb := newOutputTail(offloadOutputBytes), newOutputTail(4096)
	rctx, cancel := context.WithTimeout(ctx, offloadTimeout)
	defer cancel()
	code, err := conn.Run(rctx, script, strings.NewReader(prog), out, errb)
	if err != nil {
		return res, fmt.Errorf("offload %s of %s on %s: %w; the next attempt finds what this one moved", in.Op, in.Key, in.Host.Name, err)
	}
	if code != 0 {
		return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("offload %s of %s on %s (%s) exited %d: %s",
			in.Op, in.Key, in.Host.Name, in.Root, code, strings.TrimSpace(errb.String())), contract.ErrBadCommand, nil)
	}
	s := out.String()
	i := strings.LastIndex(s, resultMarker)
	if i < 0 {
		return res, fmt.Errorf("offload %s on %s gave no result: %q", in.Op, in.Host.Name, tailOf(s+errb.String(), 300))
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(s[i+len(resultMarker):])), &res); err != nil {
		return res, fmt.Errorf("offload %s on %s: unreadable result: %w", in.Op, in.Host.Name, err)
	}
	return res, nil
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
