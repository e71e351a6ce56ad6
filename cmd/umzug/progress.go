package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/umzug-dev/umzug/activities"
)

// copyBar shows a running copy's heartbeated progress: a progress bar on a
// terminal (schollz/progressbar: rate, ETA, redraw handled), a plain line
// every few seconds anywhere else, so logs stay readable.
type copyBar struct {
	out      io.Writer
	tty      bool
	bar      *progressbar.ProgressBar
	key      string // set/phase the bar belongs to
	lastLine time.Time
}

func newCopyBar(out io.Writer) *copyBar {
	f, ok := out.(*os.File)
	return &copyBar{out: out, tty: ok && term.IsTerminal(int(f.Fd()))}
}

// update draws p; a new set or phase starts a new bar.
func (b *copyBar) update(p activities.CopyProgress) {
	key := p.Set + "/" + p.Phase
	if !b.tty {
		if time.Since(b.lastLine) < 5*time.Second && key == b.key {
			return
		}
		b.key, b.lastLine = key, time.Now()
		fmt.Fprintf(b.out, "           copying %s (%s): %d/%d files, %s/%s, %s/s\n", p.Set, p.Phase,
			p.FilesDone, p.FilesTotal, humanBytes(p.BytesDone), humanBytes(p.BytesTotal), humanBytes(int64(p.BytesPerSec)))
		return
	}
	if key != b.key || b.bar == nil {
		b.finish()
		b.key = key
		b.bar = progressbar.NewOptions64(p.BytesTotal,
			progressbar.OptionSetWriter(b.out),
			progressbar.OptionSetDescription(fmt.Sprintf("           %s %s", p.Set, p.Phase)),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	if p.BytesTotal > 0 && b.bar.GetMax64() != p.BytesTotal {
		b.bar.ChangeMax64(p.BytesTotal)
	}
	_ = b.bar.Set64(p.BytesDone)
}

// finish removes the bar before other output is printed.
func (b *copyBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		_ = b.bar.Clear()
		b.bar = nil
	}
}
