package audit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

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
	signer, err := loadSigner(keyFile, "sign SHA256SUMS yourself with `ssh-keygen -Y sign -n "+SigNamespace+" -f KEY SHA256SUMS`")
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

// LoadSigner is loadSigner for other signatures (signed decisions);
// byHand says how to sign without umzug when the key is encrypted.
func LoadSigner(keyFile, byHand string) (ssh.Signer, error) { return loadSigner(keyFile, byHand) }

// loadSigner reads an unencrypted OpenSSH, PKCS#1 or PKCS#8 private key,
// or, given a public key file as ssh-keygen -Y sign accepts, asks the SSH
// agent ($SSH_AUTH_SOCK) to sign with that key.
func loadSigner(keyFile, byHand string) (ssh.Signer, error) {
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
		return nil, fmt.Errorf("signing key %s is encrypted; add it to the SSH agent (ssh-add) and pass %s.pub, or %s", keyFile, keyFile, byHand)
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
