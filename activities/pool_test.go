package activities

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/chaos"
	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/testkit"
	"github.com/umzug-dev/umzug/internal/treecmp"
	"golang.org/x/crypto/ssh"
)

// countingDialer counts the dials per address and dials for real.
type countingDialer struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *countingDialer) Dial(ctx context.Context, h Host) (*Conn, error) {
	d.mu.Lock()
	if d.n == nil {
		d.n = map[string]int{}
	}
	d.n[h.Address]++
	d.mu.Unlock()
	return DefaultDialer{Timeout: 10 * time.Second}.Dial(ctx, h)
}

func (d *countingDialer) dials(addr string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[addr]
}

// Every activity of a move on one worker borrows the same connection per
// host: preflight, seed, estimate, final sync, a step on each host and a
// throughput sample dial each host once, and the copy is still exact. The
// agent engine adds one connection per host: the session of the one agent
// the worker starts there (copy_agent_pool.go), which seed, estimate and
// final sync share.
func TestPoolMoveActivitiesDialOncePerHost(t *testing.T) {
	f := newCopyFixture(t)
	f.a.Pool.IdleTimeout = DefaultPoolIdleTimeout
	d := &countingDialer{}
	f.a.Dialer = d
	f.a.Options.Conns = 1
	testkit.Tree{"a.txt": "alpha", "b/c.txt": "gamma", "b/d.txt": "delta", "e": "e", "f": "ff"}.Write(t, f.srcRoot)
	ctx := context.Background()
	set := f.input(CopySet{}).Set
	if _, err := f.a.Preflight(ctx, PreflightInput{MoveID: "m", Source: f.src, Target: f.dst, Copies: []CopySet{set}}); err != nil {
		t.Fatal(err)
	}
	f.copy(t, f.input(CopySet{}))
	if _, err := f.a.EstimateDelta(ctx, f.input(CopySet{})); err != nil {
		t.Fatal(err)
	}
	for _, h := range []Host{f.src, f.dst} {
		res, err := f.a.RunCommand(ctx, CommandInput{Host: h, Command: "true", Purpose: "step on " + h.Name})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("step on %s: %v, exit %d", h.Name, err, res.ExitCode)
		}
	}
	final := f.input(CopySet{})
	final.Phase, final.Delete = PhaseFinalSync, true
	f.copy(t, final)
	if _, err := f.a.SampleThroughput(ctx, f.src, f.srcRoot, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
	want := 1
	if f.agentEngine() {
		want = 2
		if n := f.a.agentStarts(); n != 2 {
			t.Errorf("%d agents started for seed, estimate and final sync on two hosts, want 2", n)
		}
	}
	for _, h := range []Host{f.src, f.dst} {
		if n := d.dials(h.Address); n != want {
			t.Errorf("%s was dialed %d times, want %d", h.Name, n, want)
		}
	}
}

// hostWithKey starts an SSH server with the given host key on addr
// ("127.0.0.1:0" for any port) that accepts client.
func hostWithKey(t *testing.T, addr string, hostKey, client ssh.Signer) *sshserver.Server {
	t.Helper()
	s, err := sshserver.Start(sshserver.Options{Addr: addr, HostKey: hostKey, AuthorizedKeys: []ssh.PublicKey{client.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// keyChange is a client key and a host's old and new keys.
type keyChange struct {
	dir      string
	client   ssh.Signer
	old, new ssh.Signer
}

func newKeyChange(t *testing.T) keyChange {
	t.Helper()
	k := keyChange{dir: t.TempDir()}
	var err error
	if k.client, err = sshserver.WriteKeyPair(filepath.Join(k.dir, "id")); err != nil {
		t.Fatal(err)
	}
	k.old, _, _ = sshserver.GenerateEd25519()
	k.new, _, _ = sshserver.GenerateEd25519()
	return k
}

// host is the host at addr, with a known_hosts that trusts the old key.
func (k keyChange) host(t *testing.T, addr string) Host {
	t.Helper()
	kh := filepath.Join(k.dir, "known_hosts")
	line := "[127.0.0.1]:" + portOf(addr) + " " + string(ssh.MarshalAuthorizedKey(k.old.PublicKey()))
	if err := sshserver.WriteKnownHosts(kh, line); err != nil {
		t.Fatal(err)
	}
	return Host{Name: "fin_lg", Address: addr, User: "u", IdentityFile: filepath.Join(k.dir, "id"), KnownHosts: kh}
}

// borrowAfter borrows a connection to h for an activity after the wait
// named since, and gives it back.
func borrowAfter(t *testing.T, a *Activities, h Host, since string) {
	t.Helper()
	h.ConnSince = since
	c, err := a.dial(context.Background(), h)
	if err != nil {
		t.Fatalf("borrow after wait %q: %v", since, err)
	}
	a.release(context.Background(), c)
}

// A host replaced by one with another key at the same address: the pooled
// connection to the old host is dropped and the next dial checks the new
// key against known_hosts and fails, naming the change.
func TestPoolChangedHostKeyFailsNextDial(t *testing.T) {
	k := newKeyChange(t)
	s1 := hostWithKey(t, "127.0.0.1:0", k.old, k.client)
	h := k.host(t, s1.Addr())
	a := &Activities{Pool: PoolOptions{IdleTimeout: DefaultPoolIdleTimeout, CheckTimeout: time.Second}}
	borrowAfter(t, a, h, "")
	if n := a.connPool().idleCount(); n != 1 {
		t.Fatalf("%d idle connections, want 1", n)
	}
	s1.Close()
	hostWithKey(t, h.Address, k.new, k.client)
	_, err := a.dial(context.Background(), h)
	var de *DialError
	if !errors.As(err, &de) || de.Kind != contract.ErrHostKeyChanged {
		t.Fatalf("dial after the host key changed: %v, want %s", err, contract.ErrHostKeyChanged)
	}
	if n := a.connPool().idleCount(); n != 0 {
		t.Fatalf("%d idle connections after the failed dial, want 0", n)
	}
}

// A host whose key changes while its old server keeps serving the
// connections it has (as sshd does after a restart): a pooled connection
// still answers, so only the wait name stops it. An activity carrying the
// name of a wait the pool has not seen logs in anew and meets the changed
// key; one carrying no name, or the name the old connection served, still
// borrows it.
func TestPoolLendsNothingFromBeforeAWait(t *testing.T) {
	k := newKeyChange(t)
	s1 := hostWithKey(t, "127.0.0.1:0", k.old, k.client)
	px, err := chaos.NewProxy(s1.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { px.Close() })
	h := k.host(t, px.Addr())
	d := &countingDialer{}
	a := &Activities{Dialer: d, Pool: PoolOptions{IdleTimeout: DefaultPoolIdleTimeout, CheckTimeout: time.Second}}
	borrowAfter(t, a, h, "run/1")
	s2 := hostWithKey(t, "127.0.0.1:0", k.new, k.client)
	px.SetUpstream(s2.Addr())
	borrowAfter(t, a, h, "run/1")
	borrowAfter(t, a, h, "")
	if n := d.dials(h.Address); n != 1 {
		t.Fatalf("%d dials before the wait, want 1: the pooled connection was not reused", n)
	}
	h.ConnSince = "run/2"
	_, err = a.dial(context.Background(), h)
	var de *DialError
	if !errors.As(err, &de) || de.Kind != contract.ErrHostKeyChanged {
		t.Fatalf("first activity after the wait: %v, want %s", err, contract.ErrHostKeyChanged)
	}
	if n := a.connPool().idleCount(); n != 1 {
		t.Fatalf("%d idle connections, want the old one kept for activities before the wait", n)
	}
}

// A full pool makes room by closing its least recently returned
// connection: after a wait, the new login is kept and shared, not closed
// in favour of one nobody may borrow any more.
func TestPoolFullKeepsTheNewLogin(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	d := &countingDialer{}
	a := &Activities{Dialer: d, Pool: PoolOptions{IdleTimeout: DefaultPoolIdleTimeout, IdlePerHost: 1}}
	borrowAfter(t, a, ts.host, "run/1")
	borrowAfter(t, a, ts.host, "run/2") // logs in anew; the pool holds one: the old one goes
	borrowAfter(t, a, ts.host, "run/2")
	borrowAfter(t, a, ts.host, "run/2")
	if n := d.dials(ts.host.Address); n != 2 {
		t.Errorf("%d logins, want 2: one before the wait, one after it shared", n)
	}
	if n := a.connPool().idleCount(); n != 1 {
		t.Errorf("%d idle connections, want 1", n)
	}
}

// Editing known_hosts (here: the host's key replaced by another) means the
// pool lends no connection verified against the old file: the next
// borrower dials, and the dial checks the key again.
func TestPoolEditedKnownHostsDialsAgain(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	a := &Activities{Pool: PoolOptions{IdleTimeout: DefaultPoolIdleTimeout}}
	ctx := context.Background()
	c, err := a.dial(ctx, ts.host)
	if err != nil {
		t.Fatal(err)
	}
	a.release(ctx, c)
	other, _, _ := sshserver.GenerateEd25519()
	line := "[127.0.0.1]:" + portOf(ts.host.Address) + " " + string(ssh.MarshalAuthorizedKey(other.PublicKey()))
	time.Sleep(10 * time.Millisecond) // a distinct mtime even on coarse clocks
	if err := sshserver.WriteKnownHosts(ts.host.KnownHosts, line); err != nil {
		t.Fatal(err)
	}
	_, err = a.dial(ctx, ts.host)
	var de *DialError
	if !errors.As(err, &de) || de.Kind != contract.ErrHostKeyChanged {
		t.Fatalf("dial after known_hosts changed: %v, want %s", err, contract.ErrHostKeyChanged)
	}
}

// An idle connection is closed after the idle timeout; the next borrower
// dials a new one.
func TestPoolIdleTimeoutClosesConnections(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	d := &countingDialer{}
	a := &Activities{Dialer: d, Pool: PoolOptions{IdleTimeout: 100 * time.Millisecond}}
	ctx := context.Background()
	c, err := a.dial(ctx, ts.host)
	if err != nil {
		t.Fatal(err)
	}
	a.release(ctx, c)
	closed := make(chan struct{})
	go func() { c.Client.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection is still open 10s after its 100ms idle timeout")
	}
	if n := a.connPool().idleCount(); n != 0 {
		t.Fatalf("%d idle connections, want 0", n)
	}
	c2, err := a.dial(ctx, ts.host)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2 == c || d.dials(ts.host.Address) != 2 {
		t.Fatalf("after the idle timeout: %d dials, same connection %v; want a second dial", d.dials(ts.host.Address), c2 == c)
	}
}

// A pooled connection whose link dropped, or that stops answering, is not
// lent again: the borrower gets a new, working connection.
func TestPoolBrokenConnectionIsNotReused(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	h, proxy := proxied(t, ts.host)
	d := &countingDialer{}
	a := &Activities{Dialer: d, Pool: PoolOptions{IdleTimeout: DefaultPoolIdleTimeout, CheckTimeout: 300 * time.Millisecond}}
	ctx := context.Background()
	borrow := func() *Conn {
		t.Helper()
		c, err := a.dial(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if code, err := c.Run(ctx, "true", nil, nil, nil); err != nil || code != 0 {
			t.Fatalf("run on a borrowed connection: %v, exit %d", err, code)
		}
		return c
	}
	c1 := borrow()
	a.release(ctx, c1)
	c1.Client.Close() // the link drops while the connection is idle
	c2 := borrow()
	if c2 == c1 || d.dials(h.Address) != 2 {
		t.Fatalf("a dropped connection was lent again (%d dials)", d.dials(h.Address))
	}
	a.release(ctx, c2)
	// The link hangs: the keepalive check fails, the connection is closed.
	proxy.freeze(true)
	start := time.Now()
	c3, err := a.connPool().get(ctx, d, h)
	proxy.freeze(false)
	if err == nil {
		defer c3.Close()
		if c3 == c2 {
			t.Fatal("a connection that did not answer was lent")
		}
	}
	if el := time.Since(start); el > time.Minute {
		t.Fatalf("borrowing on a hung link took %v", el)
	}
	if !c2.isBroken() || a.connPool().idleCount() != 0 {
		t.Fatalf("the connection that did not answer is still pooled")
	}
}

// A copy endpoint gives its connections back after a clean end and never
// after an abort (a hung link) or the end of its activity.
func TestPoolKeepsOnlyCleanEndpointConnections(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	a := &Activities{Pool: PoolOptions{IdleTimeout: DefaultPoolIdleTimeout}}
	ep, err := a.openEndpoint(context.Background(), ts.host, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep.close()
	if n := a.connPool().idleCount(); n != 1 {
		t.Fatalf("after a clean close: %d idle, want 1", n)
	}
	ep, err = a.openEndpoint(context.Background(), ts.host, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep.abort()
	ep.close()
	if n := a.connPool().idleCount(); n != 0 {
		t.Fatalf("after an abort: %d idle, want 0", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ep, err = a.openEndpoint(ctx, ts.host, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	ep.close()
	if n := a.connPool().idleCount(); n != 0 {
		t.Fatalf("after the activity ended: %d idle, want 0", n)
	}
}

// Closing the activities (the worker stops) closes the idle connections,
// and a connection given back later is closed instead of kept.
func TestPoolCloseClosesIdleConnections(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	a := &Activities{Pool: PoolOptions{IdleTimeout: DefaultPoolIdleTimeout}}
	ctx := context.Background()
	idle, err := a.dial(ctx, ts.host)
	if err != nil {
		t.Fatal(err)
	}
	lent, err := a.dial(ctx, ts.host)
	if err != nil {
		t.Fatal(err)
	}
	a.release(ctx, idle)
	a.Close()
	a.release(ctx, lent)
	for _, c := range []*Conn{idle, lent} {
		if _, _, err := c.Client.SendRequest("keepalive@openssh.com", true, nil); err == nil {
			t.Fatal("a connection is still open after Close")
		}
	}
	if n := a.connPool().idleCount(); n != 0 {
		t.Fatalf("%d idle connections after Close", n)
	}
}
