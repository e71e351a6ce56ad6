package activities

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// hangGuard is how long a copy on a hung link may take to return once its
// attempt has ended; reaching it means the copy hangs.
const hangGuard = time.Minute

// copyReturns runs CopyTree and fails the test if it has not returned
// within hangGuard.
func copyReturns(t *testing.T, a *Activities, ctx context.Context, in CopyInput) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := a.CopyTree(ctx, in)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("CopyTree did not return within %s of a hung link ending its attempt", hangGuard)
		return nil
	}
}

// freezeOnSecondDial is a dialer whose second dial to addr completes the
// SSH handshake and then freezes the link, so that the engine's extra
// connection hangs while its SFTP session opens. The handshake runs
// without the copy's context, so the watchdog cannot end it first.
type freezeOnSecondDial struct {
	addr   string
	proxy  *freezeProxy
	mu     sync.Mutex
	n      int
	frozen chan struct{}
}

func (d *freezeOnSecondDial) Dial(ctx context.Context, h Host) (*Conn, error) {
	if h.Address != d.addr {
		return DefaultDialer{}.Dial(ctx, h)
	}
	d.mu.Lock()
	d.n++
	second := d.n == 2
	d.mu.Unlock()
	if !second {
		return DefaultDialer{}.Dial(ctx, h)
	}
	c, err := DefaultDialer{}.Dial(context.WithoutCancel(ctx), h)
	d.proxy.freeze(true)
	close(d.frozen)
	return c, err
}

// When the link hangs while an extra connection is opening its SFTP
// session, the no-progress bound still ends the attempt: the opening
// connection is closed with the others instead of being waited for.
func TestCopyTreeReturnsWhenExtraConnHangsOpening(t *testing.T) {
	f := newCopyFixture(t)
	f.classicOnly(t, "the agent engine opens one connection per host, no extra ones (TestCopyTreeAgentReturnsOnHungLink)")
	var proxy *freezeProxy
	f.src, proxy = proxied(t, f.src)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(4, 4<<20), 0o644, time.Unix(1700000000, 0))
	d := &freezeOnSecondDial{addr: f.src.Address, proxy: proxy, frozen: make(chan struct{})}
	f.a.Dialer = d
	f.a.Options.NoProgress = 300 * time.Millisecond
	f.a.Options.Conns = 2
	// The file is opened only once the link is frozen.
	f.a.hooks.beforeCopy = func(string) { <-d.frozen }

	err := copyReturns(t, f.a, context.Background(), f.input(CopySet{Concurrency: 1}))
	if err == nil || !strings.Contains(err.Error(), "no progress for 300ms") {
		t.Fatalf("want the no-progress failure, got %v", err)
	}
	// The failed copy's goroutines may still read its Activities: the
	// retry gets its own.
	f.a = &Activities{IdentStateDir: f.a.IdentStateDir, CopyEngine: CopyEngineClassic}
	proxy.freeze(false)
	f.copy(t, f.input(CopySet{Concurrency: 1}))
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}
}

// A copy whose activity is cancelled while its link hangs returns: SFTP
// requests take no context, so the no-progress bound still closes the
// connections after the cancel.
func TestCopyTreeReturnsWhenCancelledOnHungLink(t *testing.T) {
	f := newCopyFixture(t)
	var proxy *freezeProxy
	f.src, proxy = proxied(t, f.src)
	writeFile(t, filepath.Join(f.srcRoot, "big.bin"), randBytes(5, 4<<20), 0o644, time.Unix(1700000000, 0))
	f.a.Options.NoProgress = 300 * time.Millisecond
	f.a.Options.Conns = 1
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the file's open request is held by the frozen link.
	f.a.hooks.beforeCopy = func(string) {
		proxy.freeze(true)
		go func() { <-proxy.holding(); cancel() }()
	}
	defer func() { f.a.Options.Conns, f.a.hooks.beforeCopy = 0, nil }()

	if err := copyReturns(t, f.a, ctx, f.input(CopySet{Concurrency: 1})); err == nil {
		t.Fatal("a cancelled copy reported success")
	}
}
