package plans

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

var failbackSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "from_undo"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: KindStep, LabelNames: []string{"name"}},
		{Type: KindFinalSync},
		{Type: KindCheck, LabelNames: []string{"name"}},
	},
}

// decodeFailbackBlock reads a failback block: from_undo, or step,
// final_sync and check blocks in the order they run.
func (l *loader) decodeFailbackBlock(b *hcl.Block, app *Application) *Failback {
	fb := &Failback{Range: b.DefRange}
	content, d := b.Body.Content(failbackSchema)
	l.diags = append(l.diags, d...)
	if a := content.Attributes["from_undo"]; a != nil {
		fb.FromUndo, _ = l.boolean(a, "from_undo")
	}
	names := map[string]hcl.Range{}
	syncs := 0
	for _, cb := range content.Blocks {
		if cb.Type == KindFinalSync {
			if syncs++; syncs > 1 {
				l.errorf(cb.DefRange, "Duplicate final_sync", "The failback of %q has a final_sync already; the copy back runs once.", app.Name)
				continue
			}
			fb.Blocks = append(fb.Blocks, &Block{Kind: KindFinalSync, Name: KindFinalSync, Range: cb.DefRange})
			continue
		}
		name := cb.Labels[0]
		if prev, dup := names[name]; dup {
			l.errorf(cb.LabelRanges[0], fmt.Sprintf("Duplicate %s %q", cb.Type, name),
				"The failback of %q already has a step or check %q at %s; names must be unique within a failback.", app.Name, name, shortRange(prev))
			continue
		}
		names[name] = cb.DefRange
		fb.Blocks = append(fb.Blocks, l.decodeCutoverStep(cb))
	}
	switch {
	case fb.FromUndo && len(fb.Blocks) > 0:
		l.errorf(fb.Blocks[0].Range, "Failback with from_undo and blocks",
			"The failback of %q sets from_undo = true and declares its own blocks; use one of the two: from_undo derives the reverse steps from the cutover's undo commands.", app.Name)
	case !fb.FromUndo && len(fb.Blocks) == 0:
		l.errorf(b.DefRange, "Empty failback",
			"The failback of %q declares nothing; set from_undo = true or declare its step, final_sync and check blocks like in cutover.", app.Name)
	case !fb.FromUndo && syncs == 0 && len(app.Copies) > 0:
		l.errorf(b.DefRange, "Failback without final_sync",
			"The failback of %q has no final_sync {}, so changes made at the partner after the copy back starts would be lost; add one after the steps that stop the application at the partner.", app.Name)
	}
	return fb
}

// checkFailback: from_undo needs a cutover whose every step can be undone.
func (l *loader) checkFailback(a *Application) {
	fb := a.Failback
	if fb == nil || !fb.FromUndo {
		return
	}
	if a.Cutover == nil {
		l.errorf(fb.Range, "from_undo without cutover",
			"The failback of %q derives its steps from the cutover's undo commands, but the application has no cutover; declare the failback steps instead.", a.Name)
		return
	}
	for _, b := range a.Cutover.Blocks {
		if b.Kind == KindStep && b.Undo == "" {
			l.errorf(b.Range, "Step without undo for failback",
				"The failback of %q sets from_undo = true, but step %q has no undo, so its reverse is unknown; give it an undo or declare the failback steps.", a.Name, b.Name)
		}
	}
}
