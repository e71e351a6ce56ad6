package mirror

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// fewInodes reports a file system with plenty of bytes and few inodes.
type fewInodes struct {
	*LocalSide
	free uint64
}

func (s fewInodes) Statfs(ctx context.Context) (rootfs.Statfs, error) {
	st, err := s.LocalSide.Statfs(ctx)
	st.Files, st.FilesFree = 1000, s.free
	return st, err
}

// A target with too few free inodes for the files to create is refused
// before they are written, as one without the bytes.
func TestRunRefusesTargetWithoutInodes(t *testing.T) {
	base := t.TempDir()
	src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
	os.MkdirAll(src, 0o755)
	os.MkdirAll(dst, 0o755)
	for i := range 5 {
		os.WriteFile(filepath.Join(src, fmt.Sprint("f", i)), []byte("x"), 0o644)
	}
	s, err := NewLocalSide(src, LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := NewLocalSide(dst, LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	spec := Spec{Name: "set", Verify: contract.VerifySHA256, Phase: contract.PhaseSeed}
	_, err = Run(context.Background(), spec, s, fewInodes{d, 3}, Options{}, nil)
	var ns *NoSpaceError
	if !errors.As(err, &ns) || !errors.Is(err, ErrNoSpace) || ns.Files != 4 || ns.FreeInodes != 3 {
		t.Fatalf("want the inode refusal at the fourth file, got %v", err)
	}
	if _, err := Run(context.Background(), spec, s, fewInodes{d, 5}, Options{}, nil); err != nil {
		t.Fatalf("five inodes for five files: %v", err)
	}
}
