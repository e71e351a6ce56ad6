package decisionsig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var at = time.Date(2026, 12, 8, 9, 30, 0, 0, time.UTC)

func statement() Statement {
	return Statement{MoveID: "move-q4-finance", RunID: "0193-run", RunDigest: strings.Repeat("ab", 32),
		Decision: "approve", Signer: "b.schulz", Comment: "CHG-4711", Time: at}
}

// The statement's layout is what people sign by hand: it must not drift.
func TestStatementText(t *testing.T) {
	want := "umzug-approval-v1\nmove move-q4-finance\nrun 0193-run\nrun-digest " + strings.Repeat("ab", 32) +
		"\ndecision approve\nsigner b.schulz\ncomment-sha256 " + CommentDigest("CHG-4711") + "\ntime 2026-12-08T09:30:00Z\n"
	if got := string(statement().Text()); got != want {
		t.Fatalf("statement:\n%s\nwant:\n%s", got, want)
	}
	s := statement()
	s.Signer = "b.schulz\ndecision reject"
	if strings.Count(string(s.Text()), "\n") != 8 {
		t.Fatalf("a newline in a field added a line:\n%s", s.Text())
	}
}

// A signature made by ssh-keygen -Y sign over the statement verifies,
// for its principal only, within MaxSkew of the clock.
func TestVerifySSHKeygenSignature(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	msg := filepath.Join(dir, "statement")
	if err := os.WriteFile(msg, statement().Text(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ssh-keygen", "-Y", "sign", "-n", Namespace, "-f", key, msg).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v %s", err, out)
	}
	sig, _ := os.ReadFile(msg + ".sig")
	pub, _ := os.ReadFile(key + ".pub")
	signers := []byte("b.schulz " + string(pub))
	fp, err := Verify(signers, statement(), "b.schulz", string(sig), at.Add(10*time.Minute))
	if err != nil || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("verify = %q, %v", fp, err)
	}
	if _, err := Verify(signers, statement(), "c.yilmaz", string(sig), at); err == nil {
		t.Fatal("accepted for another principal")
	}
	if _, err := Verify(signers, statement(), "b.schulz", string(sig), at.Add(16*time.Minute)); err == nil {
		t.Fatal("accepted a stale statement")
	}
	other := statement()
	other.Decision = "reject"
	if _, err := Verify(signers, other, "b.schulz", string(sig), at); err == nil {
		t.Fatal("accepted an approval's signature for a rejection")
	}
	expired := []byte(`b.schulz valid-before="20261208" ` + string(pub))
	if _, err := Verify(expired, statement(), "b.schulz", string(sig), at); err == nil {
		t.Fatal("accepted a key after its valid-before")
	}
}
