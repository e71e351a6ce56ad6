//go:build linux

package agentclient

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/agentproto"
	"github.com/umzug-dev/umzug/internal/agentserver"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// startAgent runs the agent's serve loop in-process over two OS pipes, as
// the SSH session's stdin/stdout would carry it. Cleanup closes the client
// and checks that the agent returned because its input ended.
func startAgent(tb testing.TB, o agentserver.Options) *Client {
	tb.Helper()
	ar, cw, err := os.Pipe() // client → agent stdin
	if err != nil {
		tb.Fatal(err)
	}
	cr, aw, err := os.Pipe() // agent stdout → client
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := agentserver.Serve(context.Background(), ar, aw, o)
		ar.Close()
		aw.Close()
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := New(ctx, cr, cw)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Close()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("agent: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Error("agent did not exit after its stdin closed")
		}
		cr.Close()
	})
	return c
}

// copyTree copies everything below src to dst through the agents, files
// read with the identity the listing saw, workers at a time; directory
// metadata is set last, deepest first. It checks that the digest the
// source computed while reading equals the one the target computed while
// writing.
func copyTree(ctx context.Context, src, dst *Root, workers int) (int, error) {
	var dirs, others []rootfs.Info
	if _, err := src.List(ctx, "", true, func(i rootfs.Info) error {
		if i.Type == rootfs.TypeDir {
			dirs = append(dirs, i)
		} else {
			others = append(others, i)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, d := range dirs {
		if err := dst.Mkdir(ctx, d.Name, 0700); err != nil {
			return 0, err
		}
	}
	work := make(chan rootfs.Info)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := copyOne(ctx, src, dst, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
feed:
	for _, i := range others {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return 0, err
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	slices.Reverse(dirs)
	for _, d := range dirs {
		if err := dst.SetMeta(ctx, d.Name, metaOf(d)); err != nil {
			return 0, err
		}
	}
	return len(dirs) + len(others), nil
}

func metaOf(i rootfs.Info) rootfs.Meta {
	return rootfs.Meta{SetOwner: true, UID: i.UID, GID: i.GID, SetMode: true, Mode: i.Mode,
		SetTimes: true, AtimeNs: i.MtimeNs, MtimeNs: i.MtimeNs}
}

func copyOne(ctx context.Context, src, dst *Root, i rootfs.Info) error {
	switch i.Type {
	case rootfs.TypeSymlink:
		tgt, err := src.Readlink(ctx, i.Name)
		if err != nil {
			return err
		}
		if err := dst.Symlink(ctx, tgt, i.Name); err != nil {
			return err
		}
		m := metaOf(i)
		m.SetMode = false
		return dst.SetMeta(ctx, i.Name, m)
	case rootfs.TypeFile:
		pr, pw := io.Pipe()
		id := i.Identity()
		var rres ReadResult
		var rerr error
		go func() {
			rres, rerr = src.Read(ctx, i.Name, &id, 0, -1, pw)
			pw.CloseWithError(rerr)
		}()
		wres, err := dst.Write(ctx, i.Name, pr, WriteOptions{Meta: metaOf(i)})
		pr.CloseWithError(errors.New("writer done"))
		if err != nil {
			return err
		}
		if rerr != nil {
			return rerr
		}
		if rres.SHA256 != wres.SHA256 || rres.Size != wres.Size || rres.Size != i.Size {
			return fmt.Errorf("%s: read %d bytes %x, wrote %d bytes %x", i.Name, rres.Size, rres.SHA256, wres.Size, wres.SHA256)
		}
		return nil
	}
	return fmt.Errorf("%s: a %s is not copied here", i.Name, i.Type)
}

// makeTree builds a tree with files of many sizes (empty, below, at and
// above the chunk size), nested and empty directories, symlinks, odd modes,
// owners and nanosecond mtimes.
func makeTree(t testing.TB, dir string) {
	t.Helper()
	mt := time.Unix(1_650_000_000, 123_456_789)
	files := map[string]int{
		"empty": 0, "small": 17, "chunk": agentproto.ChunkSize, "chunk+1": agentproto.ChunkSize + 1,
		"a/b/c/deep": 3 << 20, "a/x": 4096, "a/b/y": 1, "space name": 100, "ünïcode": 99,
	}
	for i := range 40 {
		files[fmt.Sprintf("many/f%03d", i)] = i * 37
	}
	for name, size := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(j*7 + len(name))
		}
		if err := os.WriteFile(p, b, 0644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(filepath.Join(dir, "small"), 04751))
	must(os.Chown(filepath.Join(dir, "a/x"), 1234, 4321))
	must(os.MkdirAll(filepath.Join(dir, "emptydir/inner"), 0700))
	must(os.Symlink("../small", filepath.Join(dir, "a/rel-link")))
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "abs-link")))
	must(os.Symlink("dangling", filepath.Join(dir, "many/dangling")))
	must(os.Chmod(filepath.Join(dir, "a/b"), 0555))
	for _, d := range []string{"a/b/c", "a/b", "a", "emptydir/inner", "emptydir", "many"} {
		must(os.Chtimes(filepath.Join(dir, d), mt, mt))
	}
}

func sumFile(t testing.TB, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
