package activities

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Defaults of PoolOptions.
const (
	DefaultPoolIdleTimeout  = 60 * time.Second
	DefaultPoolIdlePerHost  = 8
	DefaultPoolCheckTimeout = 5 * time.Second
)

// poolMaxAge bounds how long after its login a connection is lent: the
// pool's memory of wait names (connPool.since) need not reach further back.
const poolMaxAge = 15 * time.Minute

// PoolOptions tune the worker's SSH connection pool. The activities of a
// move that run on one worker take their connections from it, so a move
// logs in to each host about once instead of once per activity.
type PoolOptions struct {
	// IdleTimeout closes a connection nobody used for this long; 0 or a
	// negative value turns pooling off (every activity dials and closes
	// its own connections). DefaultPoolIdleTimeout is a good value.
	IdleTimeout time.Duration
	// IdlePerHost caps the idle connections kept per login; beyond it
	// the least recently returned one is closed. 0 means DefaultPoolIdlePerHost. Open
	// connections are not capped: an activity holding one host's
	// connection while waiting for another's could otherwise deadlock.
	IdlePerHost int
	// CheckTimeout bounds the keepalive round trip that proves an idle
	// connection still answers before it is handed out; 0 means
	// DefaultPoolCheckTimeout.
	CheckTimeout time.Duration
}

func (o PoolOptions) idleTimeout() time.Duration {
	if o.IdleTimeout == 0 {
		return DefaultPoolIdleTimeout
	}
	return o.IdleTimeout
}

func (o PoolOptions) idlePerHost() int {
	if o.IdlePerHost <= 0 {
		return DefaultPoolIdlePerHost
	}
	return o.IdlePerHost
}

func (o PoolOptions) checkTimeout() time.Duration {
	if o.CheckTimeout <= 0 {
		return DefaultPoolCheckTimeout
	}
	return o.CheckTimeout
}

// connPool keeps verified SSH connections that activities have finished
// with, per login. A connection is lent to one activity at a time. Only
// connections are kept, never host-key decisions: a new connection is
// always made by the Dialer, which verifies the host key at every dial.
type connPool struct {
	opt    PoolOptions
	mu     sync.Mutex
	idle   map[string][]*idleConn
	closed bool
	// since maps the wait names of Host.ConnSince to when the pool first
	// saw them: connections dialed before that are not lent for them.
	since map[string]time.Time
}

type idleConn struct {
	c     *Conn
	timer *time.Timer
}

func newConnPool(o PoolOptions) *connPool {
	return &connPool{opt: o, idle: map[string][]*idleConn{}, since: map[string]time.Time{}}
}

// get lends an idle connection for h that still answers, or dials one.
func (p *connPool) get(ctx context.Context, d Dialer, h Host) (*Conn, error) {
	key := poolKey(d, h)
	notBefore := p.notBefore(h.ConnSince)
	for {
		c := p.take(key, notBefore)
		if c == nil {
			break
		}
		if p.answers(ctx, c) {
			return c, nil
		}
		c.Close()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	c, err := d.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	c.adopt(p, key, start)
	return c, nil
}

// notBefore is the earliest dial start a connection lent under the wait
// name may have: the time the pool first saw the name, so the first
// activity after a wait logs in anew and later ones share its login. It
// also drops names older than any connection that may still be lent.
func (p *connPool) notBefore(name string) time.Time {
	now := time.Now()
	min := now.Add(-poolMaxAge)
	if name == "" {
		return min
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.since[name]
	if !ok {
		for n, s := range p.since {
			if s.Before(min) {
				delete(p.since, n)
			}
		}
		t = now
		p.since[name] = t
	}
	return t
}

// take removes and returns the most recently used idle connection for key
// whose dial began at notBefore or later.
func (p *connPool) take(key string, notBefore time.Time) *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[key]
	for i := len(list) - 1; i >= 0; i-- {
		ic := list[i]
		if ic.c.dialedAt.Before(notBefore) {
			continue
		}
		p.setIdle(key, append(list[:i:i], list[i+1:]...))
		ic.timer.Stop()
		return ic.c
	}
	return nil
}

func (p *connPool) setIdle(key string, list []*idleConn) {
	if len(list) == 0 {
		delete(p.idle, key)
		return
	}
	p.idle[key] = list
}

// answers proves c is alive with a keepalive round trip, bounded by the
// check timeout and ctx: a half-open TCP connection would otherwise hang
// the first request of the activity that borrows it.
func (p *connPool) answers(ctx context.Context, c *Conn) bool {
	if c.isBroken() {
		return false
	}
	res := make(chan error, 1)
	go func() {
		_, _, err := c.Client.SendRequest("keepalive@openssh.com", true, nil)
		res <- err
	}()
	t := time.NewTimer(p.opt.checkTimeout())
	defer t.Stop()
	select {
	case err := <-res:
		return err == nil
	case <-t.C:
	case <-ctx.Done():
	}
	c.markBroken()
	return false
}

// put keeps c for the next activity, or closes it when it is broken, the
// pool is closed, or its login is older than poolMaxAge. A full pool
// closes its least recently returned connection instead.
func (p *connPool) put(c *Conn) {
	if c.isBroken() {
		c.Close()
		return
	}
	p.mu.Lock()
	list := p.idle[c.poolKey]
	if p.closed || time.Since(c.dialedAt) > poolMaxAge {
		p.mu.Unlock()
		c.Close()
		return
	}
	// Full: the connection given back longest ago goes. It may be one
	// that activities after a wait may no longer borrow.
	var evicted *idleConn
	if len(list) >= p.opt.idlePerHost() {
		evicted, list = list[0], list[1:]
		evicted.timer.Stop()
	}
	ic := &idleConn{c: c}
	ic.timer = time.AfterFunc(p.opt.idleTimeout(), func() { p.expire(c.poolKey, ic) })
	p.idle[c.poolKey] = append(list, ic)
	p.mu.Unlock()
	if evicted != nil {
		evicted.c.Close()
	}
}

// expire closes ic if it is still idle.
func (p *connPool) expire(key string, ic *idleConn) {
	p.mu.Lock()
	list := p.idle[key]
	found := false
	for i, x := range list {
		if x == ic {
			p.setIdle(key, append(list[:i:i], list[i+1:]...))
			found = true
			break
		}
	}
	p.mu.Unlock()
	if found {
		ic.c.Close()
	}
}

// idleCount is the number of idle connections kept for every login.
func (p *connPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.idle {
		n += len(l)
	}
	return n
}

// close closes every idle connection; connections lent out are closed
// when they come back.
func (p *connPool) close() {
	p.mu.Lock()
	p.closed = true
	var all []*idleConn
	for _, l := range p.idle {
		all = append(all, l...)
	}
	p.idle = map[string][]*idleConn{}
	p.mu.Unlock()
	for _, ic := range all {
		ic.timer.Stop()
		ic.c.Close()
	}
}

// poolKey names a login: everything that decides which server is reached,
// as whom, and how its key is checked (known_hosts path and the file's
// current version, so an edited file never lends a connection verified
// against its old contents), plus the dialer that made it and whether its
// SFTP session runs through sudo.
func poolKey(d Dialer, h Host) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%T", d)
	if v := reflect.ValueOf(d); v.Kind() == reflect.Pointer {
		fmt.Fprintf(&b, "@%x", v.Pointer())
	}
	for hop := &h; hop != nil; hop = hop.Jump {
		fmt.Fprintf(&b, "|%q %q %q %q %t %q %s", hop.Name, withDefaultPort(hop.Address), hop.User,
			hop.IdentityFile, hop.Agent, hop.KnownHosts, fileVersion(hop.KnownHosts))
	}
	// The SFTP session a connection caches runs as root on a become host.
	fmt.Fprintf(&b, "|become %q", h.Become)
	return b.String()
}

// fileVersion is a cheap stamp of a file's contents: size and mtime.
func fileVersion(p string) string {
	p, err := expandHome(p)
	if err != nil {
		return "?"
	}
	st, err := os.Stat(p)
	if err != nil {
		return "-"
	}
	return fmt.Sprintf("%d.%d", st.Size(), st.ModTime().UnixNano())
}
