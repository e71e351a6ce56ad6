package plans

import "github.com/hashicorp/hcl/v2"

// decodeEmergencyBlock reads an emergency block into app: who may press
// the failover button and how soon a second of them must confirm.
func (l *loader) decodeEmergencyBlock(b *hcl.Block, app *Application) {
	if app.Emergency != nil {
		l.errorf(b.DefRange, "Duplicate emergency block",
			"Application %q already has an emergency block at %s.", app.Name, shortRange(app.Emergency.Range))
		return
	}
	e := &Emergency{Range: b.DefRange}
	app.Emergency = e
	content, d := b.Body.Content(emergencySchema)
	l.diags = append(l.diags, d...)
	attrs := content.Attributes
	if a := attrs["approvers"]; a != nil {
		var ok bool
		if e.Approvers, ok = l.identityList(a, "approvers"); ok && len(e.Approvers) < 2 {
			l.errorf(a.Expr.Range(), "Too few emergency approvers",
				"emergency approvers lists %d name(s); a failover needs one approver to start it and a different one to confirm it, so list at least two.",
				len(e.Approvers))
		}
	}
	if a := attrs["confirm_within"]; a != nil {
		if v, ok := l.duration(a, "confirm_within"); ok {
			if v <= 0 {
				l.errorf(a.Expr.Range(), "Invalid confirm_within",
					"confirm_within must be longer than zero: it is how long the second emergency approver has to confirm a failover, like \"2h\".")
			}
			e.ConfirmWithin = v
		}
	}
	if a := attrs["signers"]; a != nil {
		e.Signers = l.signers(a, e.Approvers)
	}
}
