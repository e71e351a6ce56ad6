package activities

import (
	"context"
	"time"
)

// connPool returns the activities' pool, created on first use; nil when
// pooling is off (Pool.IdleTimeout 0; umzug worker turns it on). sshd keeps
// serving a connection opened before the host's key changed, so the
// workflows name every wait in Host.ConnSince and the pool lends nothing
// opened before a wait to an activity after it.
func (a *Activities) connPool() *connPool {
	if a.Pool.IdleTimeout <= 0 {
		return nil
	}
	a.poolMu.Lock()
	defer a.poolMu.Unlock()
	if a.pool == nil {
		a.pool = newConnPool(a.Pool)
	}
	return a.pool
}

// Close closes the idle connections of the pool and ends the started
// agents (copy_agent_pool.go); connections still lent out are closed when
// their activities give them back. The worker calls it when it stops.
func (a *Activities) Close() error {
	a.poolMu.Lock()
	p := a.pool
	a.poolMu.Unlock()
	if p != nil {
		p.close()
	}
	a.agentMu.Lock()
	ap := a.agents
	a.agentMu.Unlock()
	if ap != nil {
		ap.close()
	}
	return nil
}

// release gives c back to the pool for the next activity, or closes it: a
// connection whose activity ended by cancellation or timeout may have
// requests still in flight on it, and one that failed or was closed is
// broken. Safe with nil.
func (a *Activities) release(ctx context.Context, c *Conn) {
	if c == nil {
		return
	}
	if c.pool == nil || ctx.Err() != nil {
		c.Close()
		return
	}
	c.pool.put(c)
}

// adopt makes c a pooled connection: the pool learns when it ends. start
// is when the dial that verified its host key began.
func (c *Conn) adopt(p *connPool, key string, start time.Time) {
	c.pool, c.poolKey, c.dialedAt = p, key, start
	go func() {
		c.Client.Wait()
		c.markBroken()
	}()
}

// markBroken keeps c from ever going back into the pool.
func (c *Conn) markBroken() { c.broken.Store(true) }

func (c *Conn) isBroken() bool { return c.broken.Load() }
