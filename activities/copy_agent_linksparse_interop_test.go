//go:build interop && linux

package activities

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statField runs stat -c format on the names below root, one line each.
func statField(t *testing.T, format, root string, names ...string) []string {
	t.Helper()
	args := []string{"-c", format}
	for _, n := range names {
		args = append(args, filepath.Join(root, n))
	}
	out, err := exec.Command("stat", args...).Output()
	if err != nil {
		t.Fatalf("stat %s: %v", format, err)
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " "))
}

// linkShape turns stat -c '%h %i' of names into their link counts and
// which earlier name each shares its inode with: equal shapes are equal
// link groups whatever the inode numbers.
func linkShape(t *testing.T, root string, names ...string) string {
	f := statField(t, "%h %i", root, names...)
	var b strings.Builder
	seen := map[string]string{}
	for i, n := range names {
		nlink, ino := f[2*i], f[2*i+1]
		first, ok := seen[ino]
		if !ok {
			seen[ino], first = n, n
		}
		b.WriteString(n + ":" + nlink + "=" + first + " ")
	}
	return b.String()
}

// Hard links and a sparse file through umzug-agent on real OpenSSH, as
// root and as a user without privileges: the same link groups (stat %h and
// shared %i) and the sparse file's few blocks (stat %b) on the target,
// after a seed and after a final sync that broke one link and made one.
func TestCopyTreeAgentInteropHardLinksAndSparse(t *testing.T) {
	nonRootUser(t)
	for _, login := range []string{"", NonRootUser} {
		t.Run("user="+map[bool]string{true: "root", false: login}[login == ""], func(t *testing.T) {
			h, work := realHost(t, login)
			src, dst := filepath.Join(work, "src"), filepath.Join(work, "dst")
			mt := time.Unix(1700000000, 0)
			writeFile(t, filepath.Join(src, "a"), []byte("group"), 0o644, mt)
			writeFile(t, filepath.Join(src, "p"), []byte("plain"), 0o644, mt)
			writeFile(t, filepath.Join(src, "r"), []byte("plain"), 0o644, mt)
			os.MkdirAll(filepath.Join(src, "d"), 0o755)
			for _, l := range [][2]string{{"a", "d/b"}, {"a", "c"}} {
				if err := os.Link(filepath.Join(src, l[0]), filepath.Join(src, l[1])); err != nil {
					t.Fatal(err)
				}
			}
			img, err := os.Create(filepath.Join(src, "disk.img"))
			if err != nil {
				t.Fatal(err)
			}
			img.Truncate(512 << 20)
			img.WriteAt([]byte(strings.Repeat("x", 4096)), 100<<20)
			img.Close()
			if out, err := exec.Command("chmod", "-R", "a+rX", work).CombinedOutput(); err != nil {
				t.Fatalf("chmod: %v %s", err, out)
			}
			if login != "" {
				// The tree is the login's own, as a user's share is: a
				// non-root target login may give its files only its own
				// owner (anything else is a metadata refusal).
				if out, err := exec.Command("chown", "-R", login+":", src).CombinedOutput(); err != nil {
					t.Fatalf("chown: %v %s", err, out)
				}
			}
			a := &Activities{CopyEngine: CopyEngineAgent, AgentDir: agentBinDir(t), IdentStateDir: filepath.Join(t.TempDir(), "ident")}
			in := CopyInput{MoveID: "umzug/interop/links", Phase: PhaseSeed, Source: h, Target: h,
				Set: CopySet{Name: "links", From: src, To: dst, Verify: VerifySHA256}}
			names := []string{"a", "c", "d/b", "p", "r"}
			check := func(when string) {
				t.Helper()
				if s, d := linkShape(t, src, names...), linkShape(t, dst, names...); s != d {
					t.Fatalf("%s: link groups differ\nsource: %s\ntarget: %s", when, s, d)
				}
				sb, _ := strconv.Atoi(statField(t, "%b", src, "disk.img")[0])
				db, _ := strconv.Atoi(statField(t, "%b", dst, "disk.img")[0])
				size := statField(t, "%s", dst, "disk.img")[0]
				if size != strconv.Itoa(512<<20) || db > 2*sb+16 {
					t.Fatalf("%s: disk.img on the target is %s bytes in %d blocks; the source has %d blocks", when, size, db, sb)
				}
				t.Logf("%s: links %s; disk.img blocks source %d, target %d", when, linkShape(t, dst, names...), sb, db)
			}
			res, err := a.CopyTree(t.Context(), in)
			if err != nil {
				t.Fatalf("seed: %v", err)
			}
			check("seed")
			// c is broken off its group, r joins p's.
			os.Remove(filepath.Join(src, "c"))
			writeFile(t, filepath.Join(src, "c"), []byte("group"), 0o644, mt)
			os.Remove(filepath.Join(src, "r"))
			os.Link(filepath.Join(src, "p"), filepath.Join(src, "r"))
			os.Chmod(filepath.Join(src, "c"), 0o644)
			if login != "" {
				if out, err := exec.Command("chown", login+":", filepath.Join(src, "c")).CombinedOutput(); err != nil {
					t.Fatalf("chown: %v %s", err, out)
				}
			}
			in.Phase, in.Delete, in.IdentState = PhaseFinalSync, true, res.IdentState
			if _, err := a.CopyTree(t.Context(), in); err != nil {
				t.Fatalf("final sync: %v", err)
			}
			check("final sync")
		})
	}
}
