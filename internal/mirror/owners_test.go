package mirror

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/rootfs"
)

// metaEnv is a source and a target whose user databases give fin and
// lohn each other's ids.
type metaEnv struct {
	*env
	srcEtc, dstEtc string
}

func writeEtc(t *testing.T, dir, passwd, group string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644)
	os.WriteFile(filepath.Join(dir, "group"), []byte(group), 0o644)
}

func newMetaEnv(t *testing.T) *metaEnv {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files other owners")
	}
	for _, tool := range []string{"setfacl", "getfacl", "setfattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	e := &metaEnv{env: newEnv(t)}
	e.srcEtc, e.dstEtc = filepath.Join(e.base, "etc-src"), filepath.Join(e.base, "etc-dst")
	writeEtc(t, e.srcEtc, "root:x:0:0::/:/bin/sh\nfin:x:2101:2101::/:/bin/false\nlohn:x:2102:2102::/:/bin/false\nold:x:2200:2200::/:/bin/false\nghost:x:2300:2300::/:/bin/false\n",
		"root:x:0:\nfin:x:2101:\nlohn:x:2102:\nclerks:x:3000:\nold:x:2200:\nghost:x:2300:\n")
	writeEtc(t, e.dstEtc, "root:x:0:0::/:/bin/sh\nfin:x:2102:2102::/:/bin/false\nlohn:x:2101:2101::/:/bin/false\nnew:x:2201:2201::/:/bin/false\n",
		"root:x:0:\nfin:x:2102:\nlohn:x:2101:\nclerks:x:3001:\nnew:x:2201:\nold:x:2200:\n")
	return e
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func (e *metaEnv) run(spec Spec, records map[string]MetaRecord) (Result, error) {
	e.t.Helper()
	s, err := NewLocalSide(e.src, LocalOptions{Etc: e.srcEtc})
	if err != nil {
		e.t.Fatal(err)
	}
	d, err := NewLocalSide(e.dst, LocalOptions{Etc: e.dstEtc, StateDir: e.sd})
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	defer d.Close()
	var mu sync.Mutex
	o := Options{Owner: true, NoSync: true, SrcMeta: s, DstMeta: d, OnMeta: func(rel string, m MetaRecord) {
		mu.Lock()
		records[rel] = m
		mu.Unlock()
	}}
	if spec.Verify == "" {
		spec.Verify = contract.VerifySHA256
	}
	if spec.Phase == "" {
		spec.Phase = contract.PhaseFinalSync
	}
	spec.Name = "fin"
	return Run(context.Background(), spec, s, d, o, nil)
}

func ownerOf(t *testing.T, p string) string {
	return strings.TrimSpace(sh(t, "stat", "-c", "%u:%g", p))
}

// Owners travel by name: fin's files land with the target's uid of fin;
// named ACL entries are mapped too, user.* attributes come along, and a
// change of ACL alone is carried by the next run without a copy.
func TestOwnersByNameACLsXattrs(t *testing.T) {
	e := newMetaEnv(t)
	pay := filepath.Join(e.src, "payroll.db")
	os.WriteFile(pay, []byte("payroll"), 0o640)
	os.Mkdir(filepath.Join(e.src, "share"), 0o750)
	inv := filepath.Join(e.src, "share", "invoice.pdf")
	os.WriteFile(inv, []byte("invoice"), 0o640)
	sh(t, "chown", "2102:2102", pay)
	sh(t, "chown", "2101:3000", inv, filepath.Join(e.src, "share"))
	sh(t, "setfacl", "-m", "u:2102:r,g:3000:rw", inv)
	sh(t, "setfacl", "-d", "-m", "g:3000:rwx", filepath.Join(e.src, "share"))
	sh(t, "setfattr", "-n", "user.tag", "-v", "finance", inv)

	recs := map[string]MetaRecord{}
	res, err := e.run(Spec{}, recs)
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, res.RefusalList)
	}
	if got := ownerOf(t, filepath.Join(e.dst, "payroll.db")); got != "2101:2101" {
		t.Errorf("lohn's payroll on the target belongs to %s, want lohn's 2101:2101", got)
	}
	tinv := filepath.Join(e.dst, "share", "invoice.pdf")
	if got := ownerOf(t, tinv); got != "2102:3001" {
		t.Errorf("fin's invoice belongs to %s, want 2102:3001", got)
	}
	acl := sh(t, "getfacl", "-n", "-c", tinv)
	if !strings.Contains(acl, "user:2101:r--") || !strings.Contains(acl, "group:3001:rw-") {
		t.Errorf("invoice ACL on the target:\n%s", acl)
	}
	if d := sh(t, "getfacl", "-n", "-c", "-d", filepath.Join(e.dst, "share")); !strings.Contains(d, "group:3001:rwx") {
		t.Errorf("default ACL on the target:\n%s", d)
	}
	if v := sh(t, "getfattr", "--absolute-names", "--only-values", "-n", "user.tag", tinv); v != "finance" {
		t.Errorf("user.tag on the target: %q", v)
	}
	r := recs["share/invoice.pdf"]
	if r.Owner != "fin" || r.Group != "clerks" || !strings.Contains(r.ACL, "user:lohn:r--") || r.XattrSHA256 == "" {
		t.Errorf("record of the invoice: %+v", r)
	}

	// ACL alone changes: carried over, not copied.
	sh(t, "setfacl", "-m", "u:2101:rw", inv)
	res, err = e.run(Spec{}, map[string]MetaRecord{})
	if err != nil {
		t.Fatal(err)
	}
	if res.CopiedFiles != 0 {
		t.Errorf("copied %d files for an ACL change", res.CopiedFiles)
	}
	if acl := sh(t, "getfacl", "-n", "-c", tinv); !strings.Contains(acl, "user:2102:rw-") {
		t.Errorf("changed ACL not carried over:\n%s", acl)
	}
	// An owner change alone too.
	sh(t, "chown", "2101", pay)
	if _, err = e.run(Spec{}, map[string]MetaRecord{}); err != nil {
		t.Fatal(err)
	}
	if got := ownerOf(t, filepath.Join(e.dst, "payroll.db")); got != "2102:2101" {
		t.Errorf("after chown on the source the target's payroll belongs to %s", got)
	}
}

// An owner the target does not know is refused unless mapped or accepted;
// numeric keeps numbers.
func TestUnknownOwnerMapAndNumeric(t *testing.T) {
	e := newMetaEnv(t)
	f := filepath.Join(e.src, "ghost.txt")
	os.WriteFile(f, []byte("g"), 0o644)
	sh(t, "chown", "2300:2300", f)
	g := filepath.Join(e.src, "old.txt")
	os.WriteFile(g, []byte("o"), 0o644)
	sh(t, "chown", "2200:2200", g)

	_, err := e.run(Spec{OwnerMap: map[string]string{"old": "new"}}, map[string]MetaRecord{})
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "unknown_owner") || !strings.Contains(err.Error(), "ghost") {
		t.Fatalf("unknown owner not refused: %v", err)
	}
	// owner_map applies to users and groups alike: old→new is 2201 for
	// the user; the group "new" is 2201 too.
	if got := ownerOf(t, filepath.Join(e.dst, "old.txt")); got != "2201:2201" {
		t.Errorf("mapped owner: %s", got)
	}
	res, err := e.run(Spec{OwnerMap: map[string]string{"old": "new", "2300": "lohn"}}, map[string]MetaRecord{})
	if err != nil {
		t.Fatalf("mapped: %v", err)
	}
	if got := ownerOf(t, filepath.Join(e.dst, "ghost.txt")); got != "2101:2101" {
		t.Errorf("ghost mapped to lohn: %s (%+v)", got, res.RefusalList)
	}
	if _, err := e.run(Spec{AcceptRefusals: []string{contract.RefusalUnknownOwner}}, map[string]MetaRecord{}); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	if got := ownerOf(t, filepath.Join(e.dst, "ghost.txt")); got != "2300:2300" {
		t.Errorf("accepted unknown owner keeps its number: %s", got)
	}
	if _, err := e.run(Spec{Owners: contract.OwnersNumeric}, map[string]MetaRecord{}); err != nil {
		t.Fatalf("numeric: %v", err)
	}
	if got := ownerOf(t, filepath.Join(e.dst, "old.txt")); got != "2200:2200" {
		t.Errorf("numeric: %s", got)
	}
}

// noChown is a target whose login may not chown, as a non-root login.
type noChown struct{ *LocalSide }

func (n noChown) SetMeta(ctx context.Context, rel string, m rootfs.Meta) error {
	if m.SetOwner {
		return &fs.PathError{Op: "chown", Path: rel, Err: unix.EPERM}
	}
	return n.LocalSide.SetMeta(ctx, rel, m)
}

// A target login that may not give files their owners is a metadata
// refusal, not a silent loss; accepted, the copy succeeds without them.
func TestOwnerNotSettableRefused(t *testing.T) {
	e := newMetaEnv(t)
	f := filepath.Join(e.src, "payroll.db")
	os.WriteFile(f, []byte("p"), 0o640)
	sh(t, "chown", "2102:2102", f)
	s, err := NewLocalSide(e.src, LocalOptions{Etc: e.srcEtc})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewLocalSide(e.dst, LocalOptions{Etc: e.dstEtc})
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Name: "fin", Verify: contract.VerifySHA256, Phase: contract.PhaseFinalSync}
	o := Options{NoSync: true, SrcMeta: s, DstMeta: d}
	res, err := Run(context.Background(), spec, s, noChown{d}, o, nil)
	var re *RefusedError
	if !errors.As(err, &re) || res.RefusedByKind[contract.RefusalMetadata] != 1 || !strings.Contains(err.Error(), "may not give it owner lohn:lohn") {
		t.Fatalf("want a metadata refusal for payroll.db, got %v (%+v)", err, res.RefusalList)
	}
	spec.AcceptRefusals = []string{contract.RefusalMetadata}
	if _, err := Run(context.Background(), spec, s, noChown{d}, o, nil); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	if got := ownerOf(t, filepath.Join(e.dst, "payroll.db")); got != "0:0" {
		t.Errorf("owner %s without chown", got)
	}
}
