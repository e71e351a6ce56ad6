package activities

import (
	"context"
	"fmt"
)

// ProbeHost opens one verified SSH connection to h and closes it. A
// failover asks it whether the source still answers before it decides to
// run the source's steps and the last delta. It dials afresh: a pooled
// connection proves only that the host answered before.
func (a *Activities) ProbeHost(ctx context.Context, h Host) (ProbeResult, error) {
	c, err := a.dialFresh(ctx, h)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("%s (%s) does not answer: %w", hostLabel(h), h.Address, err)
	}
	defer c.Close()
	return ProbeResult{Host: hostLabel(h), Fingerprint: c.Fingerprint}, nil
}
