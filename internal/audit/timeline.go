package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/umzug-dev/umzug/workflows"
)

// Timeline is the geometry of the report's SVG picture, in user units of
// a fixed viewBox: the window as a band, one lane of phases, one of
// decisions and one row per command attempt.
type Timeline struct {
	Width, Height float64
	Left, Right   float64 // plot area x range
	Band          *Rect   // the window, clipped to the plot
	BandLabel     string
	Phases        []Rect
	Marks         []Mark
	Bars          []Rect
	Ticks         []Tick
	Lanes         []Tick // lane labels (Y in X's place is unused)
	Empty         bool
}

// Rect is a labelled bar; Class picks its colour in the stylesheet.
type Rect struct {
	X, Y, W, H float64
	Class      string
	Label      string
	Title      string
}

// Mark is one decision: a symbol at a time.
type Mark struct {
	X, Y  float64
	Class string // accepted, refused, operator
	Title string
}

// Tick is a labelled position; Anchor is the SVG text-anchor.
type Tick struct {
	X, Y   float64
	Label  string
	Anchor string
}

const (
	tlWidth   = 720.0
	tlLeft    = 150.0
	tlRight   = 705.0
	tlTop     = 30.0
	tlRow     = 17.0
	tlMaxRows = 40
)

// timeline lays out the report's events on one time axis.
func (r *Report) timeline() *Timeline {
	t := &Timeline{Width: tlWidth, Left: tlLeft, Right: tlRight}
	from, to := r.timeRange()
	if from.IsZero() || !to.After(from) {
		t.Empty, t.Height = true, 40
		return t
	}
	x := func(at time.Time) float64 {
		f := float64(at.Sub(from)) / float64(to.Sub(from))
		return tlLeft + min(max(f, 0), 1)*(tlRight-tlLeft)
	}
	y := t.phaseLane(r, x, to, tlTop)
	y = t.decisionLane(r, x, y)
	y = t.barLanes(r, x, y)
	t.Height = y + 24
	if w := r.Window; w != nil {
		bx, ex := x(w.NotBefore), x(w.Closes)
		t.Band = &Rect{X: bx, Y: tlTop - 8, W: max(ex-bx, 1), H: y - tlTop + 12, Class: "window"}
		t.BandLabel = "window " + ts(w.NotBefore) + " – " + ts(w.Closes)
	}
	for i := 0; i <= 4; i++ {
		at := from.Add(time.Duration(float64(to.Sub(from)) * float64(i) / 4))
		anchor := map[int]string{0: "start", 4: "end"}[i]
		if anchor == "" {
			anchor = "middle"
		}
		t.Ticks = append(t.Ticks, Tick{X: x(at), Y: y + 16, Label: at.UTC().Format("15:04:05"), Anchor: anchor})
	}
	return t
}

// timeRange spans everything drawn; the window widens it only when that
// keeps the events readable (at most three times their own span).
func (r *Report) timeRange() (from, to time.Time) {
	add := func(t time.Time) {
		if t.IsZero() {
			return
		}
		if from.IsZero() || t.Before(from) {
			from = t
		}
		if to.IsZero() || t.After(to) {
			to = t
		}
	}
	add(r.Started)
	add(r.ClosedAt)
	for _, p := range r.Phases {
		add(p.At)
	}
	for _, d := range r.Decisions {
		add(d.At)
	}
	for i, c := range r.Copies {
		if i < len(r.copyEnded) {
			add(r.copyEnded[i].Add(-c.Duration))
		}
	}
	for _, c := range r.Commands {
		for _, a := range c.Attempts {
			add(a.Started)
			add(a.Finished)
		}
	}
	if w := r.Window; w != nil && !from.IsZero() {
		span := to.Sub(from)
		if from.Sub(w.NotBefore) <= 2*span {
			add(w.NotBefore)
		}
		if w.Closes.Sub(to) <= 2*span {
			add(w.Closes)
		}
	}
	pad := to.Sub(from) / 40
	return from.Add(-pad), to.Add(pad)
}

func markClass(d Decision) string {
	switch {
	case !d.Accepted || d.Violation:
		return "refused"
	case d.Name == workflows.SignalApprove:
		return "accepted"
	case d.Name == workflows.SignalRollback:
		return "rollback"
	}
	return "operator"
}

func barClass(c Command, a Attempt) string {
	switch {
	case strings.HasPrefix(c.Purpose, "undo"):
		return "undo"
	case a.ExitCode != 0:
		return "failed"
	}
	return "ok"
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// phaseLane draws one bar per phase, labelled where it fits.
func (t *Timeline) phaseLane(r *Report, x func(time.Time) float64, to time.Time, y float64) float64 {
	t.Lanes = append(t.Lanes, Tick{Y: y + 12, Label: "phases"})
	from := r.Started
	for i, p := range r.Phases {
		end := r.ClosedAt
		if i+1 < len(r.Phases) {
			end = r.Phases[i+1].At
		}
		if end.IsZero() {
			end = to
		}
		if i == len(r.Phases)-1 && r.Closed { // the outcome: a visible end cap
			end = maxTime(end, p.At.Add(to.Sub(from)/60))
		}
		ph := Rect{X: x(p.At), Y: y, W: max(x(end)-x(p.At), 1.5), H: 18, Class: "ph-" + p.Phase,
			Title: fmt.Sprintf("%s from %s", p.Phase, ts(p.At))}
		if ph.W >= 6.5*float64(len(p.Phase)) {
			ph.Label = p.Phase
		}
		t.Phases = append(t.Phases, ph)
	}
	return y + 28
}

// decisionLane draws one dot per decision.
func (t *Timeline) decisionLane(r *Report, x func(time.Time) float64, y float64) float64 {
	t.Lanes = append(t.Lanes, Tick{Y: y + 8, Label: "decisions"})
	for _, d := range r.Decisions {
		mx := x(d.At)
		if n := len(t.Marks); n > 0 && mx < t.Marks[n-1].X+9 {
			mx = t.Marks[n-1].X + 9 // decisions in the same instant side by side
		}
		t.Marks = append(t.Marks, Mark{X: mx, Y: y + 6, Class: markClass(d),
			Title: fmt.Sprintf("%s %s by %s: %s", ts(d.At), d.Name, visible(d.Identity), decisionVerdict(d))})
	}
	return y + 22
}

// barLanes draws one row per copy and per command attempt.
func (t *Timeline) barLanes(r *Report, x func(time.Time) float64, y float64) float64 {
	bar := func(label string, from, to time.Time, class, title string) {
		t.Lanes = append(t.Lanes, Tick{Y: y + 10, Label: shorten(label, 24)})
		t.Bars = append(t.Bars, Rect{X: x(from), Y: y, W: max(x(to)-x(from), 2), H: 12, Class: class, Title: title})
		y += tlRow
	}
	for i, c := range r.Copies {
		if i >= len(r.copyEnded) {
			break
		}
		end := r.copyEnded[i]
		class, label := "copy", "copy "+visible(c.Set)+" "+c.Phase
		if c.Refused > 0 { // the copy left entries out: see Refusals
			class, label = "copyrefused", fmt.Sprintf("%s (%d refused)", label, c.Refused)
		}
		bar(label, end.Add(-c.Duration), end, class,
			fmt.Sprintf("copy %s %s: %d files copied, %d verified, %d refused, ended %s", visible(c.Set), c.Phase, c.CopiedFiles, c.Verified, c.Refused, ts(end)))
	}
	rows := 0
	for _, c := range r.Commands {
		for _, a := range c.Attempts {
			if rows == tlMaxRows {
				return y
			}
			end := a.Finished
			if end.IsZero() {
				end = a.Started
			}
			bar(fmt.Sprintf("%s #%d", visible(c.Purpose), a.Attempt), a.Started, end, barClass(c, a),
				fmt.Sprintf("%s attempt %d on %s: %s to %s, exit %s", visible(c.Purpose), a.Attempt, visible(a.Host), ts(a.Started), ts(a.Finished), attemptExit(a.ExitCode)))
			rows++
		}
	}
	return y
}
