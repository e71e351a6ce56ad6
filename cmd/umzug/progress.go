package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/units"
)

// copyBar shows a running copy's heartbeated progress: a progress bar on a
// terminal (schollz/progressbar redraws it), a plain line every few
// seconds anywhere else, so logs stay readable. The counts, totals and
// rate printed are the copy's own (rate: bytes copied over the attempt's
// wall time), not the bar's: heartbeats arrive in jumps, and a rate from
// one jump over the redraw interval is meaningless.
type copyBar struct {
	out      io.Writer
	tty      bool
	bar      *progressbar.ProgressBar
	key      string // set/phase/walking the bar belongs to
	lastLine time.Time
}

func newCopyBar(out io.Writer) *copyBar {
	f, ok := out.(*os.File)
	return &copyBar{out: out, tty: ok && term.IsTerminal(int(f.Fd()))}
}

// update draws p; a new set or phase, or the walk's end, starts a new bar.
func (b *copyBar) update(p contract.CopyProgress) {
	key := fmt.Sprintf("%s/%s/%t", p.Set, p.Phase, p.Walking)
	if !b.tty {
		if time.Since(b.lastLine) < 5*time.Second && key == b.key {
			return
		}
		b.key, b.lastLine = key, time.Now()
		fmt.Fprintf(b.out, "           copying %s\n", progressLine(p))
		return
	}
	if key != b.key || b.bar == nil {
		b.finish()
		b.key = key
		total := p.BytesTotal
		if p.Walking {
			total = -1 // a spinner: no percentage of a total still growing
		}
		b.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(b.out),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	b.bar.Describe("           " + progressLine(p))
	if !p.Walking && p.BytesTotal > 0 && b.bar.GetMax64() != p.BytesTotal {
		b.bar.ChangeMax64(p.BytesTotal)
	}
	_ = b.bar.Set64(p.BytesDone)
}

// progressLine describes a copy's position. While the walk runs, the
// totals are what it found so far: no percentage, no ETA.
func progressLine(p contract.CopyProgress) string {
	rate := units.Bytes(int64(p.BytesPerSec)) + "/s"
	if p.Walking {
		return fmt.Sprintf("%s (%s): %d files, %s copied of %d files, %s found so far (walk running), %s",
			p.Set, p.Phase, p.FilesDone, units.Bytes(p.BytesDone), p.FilesTotal, units.Bytes(p.BytesTotal), rate)
	}
	pct := 100.0
	if p.BytesTotal > 0 {
		pct = 100 * float64(p.BytesDone) / float64(p.BytesTotal)
	}
	eta := ""
	if p.BytesPerSec > 0 && p.BytesTotal > p.BytesDone {
		left := time.Duration(float64(p.BytesTotal-p.BytesDone) / p.BytesPerSec * float64(time.Second))
		eta = ", ETA " + units.Duration(left)
	}
	return fmt.Sprintf("%s (%s): %d/%d files, %s/%s (%.0f%%), %s%s", p.Set, p.Phase,
		p.FilesDone, p.FilesTotal, units.Bytes(p.BytesDone), units.Bytes(p.BytesTotal), pct, rate, eta)
}

// finish removes the bar before other output is printed.
func (b *copyBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
		b.bar = nil
	}
}
