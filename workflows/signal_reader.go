package workflows

import (
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// readSignals hands every signal name to handle for the whole run: a
// coroutine on dctx (the run's detached context) receives them as they
// come, and the drainer appended to drainers takes one still buffered
// when the run completes or continues as new, so none is lost. Signals
// are received raw, so handle sees every one, a malformed or huge one
// too (the SDK would drop one it cannot decode without a trace), and
// decides itself what of it to keep (decodeBounded).
func readSignals(ctx, dctx workflow.Context, name, desc string, drainers *[]func() bool, handle func(converter.RawValue)) {
	ch := workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: desc})
	workflow.Go(dctx, func(gctx workflow.Context) {
		for {
			var p converter.RawValue
			ch.Receive(gctx, &p)
			handle(p)
		}
	})
	*drainers = append(*drainers, func() bool {
		var p converter.RawValue
		if !ch.ReceiveAsync(&p) {
			return false
		}
		handle(p)
		return true
	})
}
