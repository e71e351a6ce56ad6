package activities

import (
	"container/heap"
	"context"
	"fmt"
	"io"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
)

// Limits of SampleThroughput: it looks at the sampleFiles largest files
// among the first sampleScan entries and reads them sampleParallel at a time.
const (
	sampleFiles    = 16
	sampleScan     = 20000
	sampleParallel = 4
)

type sizedPath struct {
	p    string
	size int64
}

type minHeap []sizedPath

func (h minHeap) Len() int           { return len(h) }
func (h minHeap) Less(i, j int) bool { return h[i].size < h[j].size }
func (h minHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap) Push(x any)        { *h = append(*h, x.(sizedPath)) }
func (h *minHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// SampleThroughput reads up to maxBytes from the largest regular files
// under dir on src over SFTP (several files at once, concurrent requests
// per file) and returns the read rate in bytes/s. It writes nothing; umzug
// plan uses it to estimate copy durations. An empty tree returns 0.
func (a *Activities) SampleThroughput(ctx context.Context, src Host, dir string, maxBytes int64) (float64, error) {
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	c, err := a.dial(ctx, src)
	if err != nil {
		return 0, fmt.Errorf("connect to %s to sample throughput: %w", hostLabel(src), err)
	}
	defer a.release(ctx, c)
	cl, err := c.SFTP()
	if err != nil {
		c.markBroken()
		return 0, fmt.Errorf("open SFTP session on %s: %w", hostLabel(src), err)
	}
	files, err := largestFiles(ctx, cl, hostLabel(src), path.Clean(dir))
	if err != nil || len(files) == 0 {
		return 0, err
	}
	return readRate(ctx, cl, hostLabel(src), files, maxBytes)
}

// largestFiles returns the sampleFiles largest regular files among the
// first sampleScan entries under root (bounded scan, bounded heap).
func largestFiles(ctx context.Context, cl *sftp.Client, host, root string) ([]sizedPath, error) {
	h := &minHeap{}
	seen := 0
	stack := []string{root}
	for len(stack) > 0 && seen < sampleScan {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ents, err := cl.ReadDir(d)
		if err != nil {
			if d == root {
				return nil, fmt.Errorf("list %s on %s: %w", d, host, err)
			}
			continue
		}
		for _, fi := range ents {
			seen++
			switch {
			case fi.IsDir():
				stack = append(stack, path.Join(d, fi.Name()))
			case fi.Mode().IsRegular() && fi.Size() > 0:
				heap.Push(h, sizedPath{path.Join(d, fi.Name()), fi.Size()})
				if h.Len() > sampleFiles {
					heap.Pop(h)
				}
			}
		}
	}
	return *h, nil
}

// readRate reads up to maxBytes of files, sampleParallel at a time, and
// returns bytes read per second; an error only when nothing could be read.
func readRate(ctx context.Context, cl *sftp.Client, host string, list []sizedPath, maxBytes int64) (float64, error) {
	files := make(chan sizedPath, len(list))
	for _, sp := range list {
		files <- sp
	}
	close(files)
	var budget, read atomic.Int64
	budget.Store(maxBytes)
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	start := time.Now()
	for range sampleParallel {
		wg.Go(func() {
			for sp := range files {
				want := min(sp.size, budget.Add(-sp.size)+sp.size)
				if want <= 0 || ctx.Err() != nil {
					return
				}
				n, err := readSome(cl, sp.p, want)
				read.Add(n)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("read %s on %s: %w", sp.p, host, err) })
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	if read.Load() == 0 && firstErr != nil {
		return 0, firstErr
	}
	if el <= 0 {
		return 0, nil
	}
	return float64(read.Load()) / el, nil
}

// readSome reads up to n bytes of a file in chunks; each ReadAt keeps
// many requests in flight.
func readSome(cl *sftp.Client, p string, n int64) (int64, error) {
	f, err := cl.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	b, release := getBuf(chunkSize)
	defer release()
	var off int64
	for off < n {
		k, err := f.ReadAt((*b)[:min(int64(len(*b)), n-off)], off)
		off += int64(k)
		if err == io.EOF {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
	return off, nil
}
