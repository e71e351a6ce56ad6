package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
)

// TestCopyBarWhileWalking: a heartbeat jump must not show as an absurd
// rate, and totals that still grow must read as "so far", without a
// percentage of them (the demo showed "99 %, 198/200 MB, 116 TB/s" while
// copying 366 MiB).
func TestCopyBarWhileWalking(t *testing.T) {
	p := contract.CopyProgress{Set: "data", Phase: "seed", FilesDone: 90, FilesTotal: 100,
		BytesDone: 198 << 20, BytesTotal: 200 << 20, BytesPerSec: 10 << 20, Walking: true}
	for _, tty := range []bool{true, false} {
		var out bytes.Buffer
		b := &copyBar{out: &out, tty: tty}
		b.update(p)
		b.finish()
		s := out.String()
		if !strings.Contains(s, "200 MiB found so far") || !strings.Contains(s, "10 MiB/s") {
			t.Errorf("tty=%v: the walk's totals must read as so far, the rate as the copy's: %q", tty, s)
		}
		if strings.Contains(s, "99%") || strings.Contains(s, "TB/s") || strings.Contains(s, "GB/s") {
			t.Errorf("tty=%v: percentage of a growing total or a jump's rate shown: %q", tty, s)
		}
	}
	p.Walking, p.BytesTotal = false, 366<<20
	if s := progressLine(p); !strings.Contains(s, "198 MiB/366 MiB (54%), 10 MiB/s, ETA 17s") {
		t.Errorf("after the walk: %q", s)
	}
}
