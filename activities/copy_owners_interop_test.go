//go:build interop && linux

package activities

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/realsshd"
	"github.com/umzug-dev/umzug/internal/testkit"
)

// siteEtc writes dir/passwd and dir/group: this machine's, plus extra
// lines (the accounts that differ between the sites).
func siteEtc(t *testing.T, dir string, users, groups map[string]int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		ids  map[string]int
	}{{"passwd", users}, {"group", groups}} {
		b, err := os.ReadFile("/etc/" + f.name)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if n, _, _ := strings.Cut(l, ":"); f.ids[n] == 0 {
				lines = append(lines, l)
			}
		}
		for n, id := range f.ids {
			if f.name == "passwd" {
				lines = append(lines, n+":x:"+strconv.Itoa(id)+":"+strconv.Itoa(id)+"::/nonexistent:/usr/sbin/nologin")
			} else {
				lines = append(lines, n+":x:"+strconv.Itoa(id)+":")
			}
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// inNS runs a command in the mount namespace of sshd pid (its user
// database), failing the test on error.
func inNS(t *testing.T, pid int, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-m", "--"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// treeMeta is what getfacl, getfattr and stat say of every entry below
// root, paths relative, as one host's user database names them. ACL
// xattrs carry numbers; they are compared through getfacl's names,
// sorted (getfacl lists named entries by id, which differ).
func treeMeta(t *testing.T, pid int, root string) string {
	t.Helper()
	script := `cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
  echo "== $p $(stat -c %U:%G:%a "$p")"
  getfacl -c -p "$p" 2>/dev/null | grep -v '^$' | LC_ALL=C sort
  getfattr -h -d -m - -e hex "$p" 2>/dev/null | grep -v -e '^#' -e '^$' -e '^system.posix_acl' || true
done`
	return inNS(t, pid, "/bin/sh", "-c", script, "sh", root)
}

// Two real OpenSSH daemons as root, each in a mount namespace with its
// own /etc/passwd and /etc/group, where fin and lohn have each other's
// uids and the clerks group another gid: owners, named ACL entries, the
// default ACL, user.*, trusted.* and security.capability attributes
// arrive as the source's names say, a change of ACL or owner alone is
// carried over without copying bytes, the manifest records them, and a
// target file system without ACLs (ramfs) is a metadata refusal.
func TestCopyTreeInteropOwnersACLsXattrs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sshd in mount namespaces")
	}
	for _, tool := range []string{"nsenter", "unshare", "setfacl", "getfacl", "setfattr", "getfattr", "setcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing: apt-get install -y acl attr libcap2-bin util-linux", tool)
		}
	}
	base, err := os.MkdirTemp("", "umzug-interop-owners-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	srcEtc, dstEtc, ram := filepath.Join(base, "etc-src"), filepath.Join(base, "etc-dst"), filepath.Join(base, "noacl")
	siteEtc(t, srcEtc, map[string]int{"fin": 2101, "lohn": 2102, "ghost": 2300}, map[string]int{"fin": 2101, "lohn": 2102, "clerks": 3000, "ghost": 2300})
	siteEtc(t, dstEtc, map[string]int{"fin": 2102, "lohn": 2101}, map[string]int{"fin": 2102, "lohn": 2101, "clerks": 3001})
	os.Mkdir(ram, 0o755)
	daemons := testkit.StartRealSSHD(t, base, realsshd.Options{Etc: srcEtc}, realsshd.Options{Etc: dstEtc, Ramfs: []string{ram}})
	sp, dp := daemons.Servers[0].Pid(), daemons.Servers[1].Pid()
	host := func(i int, name string) Host {
		s := daemons.Servers[i]
		return Host{Name: name, Address: s.Addr, User: s.User, IdentityFile: daemons.Key, KnownHosts: daemons.KnownHosts}
	}
	src, dst := filepath.Join(base, "src", "share"), filepath.Join(base, "dst", "share")
	os.MkdirAll(filepath.Dir(dst), 0o755)
	testkit.Tree{"payroll.db": "payroll", "invoices/2026.pdf": "invoice", "bin/tool": "#!/bin/sh\n"}.Write(t, src)
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	inv := filepath.Join(src, "invoices", "2026.pdf")
	sh("chown", "2102:2102", filepath.Join(src, "payroll.db"))
	sh("chown", "-R", "2101:3000", filepath.Join(src, "invoices"))
	sh("setfacl", "-m", "u:2102:r,g:3000:rw", inv)
	sh("setfacl", "-d", "-m", "g:3000:rwx,u:2101:rwx", filepath.Join(src, "invoices"))
	sh("setfattr", "-n", "user.app.tag", "-v", "finance", inv)
	sh("setfattr", "-n", "trusted.app.note", "-v", "kept", inv)
	sh("setcap", "cap_net_bind_service+ep", filepath.Join(src, "bin", "tool"))

	a := &Activities{CopyEngine: CopyEngineAgent, AgentDir: agentBinDir(t)}
	in := CopyInput{MoveID: "umzug/interop/owners", Phase: PhaseSeed, Source: host(0, "old-dc"), Target: host(1, "new-dc"),
		Set: CopySet{Name: "share", From: src, To: dst, Verify: VerifySHA256}}
	res, err := a.CopyTree(t.Context(), in)
	if err != nil {
		t.Fatalf("seed: %v (%+v)", err, res.RefusalList)
	}
	want := treeMeta(t, sp, src)
	if got := treeMeta(t, dp, dst); got != want {
		t.Fatalf("target metadata differs from the source's by name\nsource:\n%s\ntarget:\n%s", want, got)
	}
	for _, c := range []struct{ p, want string }{{"payroll.db", "2101:2101"}, {"invoices/2026.pdf", "2102:3001"}} {
		if got := strings.TrimSpace(inNS(t, dp, "stat", "-c", "%u:%g", filepath.Join(dst, c.p))); got != c.want {
			t.Errorf("%s belongs to %s on the target, want %s (the target's ids of the source's names)", c.p, got, c.want)
		}
	}
	if !strings.Contains(want, "user:lohn:r--") || !strings.Contains(want, "security.capability") || !strings.Contains(want, "trusted.app.note") {
		t.Fatalf("the source tree lacks what the test compares:\n%s", want)
	}
	manifest := func(phase string) map[string]manifestEntry {
		f, err := os.Open(manifestPath(dst, in.MoveID, in.Set.Name, phase))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m := map[string]manifestEntry{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e manifestEntry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			m[e.Path] = e
		}
		return m
	}
	if e := manifest(PhaseSeed)["invoices/2026.pdf"]; e.Owner != "fin" || e.Group != "clerks" || !strings.Contains(e.ACL, "user:lohn:r--") || e.Xattrs == "" {
		t.Errorf("manifest entry of the invoice: %+v", e)
	}

	// An ACL change and an owner change alone: carried, not copied.
	sh("setfacl", "-m", "u:2101:rw", inv)
	sh("chown", "2101", filepath.Join(src, "payroll.db"))
	in.Phase = PhaseFinalSync
	res, err = a.CopyTree(t.Context(), in)
	if err != nil {
		t.Fatalf("final sync: %v (%+v)", err, res.RefusalList)
	}
	if res.CopiedFiles != 0 {
		t.Errorf("final sync copied %d files for metadata changes", res.CopiedFiles)
	}
	want = treeMeta(t, sp, src)
	if got := treeMeta(t, dp, dst); got != want {
		t.Fatalf("after the final sync\nsource:\n%s\ntarget:\n%s", want, got)
	}
	if e := manifest(PhaseFinalSync)["invoices/2026.pdf"]; !strings.Contains(e.ACL, "user:fin:rw-") {
		t.Errorf("final manifest of the invoice: %+v", e)
	}

	// A target file system without ACLs or extended attributes.
	in2 := in
	in2.Phase, in2.Set.Name, in2.Set.To = PhaseSeed, "noacl", filepath.Join(ram, "share")
	_, err = a.CopyTree(t.Context(), in2)
	res = wantCopyError(t, err, contract.ErrCopyRefused, true, "metadata", "does not support POSIX ACLs")
	if res.RefusedByKind[RefusalMetadata] == 0 {
		t.Fatalf("no metadata refusal: %+v", res.RefusedByKind)
	}
	in2.Set.AcceptRefusals = []string{RefusalMetadata}
	if res, err = a.CopyTree(t.Context(), in2); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	wantRefusal(t, res, "invoices/2026.pdf", RefusalMetadata, true)

	// An owner the target does not know.
	sh("chown", "2300", filepath.Join(src, "payroll.db"))
	_, err = a.CopyTree(t.Context(), in)
	res = wantCopyError(t, err, contract.ErrCopyRefused, true, "unknown_owner", `"ghost"`)
	wantRefusal(t, res, "payroll.db", RefusalUnknownOwner, false)
}

// A non-root login without become cannot give the target files root's
// owner: the agent engine refuses them as metadata instead of leaving
// them to the login silently; accepted, the copy succeeds.
func TestCopyTreeInteropNonRootOwnerRefused(t *testing.T) {
	in, src, _ := nonRootCopy(t)
	in.Set.AcceptRefusals = nil
	testkit.Tree{"root-owned.txt": "root's"}.Write(t, src)
	a := &Activities{CopyEngine: CopyEngineAgent, AgentDir: agentBinDir(t)}
	_, err := a.CopyTree(t.Context(), in)
	res := wantCopyError(t, err, contract.ErrCopyRefused, true, "metadata", "may not give it owner root:root", "1 source entry was copied without the owner")
	wantRefusal(t, res, "root-owned.txt", RefusalMetadata, false)
	in.Set.AcceptRefusals = []string{RefusalMetadata}
	if _, err := a.CopyTree(t.Context(), in); err != nil {
		t.Fatalf("accepted: %v", err)
	}
}
