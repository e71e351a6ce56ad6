package allowedsigners

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

const ns = "umzug-audit"

func itoa(n int) string { return strconv.Itoa(n) }

// sigKeys are the keys and signatures the allowed_signers table uses.
type sigKeys struct {
	key, other, ca string // authorized_keys form
	sigs           map[string][]byte
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func authorized(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// makeSigKeys signs msg with a key directly and through certificates the
// CA issued: valid for alice@example, expired, and a host certificate.
func makeSigKeys(t *testing.T, msg []byte) sigKeys {
	key, other, ca := newSigner(t), newSigner(t), newSigner(t)
	out := sigKeys{key: authorized(key.PublicKey()), other: authorized(other.PublicKey()), ca: authorized(ca.PublicKey()), sigs: map[string][]byte{}}
	sign := func(name string, s ssh.Signer) {
		sig, err := sshsig.Sign(bytes.NewReader(msg), s, sshsig.HashSHA512, ns)
		if err != nil {
			t.Fatal(err)
		}
		out.sigs[name] = sshsig.Armor(sig)
	}
	sign("key", key)
	sign("other", other)
	now := uint64(time.Now().Unix())
	for _, c := range []struct {
		name          string
		typ           uint32
		after, before uint64
	}{
		{"cert", ssh.UserCert, now - 3600, now + 3600},
		{"expired-cert", ssh.UserCert, now - 7200, now - 3600},
		{"host-cert", ssh.HostCert, now - 3600, now + 3600},
	} {
		cert := &ssh.Certificate{Key: key.PublicKey(), CertType: c.typ, KeyId: c.name, ValidPrincipals: []string{"alice@example", "ops@example"},
			ValidAfter: c.after, ValidBefore: c.before}
		if err := cert.SignCert(rand.Reader, ca); err != nil {
			t.Fatal(err)
		}
		cs, err := ssh.NewCertSigner(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		sign(c.name, cs)
	}
	return out
}

// Each case's verdict from umzug equals the verdict of `ssh-keygen -Y
// verify` on the same allowed_signers file, identity and signature.
func TestAllowedSignersAgreeWithSSHKeygen(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed")
	}
	msg := []byte("0123  SHA256SUMS of a bundle\n")
	k := makeSigKeys(t, msg)
	cases := []struct {
		name, allowed, identity, sig string
		want                         bool
	}{
		{"listed key and principal", "alice@example {key}", "alice@example", "key", true},
		{"other principal", "alice@example {key}", "bob@example", "key", false},
		{"principals are case-sensitive", "Alice@example {key}", "alice@example", "key", false},
		{"wildcard principal", "*@example {key}", "alice@example", "key", true},
		{"? wildcard", "alice@ex?mple {key}", "alice@example", "key", true},
		{"principal list", "bob@example,alice@example {key}", "alice@example", "key", true},
		{"negated principal", "*@example,!alice@example {key}", "alice@example", "key", false},
		{"negation of another", "*@example,!bob@example {key}", "alice@example", "key", true},
		{"quoted principals", `"alice@example" {key}`, "alice@example", "key", true},
		{"unlisted key", "alice@example {other}", "alice@example", "key", false},
		{"second line lists the key", "alice@example {other}\nalice@example {key}", "alice@example", "key", true},
		{"comment and blank lines", "# auditors\n\n  alice@example {key} laptop", "alice@example", "key", true},
		{"namespace allowed", `alice@example namespaces="umzug-audit" {key}`, "alice@example", "key", true},
		{"namespace pattern", `alice@example namespaces="git,umzug-*" {key}`, "alice@example", "key", true},
		{"other namespaces only", `alice@example namespaces="git,file" {key}`, "alice@example", "key", false},
		{"namespace negated", `alice@example namespaces="*,!umzug-audit" {key}`, "alice@example", "key", false},
		{"option names any case", `alice@example NAMESPACES="umzug-audit" {key}`, "alice@example", "key", true},
		{"expired key (valid-before)", `alice@example valid-before="20200101" {key}`, "alice@example", "key", false},
		{"not yet valid (valid-after)", `alice@example valid-after="20990101" {key}`, "alice@example", "key", false},
		{"inside the validity interval", `alice@example valid-after="20200101",valid-before="20990101Z" {key}`, "alice@example", "key", true},
		{"minute form, UTC", `alice@example valid-before="202001011200Z" {key}`, "alice@example", "key", false},
		{"second form", `alice@example valid-after="20200101120000" {key}`, "alice@example", "key", true},
		{"UTC suffix", `alice@example valid-after="20990101UTC" {key}`, "alice@example", "key", false},
		{"expired line, then a valid one", "alice@example valid-before=\"20200101\" {key}\nalice@example {key}", "alice@example", "key", true},
		{"options on another principal's line", "bob@example valid-before=\"20200101\" {key}\nalice@example namespaces=\"git\" {key}", "alice@example", "key", false},
		{"CA signed the certificate", "alice@example cert-authority {ca}", "alice@example", "cert", true},
		{"CA, second principal of the certificate", "*@example cert-authority {ca}", "ops@example", "cert", true},
		{"CA, identity not in the certificate", "*@example cert-authority {ca}", "bob@example", "cert", false},
		{"CA, identity not in the line", "bob@example cert-authority {ca}", "alice@example", "cert", false},
		{"CA, plain key signed", "alice@example cert-authority {ca}", "alice@example", "key", false},
		{"CA key without cert-authority", "alice@example {ca}", "alice@example", "cert", false},
		{"certificate's key listed plainly", "alice@example {key}", "alice@example", "cert", false},
		{"CA, expired certificate", "alice@example cert-authority {ca}", "alice@example", "expired-cert", false},
		{"CA, host certificate", "alice@example cert-authority {ca}", "alice@example", "host-cert", false},
		{"CA with namespaces", `alice@example cert-authority,namespaces="umzug-audit" {ca}`, "alice@example", "cert", true},
		{"CA, expired line", `alice@example CERT-AUTHORITY,valid-before="20200101" {ca}`, "alice@example", "cert", false},
		{"other CA", "alice@example cert-authority {other}", "alice@example", "cert", false},
	}
	dir := t.TempDir()
	msgFile := filepath.Join(dir, "msg")
	os.WriteFile(msgFile, msg, 0o644)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			content := strings.NewReplacer("{key}", k.key, "{other}", k.other, "{ca}", k.ca).Replace(c.allowed) + "\n"
			file := filepath.Join(dir, "allowed_signers_"+itoa(i))
			sigFile := filepath.Join(dir, "sig_"+itoa(i))
			os.WriteFile(file, []byte(content), 0o644)
			os.WriteFile(sigFile, k.sigs[c.sig], 0o644)
			cmd := exec.Command("ssh-keygen", "-Y", "verify", "-f", file, "-I", c.identity, "-n", ns, "-s", sigFile)
			cmd.Stdin = bytes.NewReader(msg)
			out, err := cmd.CombinedOutput()
			sshOK := err == nil
			if _, exit := err.(*exec.ExitError); err != nil && !exit {
				t.Fatalf("ssh-keygen: %v", err)
			}
			signers, err := Load(file)
			if err != nil {
				t.Fatalf("umzug cannot parse a file ssh-keygen reads: %v", err)
			}
			who, err := signers.Verify(msg, k.sigs[c.sig], ns, c.identity, time.Now())
			umzugOK := err == nil
			if sshOK != umzugOK {
				t.Fatalf("ssh-keygen says %v (%s), umzug says %v (%s %v)", sshOK, strings.TrimSpace(string(out)), umzugOK, who, err)
			}
			if sshOK != c.want {
				t.Fatalf("both say %v, the case expects %v: %s", sshOK, c.want, out)
			}
		})
	}
}

// A malformed line is an error naming file:line; ssh-keygen would skip it
// and so drop the restriction it was meant to carry.
func TestAllowedSignersErrorsNameLine(t *testing.T) {
	key := authorized(newSigner(t).PublicKey())
	for _, c := range []struct{ content, want string }{
		{"a@x " + key + "\nb@x valid-before=20200101 " + key, "f:2: option valid-before: value \"20200101\" must be in double quotes"},
		{"a@x frobnicate " + key, "f:1: unknown option"},
		{"a@x valid-after=\"2020\" " + key, "f:1: option valid-after: time \"2020\" is not"},
		{"a@x valid-after=\"20201341\" " + key, "f:1: option valid-after: time \"20201341\" is not a valid"},
		{"a@x namespaces=\"a\",namespaces=\"b\" " + key, "f:1: option namespaces given twice"},
		{"\n\na@x", "f:3: missing key"},
		{"a@x ssh-ed25519 AAAAnotakey", "f:1: no valid public key"},
		{"# nothing\n", "f lists no signer"},
		{"a@x " + strings.Repeat("x", maxSignersLine), "f:1: line longer than"},
	} {
		_, err := Parse("f", []byte(c.content))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.content, err, c.want)
		}
	}
}

// Pattern matching never backtracks exponentially.
func TestMatchPatternBounded(t *testing.T) {
	start := time.Now()
	if matchPattern(strings.Repeat("a", 1000)+"b", strings.Repeat("*a", 300)+"c") {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	for _, c := range []struct {
		s, p string
		want bool
	}{{"alice@example", "*", true}, {"", "*", true}, {"a", "", false}, {"abc", "a*c", true}, {"abc", "a?c", true}, {"ac", "a?c", false}, {"a.meier", "a.*", true}} {
		if matchPattern(c.s, c.p) != c.want {
			t.Errorf("matchPattern(%q, %q) != %v", c.s, c.p, c.want)
		}
	}
}
