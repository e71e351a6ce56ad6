package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/umzug-dev/umzug/internal/agentdeploy"
)

// The worker's started agents: one per login (host, user, key checking,
// become, agent_path), each on an SSH connection of its own that the
// connection pool never lends, shared by every CopyTree, EstimateDelta
// and re-hash that reaches the host. An agent nobody used for the pool's
// idle timeout is ended; one whose session ended (a cut link, a stall
// that closed it) is forgotten and the next call starts another, so a
// broken session never serves a later call. Activities.Close ends all.

// agentEntry is one login's agent, or its start under way.
type agentEntry struct {
	key   string
	ready chan struct{}
	conn  *Conn
	agent *agentdeploy.Agent
	err   error
	// users and last are guarded by agentPool.mu.
	users int
	last  time.Time
}

// alive tells whether the agent still serves calls.
func (e *agentEntry) alive() bool {
	if e.err != nil || e.conn.isBroken() {
		return false
	}
	select {
	case <-e.agent.Done():
		return false
	default:
		return true
	}
}

// end closes the agent and its connection.
func (e *agentEntry) end() {
	if e.agent != nil {
		e.agent.Close()
	}
	if e.conn != nil {
		e.conn.Close()
	}
}

// agentPool holds the started agents of an Activities.
type agentPool struct {
	mu      sync.Mutex
	entries map[string]*agentEntry
	starts  int // agents started, for tests
}

// agentLease is an agent lent to one activity; release gives it back.
type agentLease struct {
	*agentdeploy.Agent
	conn   *Conn // the agent's own connection
	e      *agentEntry
	p      *agentPool
	reused bool
	once   sync.Once
	idle   time.Duration
}

// release ends the lease; the agent stays for the next activity and ends
// after the idle timeout unless one takes it.
func (l *agentLease) release() {
	if l == nil {
		return
	}
	l.once.Do(func() {
		p, e := l.p, l.e
		p.mu.Lock()
		e.users--
		e.last = time.Now()
		p.mu.Unlock()
		time.AfterFunc(l.idle, func() { p.expire(e, l.idle) })
	})
}

// kill ends the agent and its connection now (a stalled copy): later
// calls start another.
func (l *agentLease) kill() {
	if l == nil {
		return
	}
	l.conn.markBroken()
	l.conn.Client.Close() // ends the calls in flight; the agent's Wait closes it
	p, e := l.p, l.e
	p.mu.Lock()
	if p.entries[e.key] == e {
		delete(p.entries, e.key)
	}
	p.mu.Unlock()
}

// agentStarts counts the agents a started (tests).
func (a *Activities) agentStarts() int {
	p := a.agentPool()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

func (a *Activities) agentPool() *agentPool {
	a.agentMu.Lock()
	defer a.agentMu.Unlock()
	if a.agents == nil {
		a.agents = &agentPool{entries: map[string]*agentEntry{}}
	}
	return a.agents
}

// agentFor lends the agent of h's login, starting it (on a connection of
// its own) when there is none or the last one's session ended. An
// error matching agentdeploy.ErrNoExec says the host runs no commands.
func (a *Activities) agentFor(ctx context.Context, h Host) (*agentLease, error) {
	p := a.agentPool()
	key := poolKey(a.dialer(), h) + fmt.Sprintf("|agent_path %q", h.AgentPath)
	idle := a.Pool.idleTimeout()
	if idle < 0 {
		idle = DefaultPoolIdleTimeout
	}
	for {
		p.mu.Lock()
		e := p.entries[key]
		if e == nil {
			e = &agentEntry{key: key, ready: make(chan struct{})}
			e.users++
			p.entries[key] = e
			p.starts++
			p.mu.Unlock()
			a.startAgent(ctx, e, h)
			if e.err != nil {
				p.forget(e)
				return nil, e.err
			}
			a.Options.tracef("agent %s on %s (started, uploaded %v)", e.agent.Path, hostLabel(h), e.agent.Uploaded)
			return &agentLease{Agent: e.agent, conn: e.conn, e: e, p: p, idle: idle}, nil
		}
		e.users++
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			p.mu.Lock()
			e.users--
			p.mu.Unlock()
			return nil, ctx.Err()
		}
		if e.alive() {
			a.Options.tracef("agent %s on %s (reused)", e.agent.Path, hostLabel(h))
			return &agentLease{Agent: e.agent, conn: e.conn, e: e, p: p, reused: true, idle: idle}, nil
		}
		p.mu.Lock()
		e.users--
		p.mu.Unlock()
		if e.err != nil {
			return nil, e.err // the start this call waited for failed
		}
		p.forget(e) // the session ended: start another
	}
}

// startAgent dials e's own connection and starts the agent on it. Whether
// the host runs commands at all is asked first, by a probe whose answer
// is unambiguous; only a host that does not is ErrNoExec.
func (a *Activities) startAgent(ctx context.Context, e *agentEntry, h Host) {
	defer close(e.ready)
	c, err := a.dialFresh(ctx, h)
	if err != nil {
		e.err = err
		return
	}
	e.conn = c
	runs, err := runsCommands(ctx, c)
	if err != nil {
		e.err = fmt.Errorf("ask %s whether it runs commands for the agent: %w", hostLabel(h), err)
		return
	}
	if !runs {
		e.err = fmt.Errorf("agent on %s: %w (an SFTP-only login)", hostLabel(h), agentdeploy.ErrNoExec)
		return
	}
	e.agent, e.err = agentdeploy.Start(ctx, c.Client, agentdeploy.Options{
		Host: hostLabel(h), Locator: agentdeploy.Locator{Dir: a.AgentDir}, AgentPath: h.AgentPath,
		Sudo: h.Sudo(), Home: a.AgentHome,
	})
	if errors.Is(e.err, agentdeploy.ErrNoExec) {
		// The probe ran a command: this host runs commands, so the
		// agent's failure is an error, not a reason to fall back.
		e.err = fmt.Errorf("agent on %s: %s", hostLabel(h), e.err)
	}
	if e.err == nil {
		go func() {
			c.Client.Wait()
			e.agent.Close()
		}()
	}
}

// forget removes e from the pool (when it is still there) and ends it.
func (p *agentPool) forget(e *agentEntry) {
	p.mu.Lock()
	if p.entries[e.key] == e {
		delete(p.entries, e.key)
	}
	p.mu.Unlock()
	e.end()
}

// expire ends e when nobody used it for idle.
func (p *agentPool) expire(e *agentEntry, idle time.Duration) {
	p.mu.Lock()
	stale := e.users == 0 && time.Since(e.last) >= idle && p.entries[e.key] == e
	if stale {
		delete(p.entries, e.key)
	}
	p.mu.Unlock()
	if stale {
		e.end()
	}
}

// close ends every agent.
func (p *agentPool) close() {
	p.mu.Lock()
	es := p.entries
	p.entries = map[string]*agentEntry{}
	p.mu.Unlock()
	for _, e := range es {
		<-e.ready
		e.end()
	}
}
