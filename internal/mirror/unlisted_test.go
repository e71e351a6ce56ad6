package mirror

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/activities/contract"
)

// unlisting is a source whose directory "deep" cannot be listed, as for a
// directory the side may not read.
type unlisting struct{ *counting }

func (u unlisting) Walk(ctx context.Context, fn func(Entry) error) error {
	return u.counting.Walk(ctx, func(e Entry) error {
		if strings.HasPrefix(e.Name, "deep/") {
			return nil
		}
		if e.Name == "deep" {
			e.ListErr = "open dir deep: permission denied"
		}
		return fn(e)
	})
}

// A source directory that cannot be listed is refused as unreadable and
// nothing below it is deleted on the target, even with delete.
func TestUnlistedDirectoryRefusedNotDeleted(t *testing.T) {
	e := newEnv(t)
	baseTree(t, e)
	_, _, _, err := e.run(baseSpec(contract.PhaseSeed))
	noErr(t, err)
	src, dst := e.sides()
	spec := baseSpec(contract.PhaseFinalSync)
	spec.Delete = true
	spec.State = e.state
	res, err := Run(context.Background(), spec, unlisting{src}, dst, Options{NoSync: true}, nil)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused", err)
	}
	want(t, "unreadable", res.RefusedByKind[contract.RefusalUnreadable], 1)
	want(t, "deleted", res.Deleted, 0)
	if _, err := os.Stat(filepath.Join(e.dst, "deep/x/y/z.bin")); err != nil {
		t.Fatalf("target below an unlisted source directory was deleted: %v", err)
	}
}

// LocalSide and engine: a directory whose path is longer than a name
// below the root may be is refused as a bad name, with a short reason.
func TestPathTooLongRefused(t *testing.T) {
	e := newEnv(t)
	write(t, filepath.Join(e.src, "ok"), "fine", 0644)
	fd, err := unix.Open(e.src, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	noErr(t, err)
	long := strings.Repeat("n", 250)
	for range 18 { // 18 × 251 bytes > 4096
		noErr(t, unix.Mkdirat(fd, long, 0755))
		nfd, err := unix.Openat(fd, long, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		noErr(t, err)
		unix.Close(fd)
		fd = nfd
	}
	unix.Close(fd)
	src, dst := e.sides()
	res, err := Run(context.Background(), baseSpec(contract.PhaseSeed), src, dst, Options{NoSync: true}, nil)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want ErrRefused (%+v)", err, res)
	}
	want(t, "bad name", res.RefusedByKind[contract.RefusalBadName], 1)
	want(t, "copied", res.CopiedFiles, 1)
	if r := res.RefusalList[0]; len(r.Path)+len(r.Reason) > 800 {
		t.Fatalf("refusal of %d bytes", len(r.Path)+len(r.Reason))
	}
}
