//go:build chaos

package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"time"
)

// canMountTmpfs reports why a tmpfs cannot be mounted here, or "".
func canMountTmpfs() string {
	if os.Geteuid() != 0 {
		return "needs root to mount tmpfs"
	}
	dir, err := os.MkdirTemp("", "umzug-chaos-probe-")
	if err != nil {
		return err.Error()
	}
	defer os.Remove(dir)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		return fmt.Sprintf("cannot mount tmpfs (%v: %s)", err, out)
	}
	_ = exec.Command("umount", dir).Run()
	return ""
}

// fullJobs mount a small tmpfs as the target root: out of bytes (1 MiB for
// a 3 MiB tree) and out of inodes (24 for ~50 entries). The move must
// fail without committing and leave the source running.
func (s *suite) fullJobs() []job {
	skip := canMountTmpfs()
	var out []job
	for i := range s.runs(5, 2) {
		opt, name, profile := "size=1m", "full_bytes", profileBigSeed
		if i%2 == 1 {
			opt, name, profile = "nr_inodes=24", "full_inodes", profileSmall
		}
		out = append(out, job{fault: faultFull, name: name, skip: skip,
			o: cellOptions{profile: profile, mustAbort: true},
			prepare: func(c *cell) error {
				if err := os.MkdirAll(c.dstData, 0o755); err != nil {
					return err
				}
				if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opt+",mode=0755", "tmpfs", c.dstData).CombinedOutput(); err != nil {
					return fmt.Errorf("mount tmpfs %s on %s: %v: %s", opt, c.dstData, err, out)
				}
				return nil
			},
			cleanup: func(c *cell) { _ = exec.Command("umount", "-l", c.dstData).Run() },
			drive: func(c *cell, d *devProc, deadline time.Time) outcome {
				o := plain(nil)(c, d, deadline)
				o.note = "tmpfs " + opt
				return o
			},
		})
	}
	return out
}
