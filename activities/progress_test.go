package activities

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/internal/treecmp"

	"github.com/umzug-dev/umzug/activities/contract"
)

// freezeProxy forwards TCP connections to addr until frozen; then it holds
// every byte in both directions, as a hung link or a server whose reads
// block does, without closing anything.
type freezeProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen bool
	thaw   chan struct{}
	conns  []net.Conn
	closed bool
	// held is closed once bytes are held since the last freeze: a
	// request is then in flight on the hung link.
	held     chan struct{}
	heldOnce *sync.Once
}

func startFreezeProxy(t *testing.T, addr string) *freezeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, thaw: make(chan struct{}), held: make(chan struct{}), heldOnce: new(sync.Once)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, u) {
				return
			}
			go p.pipe(c, u)
			go p.pipe(u, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.freeze(false)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.closed = true
		for _, c := range p.conns {
			c.Close()
		}
	})
	return p
}

// track records a proxied connection pair for the cleanup, or closes it
// if the cleanup has already run.
func (p *freezeProxy) track(c, u net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		u.Close()
		return false
	}
	p.conns = append(p.conns, c, u)
	return true
}

// holding is closed once the proxy holds bytes after the last freeze.
func (p *freezeProxy) holding() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

func (p *freezeProxy) Addr() string { return p.ln.Addr().String() }

func (p *freezeProxy) freeze(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.frozen {
		return
	}
	p.frozen = on
	if on {
		p.thaw = make(chan struct{})
		p.held, p.heldOnce = make(chan struct{}), new(sync.Once)
	} else {
		close(p.thaw)
	}
}

func (p *freezeProxy) gate() {
	p.mu.Lock()
	frozen, thaw, held, once := p.frozen, p.thaw, p.held, p.heldOnce
	p.mu.Unlock()
	if frozen {
		once.Do(func() { close(held) })
		<-thaw
	}
}

func (p *freezeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.gate()
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			return
		}
	}
}

// proxied points h at a proxy in front of it, pinning the same host key
// for the proxy's address.
func proxied(t *testing.T, h Host) (Host, *freezeProxy) {
	t.Helper()
	p := startFreezeProxy(t, h.Address)
	data, err := os.ReadFile(h.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	var add []string
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && strings.Contains(f[0], portOf(h.Address)) {
			_, port, _ := net.SplitHostPort(p.Addr())
			add = append(add, "[127.0.0.1]:"+port+" "+f[1]+" "+f[2])
		}
	}
	if len(add) == 0 {
		t.Fatalf("no known_hosts line for %s", h.Address)
	}
	if err := os.WriteFile(h.KnownHosts, []byte(string(data)+strings.Join(add, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.Address = p.Addr()
	return h, p
}

// A transfer that hangs (the source stops answering mid-file, without the
// connection breaking) fails after the no-progress bound with a
// retryable error, and the retry on fresh connections completes the copy.
func TestCopyTreeNoProgressFailsAttempt(t *testing.T) {
	f := newCopyFixture(t)
	var proxy *freezeProxy
	f.src, proxy = proxied(t, f.src)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(3, 9<<20), 0o644, time.Unix(1700000000, 0))
	writeFile(t, filepath.Join(f.srcRoot, "small"), []byte("x"), 0o644, time.Unix(1700000000, 0))
	f.a.Options.NoProgress = 300 * time.Millisecond
	f.a.hooks.beforeCopy = func(rel string) {
		if rel == "big.bin" {
			proxy.freeze(true)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := f.a.CopyTree(ctx, f.input(CopySet{Concurrency: 1}))
	f.a.hooks.beforeCopy = nil
	if ctx.Err() != nil {
		t.Fatalf("the hung copy was not ended by the no-progress bound: %v", err)
	}
	ae, ok := err.(*temporal.ApplicationError)
	if !ok || ae.Type() != contract.ErrNoProgress || ae.NonRetryable() {
		t.Fatalf("want a retryable %s ApplicationError, got %T %v", contract.ErrNoProgress, err, err)
	}
	wantAll(t, err.Error(), "no progress for 300ms copying ledger from fin_pb; retrying on a fresh connection")

	proxy.freeze(false)
	// The retry runs with the default bound: on a loaded machine 300ms
	// without progress happens on a healthy link too.
	f.a.Options.NoProgress = 0
	starts := 0
	if f.agentEngine() {
		starts = f.a.agentStarts()
	}
	f.copy(t, f.input(CopySet{Concurrency: 1}))
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	// The stall ended the copy's agent sessions: the retry started new
	// ones rather than calling the hung ones.
	if f.agentEngine() && f.a.agentStarts() == starts {
		t.Errorf("the retry after a stall reused the stalled agents (%d starts)", starts)
	}
}

// Remote hashing reports nothing until done; while it runs on live
// connections the copy is not stalled, however long it takes.
func TestRemoteHashIsNotAStall(t *testing.T) {
	p := newProgress("ledger", PhaseSeed)
	stalled := make(chan error, 1)
	p.alive = func() bool { return true }
	p.watchdog(50*time.Millisecond, "fin_pb", func(err error) { stalled <- err })
	done := p.remoteRun()
	stop := p.heartbeat(context.Background())
	r := progressRunner{r: sleepRunner(500 * time.Millisecond), p: p}
	if _, err := r.Run(context.Background(), "sha256sum big", nil, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	done()
	select {
	case err := <-stalled:
		t.Fatalf("a running remote hash counted as a stall: %v", err)
	default:
	}
	// Without the remote command and without progress: a stall.
	if err := <-stalled; !strings.Contains(err.Error(), "no progress for 50ms copying ledger from fin_pb") {
		t.Fatal(err)
	}
	stop()
}

type sleepRunner time.Duration

func (s sleepRunner) Run(ctx context.Context, _ string, _ io.Reader, stdout, _ io.Writer) (int, error) {
	time.Sleep(time.Duration(s))
	return 0, nil
}
