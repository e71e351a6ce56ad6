package plans

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// decodeStandbyBlock reads a standby block into app. A second block is an
// error: one schedule keeps one partner copy warm.
func (l *loader) decodeStandbyBlock(b *hcl.Block, app *Application) {
	if app.Standby != nil {
		l.errorf(b.DefRange, "Duplicate standby block",
			"Application %q already has a standby block at %s; one schedule keeps the partner copy warm.",
			app.Name, shortRange(app.Standby.Range))
		return
	}
	s := &Standby{Range: b.DefRange}
	app.Standby = s
	content, d := b.Body.Content(standbySchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes
	if a := attrs["interval"]; a != nil {
		if v, ok := l.duration(a, "interval"); ok {
			if v < time.Second {
				l.errorf(a.Expr.Range(), "Invalid interval",
					"standby interval = %s: the schedule needs at least \"1s\" between syncs; write it like \"15m\".", v)
			}
			s.Interval = v
		}
	}
	s.MaxLag = 3 * s.Interval
	if a := attrs["max_lag"]; a != nil {
		if v, ok := l.duration(a, "max_lag"); ok {
			if v < s.Interval {
				l.errorf(a.Expr.Range(), "max_lag shorter than interval",
					"max_lag = %s is shorter than the interval %s, so the standby would always read as behind; give at least the interval, or remove it for 3 × interval.",
					v, s.Interval)
			}
			s.MaxLag = v
		}
	}
}

// checkStandby runs the checks that need the whole application.
func (l *loader) checkStandby(a *Application) {
	if a.Standby != nil && len(a.Copies) == 0 {
		l.errorf(a.Standby.Range, "Standby without copy sets",
			"Application %q has a standby block but no copy blocks, so the schedule would have nothing to keep warm. Add a copy block or remove the standby.", a.Name)
	}
	e := a.Emergency
	if e == nil {
		return
	}
	if a.Cutover == nil {
		l.errorf(e.Range, "Emergency without cutover",
			"Application %q has an emergency block but no cutover: a failover runs the cutover's steps and checks. Add a cutover block.", a.Name)
	}
	if a.Standby == nil {
		l.errorf(e.Range, "Emergency without standby",
			"Application %q has an emergency block but no standby: a failover starts from the standby's last verified copy. Add standby { interval = \"15m\" }.", a.Name)
	}
}
