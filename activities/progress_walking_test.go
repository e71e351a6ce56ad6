package activities

import "testing"

// TestProgressWalking: heartbeats say whether the walk still discovers
// work, so a reader shows the totals as found so far, not as final.
func TestProgressWalking(t *testing.T) {
	p := newProgress("data", "seed")
	p.bytesTotal.Store(200 << 20)
	if s := p.snapshot(); !s.Walking || s.ETASeconds != 0 {
		t.Fatalf("during the walk: %+v", s)
	}
	p.walkDone.Store(true)
	if s := p.snapshot(); s.Walking {
		t.Fatalf("after the walk: %+v", s)
	}
}
