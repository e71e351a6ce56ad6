package chaos

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards TCP connections from a loopback port to an upstream
// address, counting the bytes the client sends. CutAt arms a one-shot
// fault: once that many client bytes (over all connections) have passed
// since arming, every open connection is dropped at once, as when a link
// fails; later connections are forwarded normally.
type Proxy struct {
	ln       net.Listener
	upstream atomic.Pointer[string]
	sent     atomic.Int64 // client → upstream bytes since start
	cutAt    atomic.Int64 // absolute sent count that triggers the cut; 0 = none
	cuts     atomic.Int64
	held     atomic.Bool

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy listens on a free 127.0.0.1 port and forwards to upstream.
func NewProxy(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen on loopback: %w", err)
	}
	p := &Proxy{ln: ln, conns: map[net.Conn]struct{}{}}
	p.SetUpstream(upstream)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address (127.0.0.1:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is the proxy's listening port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// SetUpstream points new connections at another address (a restarted
// sshd on a new port keeps the address clients know).
func (p *Proxy) SetUpstream(addr string) { p.upstream.Store(&addr) }

// Sent is the number of bytes clients sent upstream so far.
func (p *Proxy) Sent() int64 { return p.sent.Load() }

// Cuts is how often CutAt fired.
func (p *Proxy) Cuts() int64 { return p.cuts.Load() }

// CutAt drops all connections once n more client bytes have passed.
func (p *Proxy) CutAt(n int64) { p.cutAt.Store(p.sent.Load() + n) }

// Hold stops (true) or resumes (false) forwarding client bytes: a copy
// stands still mid-transfer, however loaded the machine, until released.
func (p *Proxy) Hold(on bool) { p.held.Store(on) }

// Close stops accepting and drops every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.dropAll()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", *p.upstream.Load())
		if err != nil {
			c.Close()
			continue
		}
		p.track(c, up)
		p.wg.Add(2)
		go p.pipe(up, c, true)
		go p.pipe(c, up, false)
	}
}

func (p *Proxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

// pipe copies src to dst; counted marks the client → upstream direction.
// EOF half-closes dst so the other direction can finish; any other end
// closes both connections.
func (p *Proxy) pipe(dst, src net.Conn, counted bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for counted && p.held.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 {
			if counted && p.count(int64(n)) {
				p.dropAll()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				p.untrack(dst, src)
				return
			}
		}
		if errors.Is(err, io.EOF) {
			if tc, ok := dst.(*net.TCPConn); ok && tc.CloseWrite() == nil {
				return
			}
		}
		if err != nil {
			p.untrack(dst, src)
			return
		}
	}
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
}

// count adds n sent bytes and reports whether the armed cut fires now.
func (p *Proxy) count(n int64) bool {
	total := p.sent.Add(n)
	at := p.cutAt.Load()
	if at == 0 || total < at || !p.cutAt.CompareAndSwap(at, 0) {
		return false
	}
	p.cuts.Add(1)
	return true
}

func (p *Proxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}
