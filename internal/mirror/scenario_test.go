package mirror

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

// step is one run of a scenario: mutate the trees, run, check.
type step struct {
	phase  string
	mutate func(t *testing.T, e *env)
	spec   func(s *Spec)
	check  func(t *testing.T, e *env, r Result, src, dst *counting, err error)
}

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

// baseTree: nested files of several modes, an empty directory, a closed
// directory, an inside symlink, a setgid directory.
func baseTree(t *testing.T, e *env) {
	write(t, filepath.Join(e.src, "a.txt"), "alpha", 0644)
	write(t, filepath.Join(e.src, "bin/run.sh"), "#!/bin/sh\necho hi\n", 0755)
	write(t, filepath.Join(e.src, "etc/secret"), "s3cret", 0600)
	write(t, filepath.Join(e.src, "deep/x/y/z.bin"), strings.Repeat("z", 300000), 0640)
	os.Mkdir(filepath.Join(e.src, "empty"), 0700)
	write(t, filepath.Join(e.src, "ro/inside"), "locked in", 0444)
	os.Chmod(filepath.Join(e.src, "ro"), 0555)
	os.Mkdir(filepath.Join(e.src, "shared"), 0755)
	noErr(t, syscall.Chmod(filepath.Join(e.src, "shared"), 02775))
	os.Symlink("a.txt", filepath.Join(e.src, "link-a"))
	os.Symlink("../a.txt", filepath.Join(e.src, "bin/up-a"))
	for _, p := range []string{"a.txt", "bin/run.sh", "etc/secret", "deep/x/y/z.bin", "ro/inside"} {
		setMtime(t, filepath.Join(e.src, p), t0)
	}
	for _, p := range []string{"deep/x/y", "deep/x", "deep", "empty", "etc", "bin", "ro", "shared"} {
		setMtime(t, filepath.Join(e.src, p), t0.Add(time.Hour))
	}
}

const baseFiles = 5

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func want(t *testing.T, what string, got, exp int64) {
	t.Helper()
	if got != exp {
		t.Errorf("%s = %d, want %d", what, got, exp)
	}
}

func seedStep(extra func(t *testing.T, e *env, r Result)) step {
	return step{phase: contract.PhaseSeed, check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
		noErr(t, err)
		sameTree(t, e.src, e.dst)
		if extra != nil {
			extra(t, e, r)
		}
	}}
}

func TestScenarios(t *testing.T) {
	cases := []struct {
		name  string
		build func(t *testing.T, e *env)
		steps []step
	}{
		{name: "new tree", build: baseTree, steps: []step{seedStep(func(t *testing.T, e *env, r Result) {
			want(t, "files", r.Files, baseFiles)
			want(t, "copied", r.CopiedFiles, baseFiles)
			want(t, "verified", r.Verified, baseFiles)
			want(t, "symlinks", r.Symlinks, 2)
			want(t, "dirs", r.Dirs, 8) // below the root
			want(t, "state records", r.StateRecords, baseFiles)
			if r.VerifiedBy != VerifiedByDigests {
				t.Errorf("verified by %q", r.VerifiedBy)
			}
			fi, _ := os.Stat(filepath.Join(e.dst, "shared"))
			if fi.Mode()&os.ModeSetgid == 0 {
				t.Errorf("setgid lost: %v", fi.Mode())
			}
		})}},
		{name: "changed file", build: baseTree, steps: []step{seedStep(nil), {
			phase: contract.PhaseFinalSync,
			mutate: func(t *testing.T, e *env) {
				write(t, filepath.Join(e.src, "a.txt"), "alpha, longer now", 0644)
			},
			check: func(t *testing.T, e *env, r Result, src, dst *counting, err error) {
				noErr(t, err)
				sameTree(t, e.src, e.dst)
				want(t, "copied", r.CopiedFiles, 1)
				want(t, "unchanged", r.Unchanged, baseFiles-1)
				want(t, "kept", r.Kept, baseFiles-1)
				want(t, "source reads", src.reads.Load(), 1)
			}}}},
		{name: "same size change with restored mtime", build: baseTree, steps: []step{seedStep(nil), {
			phase: contract.PhaseFinalSync,
			mutate: func(t *testing.T, e *env) {
				p := filepath.Join(e.src, "etc/secret")
				write(t, p, "S3CRET", 0600) // same size
				setMtime(t, p, t0)          // touch -d: size and mtime as before
			},
			check: func(t *testing.T, e *env, r Result, src, dst *counting, err error) {
				noErr(t, err)
				sameTree(t, e.src, e.dst)
				want(t, "recopied", r.Recopied, 1)
				want(t, "copied", r.CopiedFiles, 1)
				want(t, "kept", r.Kept, baseFiles-1)
				want(t, "hashed on the target", dst.hashes.Load(), 1)
			}}}},
		{name: "same size change unseen by size_mtime", build: baseTree, steps: []step{
			{phase: contract.PhaseSeed, spec: func(s *Spec) { s.Verify = contract.VerifySizeMtime },
				check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
					noErr(t, err)
					want(t, "state records", r.StateRecords, 0)
				}},
			{phase: contract.PhaseFinalSync, spec: func(s *Spec) { s.Verify = contract.VerifySizeMtime },
				mutate: func(t *testing.T, e *env) {
					p := filepath.Join(e.src, "etc/secret")
					write(t, p, "S3CRET", 0600)
					setMtime(t, p, t0)
				},
				check: func(t *testing.T, e *env, r Result, src, dst *counting, err error) {
					noErr(t, err)
					want(t, "copied", r.CopiedFiles, 0)
					want(t, "unchanged", r.Unchanged, baseFiles)
					want(t, "hashes", src.hashes.Load()+dst.hashes.Load(), 0)
				}}}},
		{name: "deletes", build: baseTree, steps: []step{seedStep(nil), {
			phase: contract.PhaseFinalSync,
			mutate: func(t *testing.T, e *env) {
				os.RemoveAll(filepath.Join(e.src, "deep"))
				os.Remove(filepath.Join(e.src, "link-a"))
				// A target-only symlink to a directory outside: removed as a link.
				os.Symlink(e.base, filepath.Join(e.dst, "out"))
			},
			spec: func(s *Spec) { s.Delete = true },
			check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				noErr(t, err)
				sameTree(t, e.src, e.dst)
				want(t, "deleted", r.Deleted, 6) // deep, x, y, z.bin, link-a, out
				if _, err := os.Stat(filepath.Join(e.base, "src")); err != nil {
					t.Fatal("delete went through a symlink")
				}
			}}}},
		{name: "no delete keeps target-only entries", build: baseTree, steps: []step{seedStep(nil), {
			phase: contract.PhaseFinalSync,
			mutate: func(t *testing.T, e *env) {
				os.Remove(filepath.Join(e.src, "a.txt"))
				write(t, filepath.Join(e.dst, "mine/own"), "target only", 0644)
			},
			check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				noErr(t, err)
				want(t, "deleted", r.Deleted, 0)
				for _, p := range []string{"a.txt", "mine/own"} {
					if _, err := os.Stat(filepath.Join(e.dst, p)); err != nil {
						t.Errorf("%s removed without delete", p)
					}
				}
			}}}},
		{name: "escaping symlinks refused", build: func(t *testing.T, e *env) {
			baseTree(t, e)
			os.Symlink("/etc/passwd", filepath.Join(e.src, "abs"))
			os.Symlink("../..", filepath.Join(e.src, "bin/u"))
			os.Symlink("bin/u/../etc", filepath.Join(e.src, "esc")) // harmless-looking, leaves via u
		}, steps: []step{
			{phase: contract.PhaseSeed, check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("err = %v, want ErrRefused", err)
				}
				want(t, "escaping", r.RefusedByKind[contract.RefusalEscapingSymlink], 3)
				for _, p := range []string{"abs", "bin/u", "esc"} {
					if _, err := os.Lstat(filepath.Join(e.dst, p)); err == nil {
						t.Errorf("%s placed", p)
					}
				}
			}},
			{phase: contract.PhaseSeed, spec: func(s *Spec) { s.AcceptRefusals = []string{contract.RefusalEscapingSymlink} },
				check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
					noErr(t, err)
					sameTree(t, e.src, e.dst, "abs", "bin/u", "esc")
					want(t, "symlinks", r.Symlinks, 2)
				}}}},
		{name: "refusals by kind", build: func(t *testing.T, e *env) {
			baseTree(t, e)
			noErr(t, syscall.Mkfifo(filepath.Join(e.src, "pipe"), 0644))
			l, err := net.Listen("unix", filepath.Join(e.src, "sock"))
			noErr(t, err)
			t.Cleanup(func() { l.Close() })
			if os.Geteuid() == 0 {
				noErr(t, syscall.Mknod(filepath.Join(e.src, "null"), syscall.S_IFCHR|0666, 1<<8|3))
			}
			write(t, filepath.Join(e.src, ".umzug-tmp-x"), "mine?", 0644)
		}, steps: []step{
			{phase: contract.PhaseSeed, check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				var re *RefusedError
				if !errors.As(err, &re) || re.OnlyChanged {
					t.Fatalf("err = %v, want a RefusedError", err)
				}
				want(t, "fifo", r.RefusedByKind[contract.RefusalFIFO], 1)
				want(t, "socket", r.RefusedByKind[contract.RefusalSocket], 1)
				want(t, "reserved", r.RefusedByKind[contract.RefusalReservedName], 1)
				if os.Geteuid() == 0 {
					want(t, "device", r.RefusedByKind[contract.RefusalDevice], 1)
				}
				if len(r.RefusalList) != int(r.Refused) {
					t.Errorf("refusal list %v, refused %d", r.RefusalList, r.Refused)
				}
			}},
			{phase: contract.PhaseSeed, spec: func(s *Spec) {
				s.AcceptRefusals = []string{contract.RefusalFIFO, contract.RefusalSocket, contract.RefusalDevice, contract.RefusalReservedName}
			}, check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				noErr(t, err)
				sameTree(t, e.src, e.dst, "pipe", "sock", "null", ".umzug-tmp-x")
				for _, p := range []string{"pipe", "sock", "null", ".umzug-tmp-x"} {
					if _, err := os.Lstat(filepath.Join(e.dst, p)); err == nil {
						t.Errorf("%s placed", p)
					}
				}
			}}}},
		{name: "excludes", build: func(t *testing.T, e *env) {
			baseTree(t, e)
			write(t, filepath.Join(e.src, "deep/x/scratch.tmp"), "tmp", 0644)
			write(t, filepath.Join(e.src, "cache/big"), "cached", 0644)
			write(t, filepath.Join(e.dst, "cache/target-own"), "kept", 0644)
		}, steps: []step{{phase: contract.PhaseFinalSync,
			spec: func(s *Spec) { s.Exclude = []string{"*.tmp", "cache/"}; s.Delete = true },
			check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				noErr(t, err)
				want(t, "excluded", r.Excluded, 2)
				sameTree(t, e.src, e.dst, "cache", "deep/x/scratch.tmp", "deep/x")
				if _, err := os.Stat(filepath.Join(e.dst, "deep/x/scratch.tmp")); err == nil {
					t.Error("excluded file copied")
				}
				if _, err := os.Stat(filepath.Join(e.dst, "cache/target-own")); err != nil {
					t.Error("delete removed an excluded target entry")
				}
			}}}},
		{name: "type changes", build: func(t *testing.T, e *env) {
			baseTree(t, e)
			write(t, filepath.Join(e.dst, "a.txt/old"), "a dir on the target", 0644) // source: file
			write(t, filepath.Join(e.dst, "bin"), "a file on the target", 0644)      // source: dir
		}, steps: []step{
			{phase: contract.PhaseSeed, check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				if !errors.Is(err, ErrRefused) {
					t.Fatalf("err = %v, want ErrRefused", err)
				}
				want(t, "conflict", r.RefusedByKind[contract.RefusalTargetConflict], 1)
				if _, err := os.Stat(filepath.Join(e.dst, "a.txt/old")); err != nil {
					t.Error("target-only entry removed without delete")
				}
			}},
			{phase: contract.PhaseFinalSync, spec: func(s *Spec) { s.Delete = true },
				check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
					noErr(t, err)
					sameTree(t, e.src, e.dst)
				}}}},
		{name: "forged state not trusted", build: baseTree, steps: []step{seedStep(nil), {
			phase: contract.PhaseFinalSync,
			mutate: func(t *testing.T, e *env) {
				// The target's owner rewrites the state to vouch for a file
				// it changed; the digest the caller kept no longer matches.
				p := filepath.Join(e.sd, "data-verified.bin")
				b, err := os.ReadFile(p)
				noErr(t, err)
				i := strings.Index(string(b), "a.txt") + len("a.txt")
				b[i] ^= 0xff
				noErr(t, os.WriteFile(p, b, 0600))
				write(t, filepath.Join(e.dst, "etc/secret"), "forged", 0600)
				setMtime(t, filepath.Join(e.dst, "etc/secret"), t0)
			},
			check: func(t *testing.T, e *env, r Result, src, dst *counting, err error) {
				noErr(t, err)
				if r.StateTrusted {
					t.Fatal("forged state trusted")
				}
				want(t, "kept", r.Kept, 0)
				want(t, "target hashes", dst.hashes.Load(), baseFiles)
				want(t, "source hashes", src.hashes.Load(), baseFiles)
				want(t, "recopied", r.Recopied, 1)
				sameTree(t, e.src, e.dst)
			}}}},
		{name: "state matching its digest is trusted", build: baseTree, steps: []step{seedStep(nil), {
			phase: contract.PhaseFinalSync,
			check: func(t *testing.T, e *env, r Result, src, dst *counting, err error) {
				noErr(t, err)
				if !r.StateTrusted {
					t.Fatalf("state not trusted: %v", r.Notes)
				}
				want(t, "kept", r.Kept, baseFiles)
				want(t, "verified", r.Verified, baseFiles)
				want(t, "hashes", src.hashes.Load()+dst.hashes.Load(), 0)
				want(t, "reads", src.reads.Load(), 0)
				if r.VerifiedBy != VerifiedByIdentity {
					t.Errorf("verified by %q", r.VerifiedBy)
				}
				sameTree(t, e.src, e.dst)
			}}}},
		{name: "symlinks and empty dirs follow the source", build: baseTree, steps: []step{seedStep(nil), {
			phase: contract.PhaseFinalSync,
			mutate: func(t *testing.T, e *env) {
				os.Remove(filepath.Join(e.src, "link-a"))
				os.Symlink("bin/run.sh", filepath.Join(e.src, "link-a")) // retargeted
				os.Remove(filepath.Join(e.src, "a.txt"))
				os.Symlink("etc/secret", filepath.Join(e.src, "a.txt")) // file became a link
				os.Remove(filepath.Join(e.src, "empty"))
				os.Mkdir(filepath.Join(e.src, "new-empty"), 0710)
			},
			spec: func(s *Spec) { s.Delete = true },
			check: func(t *testing.T, e *env, r Result, _, _ *counting, err error) {
				noErr(t, err)
				sameTree(t, e.src, e.dst)
				want(t, "symlinks", r.Symlinks, 3)
				want(t, "deleted", r.Deleted, 1)
			}}}},
		{name: "stale temporaries removed", build: func(t *testing.T, e *env) {
			baseTree(t, e)
			write(t, filepath.Join(e.dst, "bin/.umzug-tmp-0123"), "crashed", 0600)
		}, steps: []step{seedStep(nil)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			c.build(t, e)
			for i, s := range c.steps {
				if s.mutate != nil {
					s.mutate(t, e)
				}
				spec := baseSpec(s.phase)
				if s.spec != nil {
					s.spec(&spec)
				}
				r, src, dst, err := e.run(spec)
				if s.check != nil {
					t.Logf("step %d: %+v", i, r)
					s.check(t, e, r, src, dst, err)
				}
				if t.Failed() {
					return
				}
			}
		})
	}
}

func TestEstimateWritesNothing(t *testing.T) {
	e := newEnv(t)
	baseTree(t, e)
	write(t, filepath.Join(e.dst, "gone"), "target only", 0644)
	src, dst := e.sides()
	spec := baseSpec(contract.PhaseFinalSync)
	spec.Delete = true
	p, err := Estimate(context.Background(), spec, src, dst, Options{})
	noErr(t, err)
	want(t, "copy files", p.CopyFiles, baseFiles)
	want(t, "delete", p.Delete, 1)
	want(t, "writes", dst.writes.Load(), 0)
	ents, _ := os.ReadDir(e.dst)
	if len(ents) != 1 {
		t.Fatalf("estimate wrote to the target: %v", ents)
	}
}

func TestBandwidthLimit(t *testing.T) {
	e := newEnv(t)
	write(t, filepath.Join(e.src, "f"), strings.Repeat("b", 768<<10), 0644)
	spec := baseSpec(contract.PhaseSeed)
	spec.BandwidthBytesPerSec = 2 << 20
	start := time.Now()
	_, _, _, err := e.run(spec)
	noErr(t, err)
	// 256 KiB of burst, then 512 KiB at 2 MiB/s.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("768 KiB at 2 MiB/s took %v", d)
	}
	sameTree(t, e.src, e.dst)
}

func TestObserverHearsTheEnd(t *testing.T) {
	e := newEnv(t)
	baseTree(t, e)
	src, dst := e.sides()
	var last Progress
	calls := 0
	obs := ObserverFunc(func(p Progress) { last = p; calls++ })
	_, err := Run(context.Background(), baseSpec(contract.PhaseSeed), src, dst, Options{NoSync: true, ProgressEvery: time.Millisecond}, obs)
	noErr(t, err)
	if calls == 0 || last.Walking || last.FilesDone != baseFiles || last.FilesTotal != baseFiles || last.BytesDone != last.BytesTotal || last.BytesTotal == 0 {
		t.Fatalf("last progress %+v after %d calls", last, calls)
	}
}

func TestTargetIndexBounded(t *testing.T) {
	e := newEnv(t)
	baseTree(t, e)
	manyFiles(t, filepath.Join(e.dst, "junk"), 20)
	src, dst := e.sides()
	_, err := Run(context.Background(), baseSpec(contract.PhaseSeed), src, dst, Options{NoSync: true, MaxTargetEntries: 10}, nil)
	if err == nil || !strings.Contains(err.Error(), "more than 10 entries") {
		t.Fatalf("err = %v, want the index bound", err)
	}
}

func TestCopyResultFromResult(t *testing.T) {
	e := newEnv(t)
	baseTree(t, e)
	noErr(t, syscall.Mkfifo(filepath.Join(e.src, "pipe"), 0644))
	spec := baseSpec(contract.PhaseSeed)
	spec.AcceptRefusals = []string{contract.RefusalFIFO}
	r, _, _, err := e.run(spec)
	noErr(t, err)
	c := r.CopyResult("data", contract.PhaseSeed, contract.VerifySHA256)
	if c.Files != baseFiles || c.CopiedFiles != baseFiles || c.Verified != baseFiles || c.Refused != 1 ||
		c.RefusedByKind[contract.RefusalFIFO] != 1 || len(c.RefusalList) != 1 || len(c.Refusals) != 1 || c.VerifiedBy != VerifiedByDigests {
		t.Fatalf("contract result %+v from %+v", c, r)
	}
}
