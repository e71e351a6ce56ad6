package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SigNamespace is the SSHSIG namespace of bundle signatures; ssh-keygen
// checks it with -n umzug-audit.
const SigNamespace = "umzug-audit"

// SignBundle signs dir/SHA256SUMS with the OpenSSH private key in keyFile
// (or the agent's key matching the public key in keyFile) and writes dir/SHA256SUMS.sig in the armored SSHSIG format that
// `ssh-keygen -Y verify -n umzug-audit` checks.
func SignBundle(dir, keyFile string) (WrittenFile, error) {
	signer, err := loadSigner(keyFile)
	if err != nil {
		return WrittenFile{}, err
	}
	sums, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		return WrittenFile{}, fmt.Errorf("sign bundle %s: %w", dir, err)
	}
	sig, err := sshsig.Sign(bytes.NewReader(sums), signer, sshsig.HashSHA512, SigNamespace)
	if err != nil {
		return WrittenFile{}, fmt.Errorf("sign %s with %s: %w", SumsFile, keyFile, err)
	}
	armored := sshsig.Armor(sig)
	if err := writeFile(dir, SigFile, armored); err != nil {
		return WrittenFile{}, err
	}
	return WrittenFile{Name: SigFile, SHA256: sha256Hex(armored)}, nil
}

// loadSigner reads an unencrypted OpenSSH, PKCS#1 or PKCS#8 private key,
// or, given a public key file as ssh-keygen -Y sign accepts, asks the SSH
// agent ($SSH_AUTH_SOCK) to sign with that key.
func loadSigner(keyFile string) (ssh.Signer, error) {
	b, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
		return agentSigner(keyFile, pub)
	}
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("signing key %s is encrypted; add it to the SSH agent (ssh-add) and pass %s.pub, or sign SHA256SUMS yourself with `ssh-keygen -Y sign -n %s -f KEY SHA256SUMS`", keyFile, keyFile, SigNamespace)
	}
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", keyFile, err)
	}
	return s, nil
}

// agentSigner finds pub among the SSH agent's keys.
func agentSigner(keyFile string, pub ssh.PublicKey) (ssh.Signer, error) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, fmt.Errorf("%s is a public key: signing with it needs its private key in an SSH agent, and SSH_AUTH_SOCK is not set", keyFile)
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("connect to the SSH agent at %s: %w", sock, err)
	}
	signers, err := agent.NewClient(conn).Signers()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("list the SSH agent's keys: %w", err)
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return s, nil // the connection stays open for the signature
		}
	}
	conn.Close()
	return nil, fmt.Errorf("the SSH agent holds no key %s (%s); add it with ssh-add", ssh.FingerprintSHA256(pub), keyFile)
}

// AllowedKey is a public key that may sign bundles, with the principals
// an allowed_signers file gives it.
type AllowedKey struct {
	Principals string
	Key        ssh.PublicKey
}

// LoadAllowedSigners reads an OpenSSH allowed_signers file
// ("principals [options] keytype base64 [comment]"), keeping keys whose
// namespaces option, if any, includes umzug-audit.
func LoadAllowedSigners(file string) ([]AllowedKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read allowed signers: %w", err)
	}
	var out []AllowedKey
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		principals, rest, _ := strings.Cut(line, " ")
		key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", file, n, err)
		}
		if namespaceAllowed(options) {
			out = append(out, AllowedKey{Principals: principals, Key: key})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s allows no key for namespace %s", file, SigNamespace)
	}
	return out, nil
}

func namespaceAllowed(options []string) bool {
	for _, o := range options {
		if v, ok := strings.CutPrefix(strings.ToLower(o), "namespaces="); ok {
			for _, ns := range strings.Split(strings.Trim(v, `"`), ",") {
				if ns == SigNamespace {
					return true
				}
			}
			return false
		}
	}
	return true
}

// LoadPublicKey reads one public key (a .pub file or authorized_keys line).
func LoadPublicKey(file string) (AllowedKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return AllowedKey{}, fmt.Errorf("read public key: %w", err)
	}
	key, comment, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return AllowedKey{}, fmt.Errorf("parse public key %s: %w", file, err)
	}
	return AllowedKey{Principals: comment, Key: key}, nil
}

// checkSignature verifies sig over msg against the allowed keys and
// returns who signed.
func checkSignature(msg, armored []byte, allowed []AllowedKey) (string, error) {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return "", fmt.Errorf("not an SSH signature: %w", err)
	}
	if sig.Namespace != SigNamespace {
		return "", fmt.Errorf("signature namespace is %q, not %q", sig.Namespace, SigNamespace)
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	for _, a := range allowed {
		if !bytes.Equal(a.Key.Marshal(), sig.PublicKey.Marshal()) {
			continue
		}
		if err := sshsig.Verify(bytes.NewReader(msg), sig, a.Key, sig.HashAlgorithm, SigNamespace); err != nil {
			return "", fmt.Errorf("signature by %s does not match %s: %w", fp, SumsFile, err)
		}
		return fmt.Sprintf("%s (%s)", a.Principals, fp), nil
	}
	return "", fmt.Errorf("signed by %s, which is not an allowed signer", fp)
}
