package activities

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
)

// Test hook for the crash tests of an offload: they must kill the
// worker or the server at a known point inside a step (some jobs
// claimed and others not, the copy running, some jobs archived and
// others not). With
//
//	UMZUG_TEST_OFFLOAD_PAUSE=claim:2,copy,archive:2
//	UMZUG_TEST_OFFLOAD_PAUSE_DIR=/some/dir
//
// the claim stops after its second new job, the first copy at its
// start, the archive after its second job; each creates
// DIR/<point>.paused and waits. The hook only pauses, once per point
// (an existing marker means it paused already), and for at most
// testPauseMax; it changes no outcome. Without both variables it does
// nothing.
const (
	testPauseEnv    = "UMZUG_TEST_OFFLOAD_PAUSE"
	testPauseDirEnv = "UMZUG_TEST_OFFLOAD_PAUSE_DIR"
	testPauseMax    = 5 * time.Minute
)

// hostPause tells the host program to stop after After jobs of its
// operation once Marker could be created.
type hostPause struct {
	After   int     `json:"after"`
	Marker  string  `json:"marker"`
	Seconds float64 `json:"seconds"`
}

// testPausePoint reports whether point is armed and after how many jobs
// it pauses, with its marker path.
func testPausePoint(point string) (after int, marker string, ok bool) {
	spec, dir := os.Getenv(testPauseEnv), os.Getenv(testPauseDirEnv)
	if spec == "" || dir == "" || !filepath.IsAbs(dir) {
		return 0, "", false
	}
	for _, p := range strings.Split(spec, ",") {
		name, n, _ := strings.Cut(strings.TrimSpace(p), ":")
		if name != point {
			continue
		}
		if n != "" {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 || v > 1000 {
				return 0, "", false
			}
			after = v
		}
		return after, filepath.Join(dir, point+".paused"), true
	}
	return 0, "", false
}

// hostPauseFor is the pause a host operation gets, or nil.
func hostPauseFor(op string) *hostPause {
	after, marker, ok := testPausePoint(op)
	if !ok {
		return nil
	}
	return &hostPause{After: after, Marker: marker, Seconds: testPauseMax.Seconds()}
}

// testPause waits at point in the worker itself (once, see above).
func testPause(ctx context.Context, point string) {
	_, marker, ok := testPausePoint(point)
	if !ok || (activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx)) {
		return // a resumed attempt goes on at once
	}
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil { // paused already, or no marker: go on
		return
	}
	f.Close()
	// Heartbeats without details keep the attempt alive while it waits,
	// so the server never starts a second one beside it.
	t := time.NewTimer(testPauseMax)
	defer t.Stop()
	tick := time.NewTicker(commandHeartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-tick.C:
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx)
			}
		}
	}
}
