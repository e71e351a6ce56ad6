package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/treecmp"
)

// A final sync keeps the digests seed verified for files whose identity
// did not change on either host, and hashes and recopies exactly the files
// that changed, even when size and mtime were put back.
func TestCopyTreeFinalSyncKeepsSeedVerifiedDigests(t *testing.T) {
	f := newCopyFixture(t)
	files, _ := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	seed := f.copy(t, in)
	if seed.Kept != 0 || seed.Verified != int64(files) {
		t.Fatalf("seed: kept %d verified %d, want 0, %d", seed.Kept, seed.Verified, files)
	}
	state := f.statePath(in)
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("seed left no verified-identity state: %v", err)
	}
	if !seed.IdentState.Valid() || seed.IdentState.Records != int64(files) {
		t.Fatalf("seed reported state %+v, want a digest and %d records", seed.IdentState, files)
	}

	in.Phase = PhaseFinalSync
	res := f.copy(t, in)
	if res.Kept != int64(files) || res.CopiedFiles != 0 || res.Verified != int64(files) || res.VerifiedBy != verifiedByIdentity {
		t.Errorf("no-change final sync: kept %d copied %d verified %d by %q; want %d, 0, %d by identity",
			res.Kept, res.CopiedFiles, res.Verified, res.VerifiedBy, files, files)
	}
	checkManifest(t, f, res, files+7+1)

	// Same size, same mtime to the nanosecond, different bytes: on the
	// source and on the target. Only ctime tells.
	sneak := func(p string) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		data[0] ^= 0xff
		if err := os.WriteFile(p, data, st.Mode()); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, st.ModTime(), st.ModTime())
	}
	time.Sleep(10 * time.Millisecond) // let ctime move past the listing's
	sneak(filepath.Join(f.srcRoot, "README"))
	sneak(filepath.Join(f.dstRoot, "bin/run.sh"))
	res = f.copy(t, in)
	if res.CopiedFiles != 2 || res.Kept != int64(files-2) || res.Verified != int64(files) {
		t.Errorf("final sync after sneaky edits: copied %d kept %d verified %d; want 2, %d, %d", res.CopiedFiles, res.Kept, res.Verified, files-2, files)
	}
	if _, err := treecmp.Equal(f.srcRoot, f.dstRoot, treecmp.Options{}); err != nil {
		t.Fatal(err)
	}

	// Without the state (or with an SFTP-only host) every file is hashed.
	os.Remove(state)
	res = f.copy(t, in)
	if res.Kept != 0 || res.Verified != int64(files) || res.VerifiedBy != f.verifiedByDigest() {
		t.Errorf("without state: kept %d verified %d by %q; want 0, %d by %s", res.Kept, res.Verified, res.VerifiedBy, files, f.verifiedByDigest())
	}
}

func TestParseIdents(t *testing.T) {
	out := []byte("f 12 1796099515.2380853160 1796099516.0000000010 611 65024 /a/b c\x00" +
		"d 4096 1.0 1.0 7 1 /a\x00f 3 1.5 2 9 1 /a/new\nline\x00f x 1 1 1 1 /bad\x00")
	got := parseIdents(out)
	want := map[string]fileIdent{
		"/a/b c":       {Size: 12, MtimeNs: 1796099515238085316, CtimeNs: 1796099516000000001, Inode: 611, Dev: 65024},
		"/a/new\nline": {Size: 3, MtimeNs: 1500000000, CtimeNs: 2000000000, Inode: 9, Dev: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q: got %+v want %+v", k, got[k], v)
		}
	}
}

// EstimateDelta tells the window predictor which unchanged files a final
// sync would still hash: none after a seed, one after a sneaky edit.
func TestEstimateDeltaCountsFilesToHash(t *testing.T) {
	f := newCopyFixture(t)
	buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	f.copy(t, in)
	in.Phase, in.IdentState = PhaseFinalSync, f.state
	est, err := f.a.EstimateDelta(context.Background(), in)
	if err != nil || est.HashFiles != 0 || est.ChangedFiles != 0 {
		t.Fatalf("after seed: %+v, %v; want nothing to hash or copy", est, err)
	}
	p := filepath.Join(f.srcRoot, "secret.key")
	st, _ := os.Stat(p)
	time.Sleep(10 * time.Millisecond)
	os.Chmod(p, 0o600) // moves ctime only
	os.Chtimes(p, st.ModTime(), st.ModTime())
	est, err = f.a.EstimateDelta(context.Background(), in)
	if err != nil || est.HashFiles != 1 || est.HashBytes != 3000 {
		t.Fatalf("after a ctime change: %+v, %v; want 1 file, 3000 bytes to hash", est, err)
	}
}

// The fast reader of the state file agrees with encoding/json on every
// line writeIdentState writes, and declines the lines it cannot read
// exactly, which encoding/json then reads.
func TestParseVerifiedLineMatchesJSON(t *testing.T) {
	id := fileIdent{Size: 12, MtimeNs: -5e9, CtimeNs: 1700000001500000000, Inode: 1 << 40, Dev: 2049}
	sum := strings.Repeat("ab", 32)
	for _, name := range []string{"a/b.dat", "d/with space/ü.txt", `quote"d`, "back\\slash", "a<b>&c", "bad\xffutf8", "tab\tnl\n"} {
		r := verifiedRec{SHA256: sum, Src: id, Dst: fileIdent{Size: 12, Inode: 7}}
		r.Path, r.PathB64 = lossless(name)
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, fast := parseVerifiedLine(line)
		var want verifiedRec
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if fast && got != want {
			t.Errorf("%q: fast read %+v, encoding/json %+v", name, got, want)
		}
		plain := !strings.ContainsAny(name, "\"\\<>&\t\n\xff")
		if fast != plain {
			t.Errorf("%q: fast path taken %v, want %v", name, fast, plain)
		}
	}
	for _, bad := range []string{
		`{"path":"x","sha256":"short","src":{"size":1,"mtime_ns":1,"ctime_ns":1,"inode":1,"dev":1},"dst":{"size":1,"mtime_ns":1,"ctime_ns":1,"inode":1,"dev":1}}`,
		`{"path":"x","sha256":"` + sum + `","src":{"size":1,"mtime_ns":1,"ctime_ns":1,"inode":-1,"dev":1},"dst":{"size":1,"mtime_ns":1,"ctime_ns":1,"inode":1,"dev":1}}`,
		`{"path":"x","sha256":"` + sum + `","src":{"size":1,"mtime_ns":1,"ctime_ns":1,"inode":1,"dev":1},"dst":{"size":1,"mtime_ns":1,"ctime_ns":1,"inode":1,"dev":1}} `,
		`{"path":"x","sha256":"` + sum + `","src":{"size":99999999999999999999,"mtime_ns":1,"ctime_ns":1,"inode":1,"dev":1},"dst":{"size":1,"mtime_ns":1,"ctime_ns":1,"inode":1,"dev":1}}`,
	} {
		if _, fast := parseVerifiedLine([]byte(bad)); fast {
			t.Errorf("fast path took %s", bad)
		}
	}
}

// A final sync reads the state file with one cat over its first
// connection: lines as written are read back and hashed as read, a
// missing file is not found, a host that cannot run cat sends the read to
// SFTP, and without a digest to compare with nothing is read.
func TestReadIdentStateExec(t *testing.T) {
	e := &engine{to: "/srv/t", in: CopyInput{MoveID: "m1", Set: CopySet{Name: "data"}, IdentState: &IdentState{}}}
	r := verifiedRec{Path: "a/b.dat", SHA256: strings.Repeat("0f", 32), Src: fileIdent{Size: 3, Inode: 9}, Dst: fileIdent{Size: 3, Inode: 11}}
	line, _ := json.Marshal(r)
	plain := string(line) + "\n" + "not json\n"
	got, ok := e.readIdentStateExec(context.Background(), fakeRunner{out: plain})
	if sum := sha256.Sum256([]byte(plain)); !ok || !got.found || got.n != 1 || got.sum != hex.EncodeToString(sum[:]) || got.recs["a/b.dat"] == nil || *got.recs["a/b.dat"] != r {
		t.Errorf("read %v %+v, want the one record and the digest of every byte", ok, got)
	}
	bin, err := appendIdentRec([]byte(identStateMagic), r.Path, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := e.readIdentStateExec(context.Background(), fakeRunner{out: string(bin)}); !ok || got.n != 1 || *got.recs["a/b.dat"] != r {
		t.Errorf("read binary %v %+v, want the one record", ok, got)
	}
	if got, ok := e.readIdentStateExec(context.Background(), fakeRunner{code: 1}); !ok || got.found || got.recs != nil {
		t.Errorf("missing file: %v %+v, want not found and read", ok, got)
	}
	if _, ok := e.readIdentStateExec(context.Background(), fakeRunner{code: 127}); ok {
		t.Error("a host without cat counted as read; it must fall back to SFTP")
	}
	e.in.IdentState = nil
	if got, ok := e.readIdentStateExec(context.Background(), fakeRunner{out: string(bin)}); !ok || got.found {
		t.Errorf("read %+v without a digest to compare with", got)
	}
}

// The state files earlier versions kept next to the manifests are bound
// to no history: a final sync hashes every file rather than use them, and
// the next seed removes them.
func TestCopyTreeFinalSyncIgnoresStateOfEarlierVersions(t *testing.T) {
	f := newCopyFixture(t)
	files, _ := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	f.copy(t, in)
	data, err := os.ReadFile(f.statePath(in))
	if err != nil {
		t.Fatal(err)
	}
	old := identStatePathOld(f.dstRoot, in.MoveID, in.Set.Name)
	plain := identStatePathPlain(f.dstRoot, in.MoveID, in.Set.Name)
	recs, _ := parseIdentState(bytes.NewReader(data))
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	for rel, r := range recs {
		r.Path = rel
		enc.Encode(r)
	}
	os.MkdirAll(filepath.Dir(old), 0o700)
	if err := os.WriteFile(plain, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, data, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(f.statePath(in))

	// A move started before: its history holds no digest.
	f.noChain = true
	in.Phase = PhaseFinalSync
	if res := f.copy(t, in); res.Kept != 0 || res.Verified != int64(files) || res.CopiedFiles != 0 {
		t.Errorf("final sync beside old states: kept %d verified %d copied %d, want 0, %d, 0", res.Kept, res.Verified, res.CopiedFiles, files)
	}
	in.Phase = PhaseSeed
	f.copy(t, in)
	for _, p := range []string{old, plain} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("a seed left the state %s of an earlier version: %v", p, err)
		}
	}
	if _, err := os.Stat(f.statePath(in)); err != nil {
		t.Errorf("a seed wrote no state: %v", err)
	}
}

// A binary state that ends inside a record, or holds one out of shape, is
// not used at all; records of any path bytes read back as written.
func TestIdentStateBinaryShape(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	recs := []verifiedRec{
		{Path: "a/b.dat", SHA256: sum, Src: fileIdent{Size: 3, MtimeNs: -1, CtimeNs: 1 << 62, Inode: 1<<64 - 1, Dev: 9}, Dst: fileIdent{Size: 3, Inode: 7}},
		{Path: "bad\xff\nname", SHA256: strings.Repeat("01", 32), Src: fileIdent{Size: 0}, Dst: fileIdent{Size: 0}},
	}
	data := []byte(identStateMagic)
	for _, r := range recs {
		var err error
		if data, err = appendIdentRec(data, r.Path, r); err != nil {
			t.Fatal(err)
		}
	}
	got, n := parseIdentState(bytes.NewReader(data))
	if len(got) != 2 || n != 2 || *got["a/b.dat"] != recs[0] || *got["bad\xff\nname"] != recs[1] {
		t.Fatalf("read back %+v", got)
	}
	for cut := len(identStateMagic) + 1; cut < len(data); cut++ {
		if m, _ := parseIdentState(bytes.NewReader(data[:cut])); m != nil && len(m) != 1 {
			t.Fatalf("cut at %d: %d records, want none or the first whole one", cut, len(m))
		}
	}
	if _, err := appendIdentRec(nil, "x", verifiedRec{SHA256: "short"}); err == nil {
		t.Error("a record with a short digest was written")
	}
	if _, err := appendIdentRec(nil, strings.Repeat("x", maxIdentPath+1), verifiedRec{SHA256: sum}); err == nil {
		t.Error("a record with an overlong path was written")
	}
	neg := append([]byte(identStateMagic), data[len(identStateMagic):]...)
	neg = neg[:len(identStateMagic)]
	neg, _ = appendIdentRec(neg, "n", verifiedRec{SHA256: sum, Src: fileIdent{Size: -5}})
	if m, _ := parseIdentState(bytes.NewReader(neg)); m != nil {
		t.Errorf("a negative size was read: %+v", m)
	}
}

// statePath is where the fixture's target keeps the state of in's set.
func (f *copyFixture) statePath(in CopyInput) string {
	return filepath.Join(f.a.IdentStateDir, sanitizeName(in.MoveID), f.stateName(in.Set.Name))
}
