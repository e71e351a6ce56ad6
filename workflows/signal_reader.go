package workflows

import "go.temporal.io/sdk/workflow"

// readSignals hands every signal name to handle for the whole run: a
// coroutine on dctx (the run's detached context) receives them as they
// come, and the drainer appended to drainers takes one still buffered
// when the run completes or continues as new, so none is lost.
func readSignals[T any](ctx, dctx workflow.Context, name, desc string, drainers *[]func() bool, handle func(T)) {
	ch := workflow.GetSignalChannelWithOptions(ctx, name, workflow.SignalChannelOptions{Description: desc})
	workflow.Go(dctx, func(gctx workflow.Context) {
		for {
			var p T
			ch.Receive(gctx, &p)
			handle(p)
		}
	})
	*drainers = append(*drainers, func() bool {
		var p T
		if !ch.ReceiveAsync(&p) {
			return false
		}
		handle(p)
		return true
	})
}
