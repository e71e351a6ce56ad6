package audit

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/allowedsigners"
)

// fakeManifests serves manifests from memory, keyed by path.
type fakeManifests map[string][]byte

func (f fakeManifests) ReadFile(_ context.Context, _ contract.Host, p string) ([]byte, string, error) {
	if b, ok := f[p]; ok {
		return b, "SHA256:tgt", nil
	}
	return nil, "", os.ErrNotExist
}

// recordedBundle writes a signed bundle of the recorded committed move
// whose manifests hold "test" (the digest the history records).
func recordedBundle(t *testing.T) (dir, key, allowed string) {
	t.Helper()
	e, err := NewEvidence("umzug/record/finance", loadHistory(t, "../../workflows/testdata/move_approve_commit.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.ReplayErr != nil {
		t.Fatalf("recorded history does not replay: %v", e.ReplayErr)
	}
	e.FetchManifests(context.Background(), fakeManifests{"/var/lib/umzug/seed.jsonl": []byte("test"), "/var/lib/umzug/final_sync.jsonl": []byte("test")})
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "bundle")
	if _, err := WriteBundle(dir, e); err != nil {
		t.Fatal(err)
	}
	key = filepath.Join(tmp, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "auditor", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	if _, err := SignBundle(dir, key); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowed = filepath.Join(tmp, "allowed_signers")
	if err := os.WriteFile(allowed, append([]byte(`auditor@example namespaces="umzug-audit" `), pub...), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, key, allowed
}

// OpenSSH alone accepts the bundle's signature.
func TestSignatureVerifiesWithSSHKeygen(t *testing.T) {
	dir, _, allowed := recordedBundle(t)
	cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "auditor@example", "-n", "umzug-audit", "-s", filepath.Join(dir, SigFile))
	sums, _ := os.ReadFile(filepath.Join(dir, SumsFile))
	cmd.Stdin = bytes.NewReader(sums)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y verify refused the signature: %v\n%s", err, out)
	}
	// ssh-keygen -Y check-novalidate also rejects another namespace.
	cmd = exec.Command("ssh-keygen", "-Y", "check-novalidate", "-n", "other", "-s", filepath.Join(dir, SigFile))
	cmd.Stdin = bytes.NewReader(sums)
	if err := cmd.Run(); err == nil {
		t.Fatal("signature accepted under another namespace")
	}
}

func TestVerifyAcceptsIntactBundle(t *testing.T) {
	dir, key, allowed := recordedBundle(t)
	keys, err := allowedsigners.Load(allowed)
	if err != nil {
		t.Fatal(err)
	}
	v := VerifyBundle(dir, VerifyOptions{Signers: keys})
	if !v.OK() || v.Replayed != 1 || v.Checked != 2 || !strings.Contains(v.Signer, "auditor@example") {
		t.Fatalf("verdict %+v", v)
	}
	pub, err := allowedsigners.PublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if v := VerifyBundle(dir, VerifyOptions{Signers: pub}); !v.OK() {
		t.Fatalf("verdict with the public key %+v", v)
	}
}

// One changed byte anywhere fails verification and names the file.
func TestVerifyNamesTamperedFile(t *testing.T) {
	for _, name := range []string{"manifests/ledger-seed.jsonl", "history.json", "report.md", "report.html", SumsFile} {
		t.Run(name, func(t *testing.T) {
			dir, _, allowed := recordedBundle(t)
			keys, _ := allowedsigners.Load(allowed)
			p := filepath.Join(dir, filepath.FromSlash(name))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x01
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			v := VerifyBundle(dir, VerifyOptions{Signers: keys})
			if v.OK() || !names(v, name) {
				t.Fatalf("tampered %s: verdict %+v", name, v)
			}
		})
	}
}

// A manifest that differs from the digest in history fails even when
// SHA256SUMS was rewritten to match it (the signature then fails too, but
// the manifest is named on its own).
func TestVerifyChecksManifestAgainstHistory(t *testing.T) {
	dir, key, allowed := recordedBundle(t)
	p := filepath.Join(dir, "manifests", "ledger-final_sync.jsonl")
	if err := os.WriteFile(p, []byte("tesT"), 0o644); err != nil {
		t.Fatal(err)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, SumsFile))
	sums = bytes.Replace(sums, []byte(sha256Hex([]byte("test"))+"  manifests/ledger-final_sync.jsonl"), []byte(sha256Hex([]byte("tesT"))+"  manifests/ledger-final_sync.jsonl"), 1)
	os.WriteFile(filepath.Join(dir, SumsFile), sums, 0o644)
	if _, err := SignBundle(dir, key); err != nil { // even a re-signed bundle
		t.Fatal(err)
	}
	keys, _ := allowedsigners.Load(allowed)
	v := VerifyBundle(dir, VerifyOptions{Signers: keys})
	if v.OK() || !names(v, "manifests/ledger-final_sync.jsonl") {
		t.Fatalf("verdict %+v", v)
	}
}

func TestVerifyRefusesOtherSignerAndAddedFile(t *testing.T) {
	dir, _, _ := recordedBundle(t)
	_, _, otherAllowed := recordedBundle(t)
	keys, _ := allowedsigners.Load(otherAllowed)
	if v := VerifyBundle(dir, VerifyOptions{Signers: keys}); v.OK() || !names(v, SumsFile) {
		t.Fatalf("other signer: %+v", v)
	}
	dir, _, allowed := recordedBundle(t)
	os.WriteFile(filepath.Join(dir, "manifests", "extra.jsonl"), []byte("x"), 0o644)
	keys, _ = allowedsigners.Load(allowed)
	if v := VerifyBundle(dir, VerifyOptions{Signers: keys}); v.OK() || !names(v, "manifests/extra.jsonl") {
		t.Fatalf("added file: %+v", v)
	}
}

// Two bundles of one finished history are byte-identical.
func TestBundleIsReproducible(t *testing.T) {
	var sums [][]byte
	for range 2 {
		e, err := NewEvidence("umzug/record/finance", loadHistory(t, "../../workflows/testdata/move_approve_commit.json"))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if _, err := WriteBundle(dir, e); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, SumsFile))
		sums = append(sums, b)
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Fatalf("two bundles differ:\n%s\n%s", sums[0], sums[1])
	}
}

func names(v *Verdict, file string) bool {
	for _, f := range v.Findings {
		if f.File == file {
			return true
		}
	}
	return false
}

// Writing a bundle again into the same directory replaces it (and drops
// the old signature); files of another bundle there are refused.
func TestBundleRewriteAndStaleFiles(t *testing.T) {
	dir, _, _ := recordedBundle(t)
	e, err := NewEvidence("umzug/record/finance", loadHistory(t, "../../workflows/testdata/move_approve_commit.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteBundle(dir, e); err == nil || !strings.Contains(err.Error(), "manifests/ledger-seed.jsonl") {
		t.Fatalf("stale manifests not refused: %v", err)
	}
	os.RemoveAll(filepath.Join(dir, "manifests"))
	if _, err := WriteBundle(dir, e); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, SigFile)); !os.IsNotExist(err) {
		t.Fatalf("old signature kept: %v", err)
	}
}

// With a public key as --sign-key the SSH agent signs, as with
// ssh-keygen -Y sign -f key.pub; an encrypted key file is refused with
// that advice.
func TestSignWithAgentKey(t *testing.T) {
	dir, key, allowed := recordedBundle(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Skipf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { agentCmd.Process.Kill(); agentCmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	os.Remove(filepath.Join(dir, SigFile))
	if _, err := SignBundle(dir, key+".pub"); err != nil {
		t.Fatal(err)
	}
	keys, _ := allowedsigners.Load(allowed)
	if v := VerifyBundle(dir, VerifyOptions{Signers: keys}); !v.OK() {
		t.Fatalf("agent-signed bundle: %+v", v)
	}
	enc := filepath.Join(t.TempDir(), "enc")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "secret pass", "-f", enc).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	if _, err := SignBundle(dir, enc); err == nil || !strings.Contains(err.Error(), "ssh-add") {
		t.Fatalf("encrypted key: %v", err)
	}
}

// otherKey serves the manifests from a target whose key is not the one
// preflight verified.
type otherKey struct{ fakeManifests }

func (o otherKey) ReadFile(ctx context.Context, h contract.Host, p string) ([]byte, string, error) {
	b, _, err := o.fakeManifests.ReadFile(ctx, h, p)
	return b, "SHA256:other", err
}

// The report records the key the fetch saw and says when it differs from
// the key preflight verified.
func TestFetchNotesChangedHostKey(t *testing.T) {
	e, err := NewEvidence("umzug/record/finance", loadHistory(t, "../../workflows/testdata/move_approve_commit.json"))
	if err != nil {
		t.Fatal(err)
	}
	e.FetchManifests(context.Background(), otherKey{fakeManifests{"/var/lib/umzug/seed.jsonl": []byte("test")}})
	m := e.Report.Manifests
	if !m[0].Fetched || !m[0].Matched || m[0].HostKey != "SHA256:other" || !strings.Contains(m[0].Note, "target host key is now SHA256:other, preflight verified SHA256:tgt") {
		t.Fatalf("seed manifest %+v", m[0])
	}
	if m[1].Fetched || m[1].Note == "" {
		t.Fatalf("missing manifest %+v", m[1])
	}
}
