//go:build interop

package bench

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/activities"
	"github.com/umzug-dev/umzug/activities/contract"
)

// posixACL encodes an ACL xattr value: a user and a group named besides
// owner, group and others (users daemon and groups adm exist on both
// hosts of the bench).
func posixACL() []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2)
	for _, e := range [][3]uint32{{0x01, 6, ^uint32(0)}, {0x02, 4, 1}, {0x04, 4, ^uint32(0)}, {0x08, 6, 4}, {0x10, 6, ^uint32(0)}, {0x20, 4, ^uint32(0)}} {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, uint16(e[1]))
		b = binary.LittleEndian.AppendUint32(b, e[2])
	}
	return b
}

// decorate gives every file of root an access ACL and a user.*
// attribute, every directory an access and a default ACL.
func decorate(root string) error {
	acl := posixACL()
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := unix.Setxattr(p, "system.posix_acl_access", acl, 0); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if d.IsDir() {
			return unix.Setxattr(p, "system.posix_acl_default", acl, 0)
		}
		return unix.Setxattr(p, "user.app.tag", []byte("finance-2026"), 0)
	})
}

// BenchmarkMetadata is (i): the 20,000-file seed through the agent engine
// of a tree whose every entry has a POSIX ACL and every file a user.*
// attribute, against the same tree without them, in the same run.
func BenchmarkMetadata(b *testing.B) {
	if *engine != activities.CopyEngineAgent {
		b.Skip("owners, ACLs and extended attributes travel with the agent engine: -umzug.engine agent")
	}
	e := getEnv(b)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	root := filepath.Join(e.dir, "meta")
	plain, rich := filepath.Join(root, "plain"), filepath.Join(root, "rich")
	total, err := GenSmallFiles(plain, n, 1<<10, 64<<10, 100, 7)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := GenSmallFiles(rich, n, 1<<10, 64<<10, 100, 7); err != nil {
		b.Fatal(err)
	}
	if err := decorate(rich); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		caseI := fmt.Sprintf("(i) seed %d files 1–64 KiB, agent engine (best of %d)", n, *reps)
		best := map[string]float64{"plain": 1e9, "rich": 1e9}
		for i := range *reps {
			order := []string{"plain", "rich"}
			if i%2 == 1 {
				order = []string{"rich", "plain"}
			}
			for _, k := range order {
				src := plain
				if k == "rich" {
					src = rich
				}
				dst := filepath.Join(root, fmt.Sprintf("%s-dst-%d", k, i))
				res, wall, _ := e.umzug(b, "meta-"+k, src, dst, contract.VerifySHA256, false)
				if res.CopiedFiles != int64(n) || res.Refused != 0 {
					b.Fatalf("%s seed: copied %d refused %v", k, res.CopiedFiles, res.RefusedByKind)
				}
				mustEqual(b, src, dst)
				if k == "rich" {
					var v [64]byte
					if m, err := unix.Getxattr(firstFile(b, dst), "user.app.tag", v[:]); err != nil || string(v[:m]) != "finance-2026" {
						b.Fatalf("target file without its attribute: %v", err)
					}
				}
				best[k] = min(best[k], wall)
			}
		}
		e.record(row{Case: caseI, Tool: "umzug, no ACLs or xattrs", Seconds: best["plain"], Files: int64(n), Bytes: total})
		e.record(row{Case: caseI, Tool: "umzug, ACL + user.* on every entry", Seconds: best["rich"], Files: int64(n), Bytes: total,
			Baseline: "umzug, no ACLs or xattrs", BaselineSeconds: best["plain"]})
		b.ReportMetric(100*(best["rich"]/best["plain"]-1), "metadata-overhead-%")
	}
}

// firstFile is a regular file below root.
func firstFile(b *testing.B, root string) string {
	var found string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && found == "" && d.Type().IsRegular() {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	if found == "" {
		b.Fatal("no file in " + root)
	}
	return found
}
