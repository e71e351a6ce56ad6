package activities

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
)

// endpoint is one side of a copy: a primary SSH connection (SFTP for the
// walk and metadata, exec for sha256sum) and, once there is data to move,
// more connections that share the file streams.
type endpoint struct {
	a       *Activities
	ctx     context.Context // the activity's: its end keeps connections out of the pool
	host    Host
	name    string
	want    int
	primary *sftp.Client
	run     Runner

	mu    sync.RWMutex
	conns []*Conn
	cls   []*sftp.Client
	// aborted is set by abort: a connection that grow brings up later is
	// closed at once rather than used.
	aborted bool

	growOnce sync.Once
	growWG   sync.WaitGroup
	grown    chan struct{} // closed when grow has finished dialing

	tarOnce sync.Once
	tar     bool // GNU tar runs over exec (copy_batch_stream.go)
	// noPlacer: the host has no python3 to rename a batch's files in
	// one process (copy_batch_place.go); SFTP renames them.
	noPlacer atomic.Bool
	// noLander: the host cannot land a batch in one python3 process
	// (copy_batch_land.go); its tar lands batches.
	noLander atomic.Bool

	toolMu    sync.Mutex
	tool      sumTool
	toolKnown bool
}

// sumTool says how a host can hash files itself.
type sumTool struct {
	sum       bool // sha256sum exists
	xargs     bool // xargs exists: paths go over stdin, NUL-separated
	noOpenSSL bool // openssl hashed nothing: use sha256sum only
}

func (ep *endpoint) getTool() (sumTool, bool) {
	ep.toolMu.Lock()
	defer ep.toolMu.Unlock()
	return ep.tool, ep.toolKnown
}

func (ep *endpoint) setTool(t sumTool) {
	ep.toolMu.Lock()
	defer ep.toolMu.Unlock()
	ep.tool, ep.toolKnown = t, true
}

// openEndpoint connects to a host; onConn (if set) is called with the
// first connection as soon as it is up, before its SFTP session starts.
func (a *Activities) openEndpoint(ctx context.Context, h Host, want int, onConn func(*Conn)) (*endpoint, error) {
	ep := &endpoint{a: a, ctx: ctx, host: h, name: hostLabel(h), want: want, grown: make(chan struct{})}
	c, cl, err := ep.dialOne(ctx, onConn)
	if err != nil {
		return nil, err
	}
	ep.primary, ep.run = cl, c
	ep.conns, ep.cls = []*Conn{c}, []*sftp.Client{cl}
	return ep, nil
}

func (ep *endpoint) dialOne(ctx context.Context, onConn func(*Conn)) (*Conn, *sftp.Client, error) {
	c, err := ep.a.dial(ctx, ep.host)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s for copying: %w", ep.name, err)
	}
	if onConn != nil {
		onConn(c)
	}
	// Opening the SFTP session waits for the host without a context: on
	// a hung link only closing the connection ends it.
	stop := context.AfterFunc(ctx, func() { c.Client.Close() })
	cl, err := c.SFTP()
	if !stop() {
		c.Client.Close()
		return nil, nil, fmt.Errorf("open SFTP session on %s (%s): %w", ep.name, ep.host.Address, ctx.Err())
	}
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("open SFTP session on %s (%s): %w; the host must offer the sftp subsystem", ep.name, ep.host.Address, err)
	}
	return c, cl, nil
}

// grow dials the remaining connections in the background, once; streams
// use them as they come up. A failure only costs parallelism.
func (ep *endpoint) grow(ctx context.Context) {
	ep.growOnce.Do(func() {
		for range ep.want - 1 {
			ep.growWG.Go(func() {
				c, cl, err := ep.dialOne(ctx, nil)
				if err != nil {
					return
				}
				ep.mu.Lock()
				defer ep.mu.Unlock()
				if ep.aborted {
					c.markBroken()
					c.Client.Close()
					return
				}
				ep.conns = append(ep.conns, c)
				ep.cls = append(ep.cls, cl)
			})
		}
		go func() { ep.growWG.Wait(); close(ep.grown) }()
	})
}

// waitGrown starts growing if needed and waits until every connection is
// up (or failed): a big file is striped over the connections present when
// it starts, so it should not start on the primary alone.
func (ep *endpoint) waitGrown(ctx context.Context) {
	ep.grow(ctx)
	select {
	case <-ep.grown:
	case <-ctx.Done():
	}
}

// clients returns the SFTP clients available now (at least the primary).
func (ep *endpoint) clients() []*sftp.Client {
	ep.mu.RLock()
	defer ep.mu.RUnlock()
	return ep.cls[:len(ep.cls):len(ep.cls)]
}

// close gives the connections back to the pool after a copy that ended on
// its own, and closes them after an abort (a hung link) or the end of the
// activity (requests may still be in flight): such a connection must
// never be lent again.
func (ep *endpoint) close() {
	if ep == nil {
		return
	}
	ep.growWG.Wait()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	keep := !ep.aborted && ep.ctx.Err() == nil
	for _, c := range ep.conns {
		if keep {
			ep.a.release(ep.ctx, c)
			continue
		}
		// The SSH connection first: closing an SFTP client waits for its
		// server's answer, which a hung link never brings.
		c.Client.Close()
		c.Close()
	}
	ep.conns = nil
}

// abort closes every connection now, without waiting for dials in
// progress: requests blocked on a hung connection return at once.
func (ep *endpoint) abort() {
	if ep == nil {
		return
	}
	ep.mu.Lock()
	ep.aborted = true
	conns := append([]*Conn(nil), ep.conns...)
	ep.mu.Unlock()
	for _, c := range conns {
		c.markBroken()
		c.Client.Close()
	}
}

// aliveTimeout bounds a keepalive round trip.
const aliveTimeout = 10 * time.Second

// alive reports whether the primary connection answers a keepalive.
func (ep *endpoint) alive() bool {
	ep.mu.RLock()
	if len(ep.conns) == 0 { // closed: nothing left to stall
		ep.mu.RUnlock()
		return true
	}
	c := ep.conns[0]
	ep.mu.RUnlock()
	res := make(chan error, 1)
	go func() {
		_, _, err := c.Client.SendRequest("keepalive@openssh.com", true, nil)
		res <- err
	}()
	select {
	case err := <-res:
		return err == nil
	case <-time.After(aliveTimeout):
		return false
	}
}
