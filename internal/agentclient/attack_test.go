//go:build linux

package agentclient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// TestAgentWritesNeverLeaveTheRoot: while a local user keeps swapping the
// target directory d for a symlink to a directory outside the root (and
// back), the agent writes files, directories and symlinks below d, 8 at
// a time. Nothing may appear outside the root; every write that
// succeeded is inside it.
func TestAgentWritesNeverLeaveTheRoot(t *testing.T) {
	for _, o := range []rootfs.Options{{}, {NoOpenat2: true, NoTmpfile: true}} {
		t.Run(fmt.Sprintf("openat2=%v", !o.NoOpenat2), func(t *testing.T) {
			base := t.TempDir()
			root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
			d := filepath.Join(root, "d")
			for _, p := range []string{d, outside} {
				if err := os.MkdirAll(p, 0755); err != nil {
					t.Fatal(err)
				}
			}
			c := startAgent(t, agentserver.Options{Root: o})
			ctx := context.Background()
			r, err := c.OpenRoot(ctx, root, agentproto.RoleTarget)
			if err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			var swaps int
			var awg sync.WaitGroup
			awg.Add(1)
			go func() {
				defer awg.Done()
				for !stop.Load() {
					if os.Rename(d, d+".held") != nil {
						continue
					}
					_ = os.Symlink(outside, d)
					time.Sleep(50 * time.Microsecond)
					_ = os.Remove(d)
					_ = os.Rename(d+".held", d)
					swaps++
					time.Sleep(50 * time.Microsecond)
				}
			}()
			var ok, refused, moved atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			// At least 400 ms, then until both outcomes occurred (10 s at most).
			going := func() bool {
				e := time.Since(start)
				return e < 400*time.Millisecond || ((ok.Load() == 0 || refused.Load() == 0) && e < 10*time.Second)
			}
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; going(); i++ {
						name := fmt.Sprintf("d/w%d-%d", w, i)
						var err error
						switch i % 3 {
						case 0:
							_, err = r.Write(ctx, name, strings.NewReader("payload"), WriteOptions{Meta: rootfs.Meta{SetMode: true, Mode: 0644}})
						case 1:
							err = r.Mkdir(ctx, name, 0755)
						case 2:
							err = r.Symlink(ctx, "x", name)
						}
						switch {
						case err == nil:
							ok.Add(1)
						case errors.Is(err, rootfs.ErrDirMoved):
							moved.Add(1)
							refused.Add(1)
						default:
							refused.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			stop.Store(true)
			awg.Wait()
			if l, _ := os.ReadDir(outside); len(l) != 0 {
				t.Fatalf("%d entries written outside the root", len(l))
			}
			if ok.Load() == 0 || refused.Load() == 0 || swaps == 0 {
				t.Fatalf("the race did not run both ways: %d ok, %d refused, %d swaps", ok.Load(), refused.Load(), swaps)
			}
			t.Logf("%d ops inside the root, %d refused (%d: parent moved while writing), %d swaps, 0 outside",
				ok.Load(), refused.Load(), moved.Load(), swaps)
		})
	}
}
