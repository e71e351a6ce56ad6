package activities

import (
	"context"
	"io"
	"sync"

	"github.com/umzug-dev/umzug/internal/mirror"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// hookedSource calls the copy hooks (copyHooks) of the classic engine at
// the matching points of the agent engine, so one race test drives both:
// beforeCopy before a file is read, afterOpen once its first bytes came
// (the agent holds it open and checks it again at the end), afterList
// once a directory was listed and its entry taken up.
type hookedSource struct {
	mirror.Side
	h copyHooks
}

// hookedTarget calls afterPlace once a file was renamed into place.
type hookedTarget struct {
	mirror.Side
	h copyHooks
}

// withHooks wraps the sides when a test set a hook; production copies
// (no hooks) use the sides as they are.
func withHooks(h copyHooks, src, dst mirror.Side) (mirror.Side, mirror.Side) {
	if h.beforeCopy != nil || h.afterOpen != nil || h.afterList != nil {
		src = hookedSource{src, h}
	}
	if h.afterPlace != nil {
		dst = hookedTarget{dst, h}
	}
	return src, dst
}

func (s hookedSource) Walk(ctx context.Context, fn func(mirror.Entry) error) error {
	return s.Side.Walk(ctx, func(e mirror.Entry) error {
		if err := fn(e); err != nil {
			return err
		}
		if e.Type == rootfs.TypeDir && e.ListErr == "" {
			call(s.h.afterList, e.Name)
		}
		return nil
	})
}

func (s hookedSource) ReadFile(ctx context.Context, rel string, want rootfs.Identity, w io.Writer) (mirror.Read, error) {
	call(s.h.beforeCopy, rel)
	if s.h.afterOpen != nil {
		var once sync.Once
		inner := w
		w = writerFunc(func(b []byte) (int, error) {
			once.Do(func() { s.h.afterOpen(rel) })
			return inner.Write(b)
		})
	}
	return s.Side.ReadFile(ctx, rel, want, w)
}

func (s hookedTarget) WriteFile(ctx context.Context, rel string, m rootfs.Meta, r io.Reader) (mirror.Placed, error) {
	p, err := s.Side.WriteFile(ctx, rel, m, r)
	if err == nil {
		call(s.h.afterPlace, rel)
	}
	return p, err
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// unbatched hides s's batches (mirror.BatchReader, mirror.BatchHasher)
// and keeps its ranges.
func unbatched(s mirror.Side) mirror.Side {
	if rs, ok := s.(mirror.RangeSource); ok {
		return unbatchedRanges{hookedSource{s, copyHooks{}}, rs}
	}
	return hookedSource{s, copyHooks{}}
}

type unbatchedRanges struct {
	hookedSource
	mirror.RangeSource
}
